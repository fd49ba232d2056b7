/* One error idiom for every Strata program (modelled on crun's):
 * a fallible function takes `struct st_err *err` last and returns < 0 on
 * failure after filling err with errno and one human-readable line. Callers
 * add context with err__prefix() and print once at the top with
 * err__print(). The struct lives on the caller's stack: nothing to free. */
#ifndef STRATA_COMMON_ERR_H
#define STRATA_COMMON_ERR_H

#include <stdarg.h>

#define ST_ERR_MSG_MAX 512

struct st_err {
	int errnum;                 /* errno value, 0 when not a system error */
	char msg[ST_ERR_MSG_MAX];   /* "what failed: why" */
};

/* Fill err (if non-NULL) and return -1. errnum 0 means "not an errno". */
int err__fail(struct st_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like err__fail with errnum = errno, captured before anything can change it. */
#define err__fail_errno(err, ...) err__fail((err), errno, __VA_ARGS__)

/* Fails like err__fail, but cls is the error's class, not an errno worth
 * printing (the message gets no strerror() suffix): EINVAL bad input,
 * ENOENT no such object, EEXIST/EBUSY conflict, EACCES refused, E2BIG too
 * large. Servers map the class to a status (http_server__status_of). */
#define err__fail_class(err, cls, ...) err__class((err), (cls), err__fail((err), 0, __VA_ARGS__))
static inline int err__class(struct st_err *err, int cls, int rc)
{
	if (err)
		err->errnum = cls;
	return rc;
}

/* Prepend "context: " to an already-set error; returns -1 for tail calls. */
int err__prefix(struct st_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print "prog: msg[: strerror]" as one line on stderr. */
void err__print(const struct st_err *err);

/* Program name used by err__print and the logger. */
void err__set_progname(const char *name);
const char *err__progname(void);

#endif
