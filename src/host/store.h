/* stratad's persistent state: one SQLite database (WAL), schema migrations
 * keyed on PRAGMA user_version. Callers hold the host lock: the connection is
 * used from one thread at a time. */
#ifndef STRATA_HOST_STORE_H
#define STRATA_HOST_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct store;

struct store_runtime {
	char state[16];
	pid_t vm_pid, keeper_pid;
	uint64_t vm_start, keeper_start; /* /proc/PID/stat starttime: tells a reused pid apart */
	int64_t started_at;
	bool transient; /* the domain goes when the run ends */
};

int store__open(const char *path, struct store **out, struct st_err *err);
void store__close(struct store *s);
int store__schema_version(struct store *s);

int store__domain_insert(struct store *s, const char *uuid, const char *name, const json_t *def,
			 struct st_err *err);
int store__domain_update(struct store *s, const char *uuid, const json_t *def, struct st_err *err);
int store__domain_delete(struct store *s, const char *uuid, struct st_err *err);
int store__domain_set_autostart(struct store *s, const char *uuid, bool on, struct st_err *err);
/* Calls fn for every stored domain; rt is NULL when no runtime row exists. */
int store__domain_each(struct store *s,
		       int (*fn)(void *ctx, const char *uuid, const char *name, json_t *def, bool autostart,
				 const struct store_runtime *rt, struct st_err *err),
		       void *ctx, struct st_err *err);
int store__runtime_set(struct store *s, const char *uuid, const struct store_runtime *rt,
		       struct st_err *err);
int store__runtime_clear(struct store *s, const char *uuid, struct st_err *err);

int store__audit(struct store *s, uid_t uid, pid_t pid, const char *method, const char *path,
		 unsigned status, struct st_err *err);
json_t *store__audit_list(struct store *s, unsigned limit);
/* The audit table keeps at most max_rows rows, none older than max_age_s
 * (0: no bound); applied now and as rows are added. */
int store__audit_retention(struct store *s, uint64_t max_rows, uint64_t max_age_s, struct st_err *err);

int store__pool_insert(struct store *s, const char *name, const char *type, const char *path,
		       struct st_err *err);
int store__pool_delete(struct store *s, const char *name, struct st_err *err);
/* Array of {"name","type","path"}. */
json_t *store__pool_list(struct store *s);
/* A pool's "active" (autostart false) or "autostart" flag. */
int store__pool_set(struct store *s, const char *name, bool autostart, bool on, struct st_err *err);
/* Every autostart pool active (stratad's start). */
int store__pools_autostart(struct store *s, struct st_err *err);

/* Each volume's format ("raw", "qcow2"), as stratad recorded it. get: 0 and
 * out, -1 when none is recorded. A pool's rows go with the pool. */
int store__volume_format_set(struct store *s, const char *pool, const char *vol, const char *format,
			     struct st_err *err);
int store__volume_format_get(struct store *s, const char *pool, const char *vol, char *out, size_t len);
int store__volume_format_delete(struct store *s, const char *pool, const char *vol, struct st_err *err);

/* The image cache's index (image_cache.h): one row per verified base. */
struct store_image {
	const char *sha512, *url, *format;
	const char *stat; /* the file when its hash was checked (image_cache.c's format); NULL: not known */
	uint64_t size, virtual_size;
	int64_t created, last_used;
};
int store__image_put(struct store *s, const struct store_image *im, struct st_err *err);
int store__image_touch(struct store *s, const char *sha512, int64_t last_used, struct st_err *err);
int store__image_delete(struct store *s, const char *sha512, struct st_err *err);
/* Array of {"sha512", "url", "format", "size", "virtual_size", "created", "last_used", "stat"}. */
json_t *store__image_list(struct store *s);

int store__network_insert(struct store *s, const char *name, const json_t *def, struct st_err *err);
int store__network_delete(struct store *s, const char *name, struct st_err *err);
int store__network_set_autostart(struct store *s, const char *name, bool on, struct st_err *err);
/* Array of {"name","def","autostart"}. */
json_t *store__network_list(struct store *s);

/* Guest templates (templates.h): put creates (EEXIST when the name is
 * taken) or replaces the def of an existing one. Array of {"name", "def",
 * "created", "updated"}. */
int store__template_put(struct store *s, const char *name, const json_t *def, bool create, struct st_err *err);
int store__template_delete(struct store *s, const char *name, struct st_err *err);
json_t *store__template_list(struct store *s);

/* The web UI's login sessions (web_session.h): the cookie's SHA-256 (hex), never the cookie. */
struct store_web_session {
	char hash[65];
	char user[64];
	uid_t uid;
	bool can_write;
	int64_t last_used; /* seconds since the epoch */
};
int store__web_session_put(struct store *s, const struct store_web_session *ws, struct st_err *err);
int store__web_session_touch(struct store *s, const char *hash, int64_t last_used, struct st_err *err);
int store__web_session_delete(struct store *s, const char *hash, struct st_err *err);
/* Removes the sessions last used before `before`. */
int store__web_session_expire(struct store *s, int64_t before, struct st_err *err);
int store__web_session_each(struct store *s, void (*fn)(void *ctx, const struct store_web_session *ws), void *ctx,
			    struct st_err *err);

#endif
