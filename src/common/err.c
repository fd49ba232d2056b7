#include "common/err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *progname = "strata";

void err__set_progname(const char *name)
{
	const char *slash = strrchr(name, '/');
	progname = slash ? slash + 1 : name;
}

const char *err__progname(void)
{
	return progname;
}

int err__fail(struct st_err *err, int errnum, const char *fmt, ...)
{
	if (!err)
		return -1;
	/* formatted aside first: an argument may be err->msg itself ("what: %s", err->msg) */
	char msg[ST_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(err->msg, msg, sizeof(msg));
	if (errnum) {
		size_t n = strlen(err->msg);
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	}
	err->errnum = errnum;
	return -1;
}

int err__prefix(struct st_err *err, const char *fmt, ...)
{
	if (!err)
		return -1;
	char ctx[ST_ERR_MSG_MAX], old[ST_ERR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	/* Truncation is acceptable: the message is for humans and stays bounded. */
	size_t n = strnlen(ctx, sizeof(err->msg) - 3);
	memcpy(err->msg, ctx, n);
	memcpy(err->msg + n, ": ", 2);
	snprintf(err->msg + n + 2, sizeof(err->msg) - n - 2, "%.*s", (int)(sizeof(old) - 1), old);
	return -1;
}

void err__print(const struct st_err *err)
{
	fprintf(stderr, "%s: error: %s\n", progname, err->msg[0] ? err->msg : "unknown error");
}
