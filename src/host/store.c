#include "host/store.h"
#include "common/cleanup.h"
#include "host/helper.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct store {
	sqlite3 *db;
	uint64_t audit_max_rows, audit_max_age_s; /* 0: unbounded */
	unsigned audits_since_age_trim;
};

/* Migration N takes the schema from version N to N+1. Never edit a released
 * entry: append a new one. */
static const char *const migrations[] = {
	"CREATE TABLE domains(uuid TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, def TEXT NOT NULL,"
	"  autostart INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE runtime(uuid TEXT PRIMARY KEY REFERENCES domains(uuid) ON DELETE CASCADE,"
	"  state TEXT NOT NULL, vm_pid INTEGER, vm_start INTEGER, keeper_pid INTEGER,"
	"  keeper_start INTEGER, started_at INTEGER);"
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, uid INTEGER, pid INTEGER,"
	"  method TEXT, path TEXT, status INTEGER);",
	"CREATE TABLE pools(name TEXT PRIMARY KEY, type TEXT NOT NULL, path TEXT NOT NULL,"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE networks(name TEXT PRIMARY KEY, def TEXT NOT NULL,"
	"  autostart INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);",
	/* each volume's format as created or uploaded: never guessed from
	 * content a guest may have written (storage_format.c) */
	("CREATE TABLE volumes(pool TEXT NOT NULL REFERENCES pools(name) ON DELETE CASCADE, name TEXT NOT NULL,"
	 "  format TEXT NOT NULL, PRIMARY KEY(pool, name));"),
	/* the image cache's index (image_cache.c): one row per base, written
	 * once its file is complete and its hash checked */
	("CREATE TABLE images(sha512 TEXT PRIMARY KEY, url TEXT NOT NULL, format TEXT NOT NULL,"
	 "  size INTEGER NOT NULL, virtual_size INTEGER NOT NULL, created INTEGER NOT NULL,"
	 "  last_used INTEGER NOT NULL);"),
	/* the web UI's logins, so they outlive a restart: the cookie's SHA-256,
	 * never the cookie (web_session.c) */
	("CREATE TABLE web_sessions(hash TEXT PRIMARY KEY, user TEXT NOT NULL, uid INTEGER NOT NULL,"
	 "  can_write INTEGER NOT NULL, last_used INTEGER NOT NULL);"),
	/* a run of a transient domain (strata create): undefined when it ends */
	"ALTER TABLE runtime ADD COLUMN transient INTEGER NOT NULL DEFAULT 0;",
	/* pool-start/-destroy/-autostart: a pool's state; the older pools were always active */
	("ALTER TABLE pools ADD COLUMN active INTEGER NOT NULL DEFAULT 1;"
	 "ALTER TABLE pools ADD COLUMN autostart INTEGER NOT NULL DEFAULT 1;"),
	/* guest templates (templates.c): a checked recipe each */
	("CREATE TABLE templates(name TEXT PRIMARY KEY, def TEXT NOT NULL, created INTEGER NOT NULL,"
	 "  updated INTEGER NOT NULL);"),
	/* the image cache: the base file as it was when its hash was last
	 * checked, so a restart trusts a base whose file did not change */
	"ALTER TABLE images ADD COLUMN stat TEXT;",
};

static int store__fail(struct store *s, struct st_err *err, const char *what)
{
	return err__fail(err, 0, "%s: %s", what, sqlite3_errmsg(s->db));
}

static int store__exec(struct store *s, const char *sql, struct st_err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err__fail(err, 0, "database: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store__schema_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int store__migrate(struct store *s, struct st_err *err)
{
	int v = store__schema_version(s);
	if (v < 0)
		return store__fail(s, err, "reading the schema version");
	if ((size_t)v > sizeof(migrations) / sizeof(migrations[0]))
		return err__fail(err, 0, "the database has schema version %d, newer than this stratad (%zu)", v,
			       sizeof(migrations) / sizeof(migrations[0]));
	for (size_t i = (size_t)v; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%zu;", i + 1);
		if (store__exec(s, "BEGIN IMMEDIATE", err) < 0)
			return -1;
		if (store__exec(s, migrations[i], err) < 0 || store__exec(s, pragma, err) < 0) {
			store__exec(s, "ROLLBACK", NULL);
			return err__prefix(err, "schema migration %zu", i + 1);
		}
		if (store__exec(s, "COMMIT", err) < 0)
			return -1;
	}
	return 0;
}

static int open_db(const char *path, struct store **out, struct st_err *err)
{
	struct store *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "store");
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err__fail(err, 0, "cannot open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store__close(s);
		return -1;
	}
	sqlite3_busy_timeout(s->db, 5000);
	/* WAL + NORMAL: a commit survives a stratad crash (kill -9); only a host
	 * power loss can lose the last transactions, never corrupt the file. */
	if (store__exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
			err) < 0 ||
	    store__migrate(s, err) < 0) {
		err__prefix(err, "%s", path);
		store__close(s);
		return -1;
	}
	*out = s;
	return 0;
}

/* The database holds every definition and the audit log: only stratad's uid
 * may read it. SQLite creates the -wal and -shm files with the database's
 * mode; the umask covers every file it creates while opening. */
int store__open(const char *path, struct store **out, struct st_err *err)
{
	mode_t old = umask(077);
	int rc = open_db(path, out, err);
	umask(old);
	return rc;
}

void store__close(struct store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	free(s);
}

/* Prepares sql, binds the text/int arguments described by fmt ('s' text,
 * 'i' int64), steps once, and finalizes. */
static int store__run(struct store *s, const char *sql, const char *fmt, struct st_err *err, ...)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return store__fail(s, err, "database");
	va_list ap;
	va_start(ap, err);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		if (rc == SQLITE_CONSTRAINT)
			return err__fail_class(err, EEXIST, "already exists");
		return store__fail(s, err, "database");
	}
	return 0;
}

int store__domain_insert(struct store *s, const char *uuid, const char *name, const json_t *def,
			 struct st_err *err)
{
	cleanup_free char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return err__fail(err, ENOMEM, "domain definition");
	return store__run(s, "INSERT INTO domains(uuid, name, def, created) VALUES(?, ?, ?, ?)", "sssi", err,
			  uuid, name, text, (int64_t)time(NULL));
}

int store__domain_update(struct store *s, const char *uuid, const json_t *def, struct st_err *err)
{
	cleanup_free char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return err__fail(err, ENOMEM, "domain definition");
	return store__run(s, "UPDATE domains SET def = ? WHERE uuid = ?", "ss", err, text, uuid);
}

int store__domain_delete(struct store *s, const char *uuid, struct st_err *err)
{
	return store__run(s, "DELETE FROM domains WHERE uuid = ?", "s", err, uuid);
}

int store__domain_set_autostart(struct store *s, const char *uuid, bool on, struct st_err *err)
{
	return store__run(s, "UPDATE domains SET autostart = ? WHERE uuid = ?", "is", err, (int64_t)on, uuid);
}

int store__domain_each(struct store *s,
		       int (*fn)(void *ctx, const char *uuid, const char *name, json_t *def, bool autostart,
				 const struct store_runtime *rt, struct st_err *err),
		       void *ctx, struct st_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
			       "SELECT d.uuid, d.name, d.def, d.autostart, r.state, r.vm_pid, r.vm_start,"
			       " r.keeper_pid, r.keeper_start, r.started_at, r.transient"
			       " FROM domains d LEFT JOIN runtime r ON r.uuid = d.uuid ORDER BY d.created, d.name",
			       -1, &st, NULL) != SQLITE_OK)
		return store__fail(s, err, "database");
	int rc, ret = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *def = json_loads((const char *)sqlite3_column_text(st, 2), 0, &jerr);
		if (!def) {
			ret = err__fail(err, 0, "stored definition of %s is corrupt: %s", sqlite3_column_text(st, 1),
				      jerr.text);
			break;
		}
		struct store_runtime rt = {0}, *rtp = NULL;
		if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			snprintf(rt.state, sizeof(rt.state), "%s", sqlite3_column_text(st, 4));
			rt.vm_pid = (pid_t)sqlite3_column_int64(st, 5);
			rt.vm_start = (uint64_t)sqlite3_column_int64(st, 6);
			rt.keeper_pid = (pid_t)sqlite3_column_int64(st, 7);
			rt.keeper_start = (uint64_t)sqlite3_column_int64(st, 8);
			rt.started_at = sqlite3_column_int64(st, 9);
			rt.transient = sqlite3_column_int64(st, 10) != 0;
			rtp = &rt;
		}
		ret = fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
			 def, sqlite3_column_int(st, 3) != 0, rtp, err);
		if (ret < 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store__fail(s, err, "database");
	sqlite3_finalize(st);
	return ret;
}

int store__runtime_set(struct store *s, const char *uuid, const struct store_runtime *rt, struct st_err *err)
{
	return store__run(s,
			  "INSERT OR REPLACE INTO runtime(uuid, state, vm_pid, vm_start, keeper_pid, keeper_start,"
			  " started_at, transient) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
			  "ssiiiiii", err, uuid, rt->state, (int64_t)rt->vm_pid, (int64_t)rt->vm_start,
			  (int64_t)rt->keeper_pid, (int64_t)rt->keeper_start, rt->started_at, (int64_t)rt->transient);
}

int store__runtime_clear(struct store *s, const char *uuid, struct st_err *err)
{
	return store__run(s, "DELETE FROM runtime WHERE uuid = ?", "s", err, uuid);
}

/* Ids grow with time (INTEGER PRIMARY KEY, oldest deleted first), so keeping
 * the last N rows is a range delete on the primary key, cheap enough for
 * every insert; the age rule scans the table, so it runs every 1024 inserts. */
static int audit_trim(struct store *s, bool by_age, struct st_err *err)
{
	if (s->audit_max_rows && store__run(s, "DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ?", "i",
					    err, (int64_t)s->audit_max_rows) < 0)
		return -1;
	int64_t oldest = (int64_t)time(NULL) - (int64_t)s->audit_max_age_s;
	if (by_age && s->audit_max_age_s && store__run(s, "DELETE FROM audit WHERE ts < ?", "i", err, oldest) < 0)
		return -1;
	return 0;
}

int store__audit_retention(struct store *s, uint64_t max_rows, uint64_t max_age_s, struct st_err *err)
{
	s->audit_max_rows = max_rows;
	s->audit_max_age_s = max_age_s;
	return audit_trim(s, true, err);
}

int store__audit(struct store *s, uid_t uid, pid_t pid, const char *method, const char *path,
		 unsigned status, struct st_err *err)
{
	if (store__run(s, "INSERT INTO audit(ts, uid, pid, method, path, status) VALUES(?, ?, ?, ?, ?, ?)",
		       "iiissi", err, (int64_t)time(NULL), (int64_t)uid, (int64_t)pid, method, path,
		       (int64_t)status) < 0)
		return -1;
	bool by_age = ++s->audits_since_age_trim >= 1024;
	if (by_age)
		s->audits_since_age_trim = 0;
	return audit_trim(s, by_age, err);
}

/* Runs a SELECT whose columns are all text or integers into an array of
 * objects keyed by the given names. */
static json_t *store__select(struct store *s, const char *sql, const char *const *names, int limit)
{
	sqlite3_stmt *st;
	json_t *list = json_array();
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		return list;
	if (limit >= 0)
		sqlite3_bind_int(st, 1, limit);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; names[i]; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_INTEGER)
				json_object_set_new(o, names[i], json_integer(sqlite3_column_int64(st, i)));
			else if (sqlite3_column_type(st, i) == SQLITE_TEXT)
				json_object_set_new(o, names[i], json_string((const char *)sqlite3_column_text(st, i)));
			else
				json_object_set_new(o, names[i], json_null());
		}
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	return list;
}

json_t *store__audit_list(struct store *s, unsigned limit)
{
	static const char *const names[] = {"time", "uid", "pid", "method", "path", "status", NULL};
	json_t *list = store__select(s,
				     "SELECT * FROM (SELECT ts, uid, pid, method, path, status, id FROM audit"
				     " ORDER BY id DESC LIMIT ?) ORDER BY id",
				     names, (int)limit);
	return list;
}

int store__pool_insert(struct store *s, const char *name, const char *type, const char *path,
		       struct st_err *err)
{
	return store__run(s, "INSERT INTO pools(name, type, path, created) VALUES(?, ?, ?, ?)", "sssi", err,
			  name, type, path, (int64_t)time(NULL));
}

int store__pool_delete(struct store *s, const char *name, struct st_err *err)
{
	return store__run(s, "DELETE FROM pools WHERE name = ?", "s", err, name);
}

json_t *store__pool_list(struct store *s)
{
	static const char *const names[] = {"name", "type", "path", "active", "autostart", NULL};
	return store__select(s, "SELECT name, type, path, active, autostart FROM pools ORDER BY name", names, -1);
}

int store__pool_set(struct store *s, const char *name, bool autostart, bool on, struct st_err *err)
{
	return store__run(s, autostart ? "UPDATE pools SET autostart = ? WHERE name = ?"
				       : "UPDATE pools SET active = ? WHERE name = ?",
			  "is", err, (int64_t)on, name);
}

int store__pools_autostart(struct store *s, struct st_err *err)
{
	return store__run(s, "UPDATE pools SET active = 1 WHERE autostart = 1", "", err);
}

int store__volume_format_set(struct store *s, const char *pool, const char *vol, const char *format,
			     struct st_err *err)
{
	return store__run(s, "INSERT OR REPLACE INTO volumes(pool, name, format) VALUES(?, ?, ?)", "sss", err, pool,
			  vol, format);
}

int store__volume_format_get(struct store *s, const char *pool, const char *vol, char *out, size_t len)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT format FROM volumes WHERE pool = ? AND name = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, pool, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, vol, -1, SQLITE_TRANSIENT);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int store__volume_format_delete(struct store *s, const char *pool, const char *vol, struct st_err *err)
{
	return store__run(s, "DELETE FROM volumes WHERE pool = ? AND name = ?", "ss", err, pool, vol);
}

int store__image_put(struct store *s, const struct store_image *im, struct st_err *err)
{
	return store__run(s,
			  "INSERT OR REPLACE INTO images(sha512, url, format, size, virtual_size, created, last_used, stat)"
			  " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
			  "sssiiiis", err, im->sha512, im->url, im->format, (int64_t)im->size, (int64_t)im->virtual_size,
			  im->created, im->last_used, im->stat);
}

int store__image_touch(struct store *s, const char *sha512, int64_t last_used, struct st_err *err)
{
	return store__run(s, "UPDATE images SET last_used = ? WHERE sha512 = ?", "is", err, last_used, sha512);
}

int store__image_delete(struct store *s, const char *sha512, struct st_err *err)
{
	return store__run(s, "DELETE FROM images WHERE sha512 = ?", "s", err, sha512);
}

json_t *store__image_list(struct store *s)
{
	static const char *const names[] = {"sha512", "url", "format", "size", "virtual_size", "created", "last_used",
					    "stat", NULL};
	return store__select(s, "SELECT sha512, url, format, size, virtual_size, created, last_used, stat FROM images"
			     " ORDER BY created", names, -1);
}

int store__network_insert(struct store *s, const char *name, const json_t *def, struct st_err *err)
{
	cleanup_free char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return err__fail(err, ENOMEM, "network definition");
	return store__run(s, "INSERT INTO networks(name, def, created) VALUES(?, ?, ?)", "ssi", err, name, text,
			  (int64_t)time(NULL));
}

int store__network_delete(struct store *s, const char *name, struct st_err *err)
{
	return store__run(s, "DELETE FROM networks WHERE name = ?", "s", err, name);
}

int store__network_set_autostart(struct store *s, const char *name, bool on, struct st_err *err)
{
	return store__run(s, "UPDATE networks SET autostart = ? WHERE name = ?", "is", err, (int64_t)on, name);
}

/* The "def" column of each row, stored as JSON text, parsed in place. */
static json_t *parse_defs(json_t *list)
{
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o) {
		json_t *def = json_loads(json_string_value(json_object_get(o, "def")), 0, NULL);
		json_object_set_new(o, "def", def ? def : json_object());
	}
	return list;
}

json_t *store__network_list(struct store *s)
{
	static const char *const names[] = {"name", "def", "autostart", NULL};
	return parse_defs(store__select(s, "SELECT name, def, autostart FROM networks ORDER BY name", names, -1));
}

int store__template_put(struct store *s, const char *name, const json_t *def, bool create, struct st_err *err)
{
	cleanup_free char *text = json_dumps(def, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return err__fail(err, ENOMEM, "template");
	int64_t now = (int64_t)time(NULL);
	if (create)
		return store__run(s, "INSERT INTO templates(name, def, created, updated) VALUES(?, ?, ?, ?)", "ssii", err,
				  name, text, now, now);
	return store__run(s, "UPDATE templates SET def = ?, updated = ? WHERE name = ?", "sis", err, text, now, name);
}

int store__template_delete(struct store *s, const char *name, struct st_err *err)
{
	return store__run(s, "DELETE FROM templates WHERE name = ?", "s", err, name);
}

json_t *store__template_list(struct store *s)
{
	static const char *const names[] = {"name", "def", "created", "updated", NULL};
	return parse_defs(store__select(s, "SELECT name, def, created, updated FROM templates ORDER BY name", names, -1));
}

int store__web_session_put(struct store *s, const struct store_web_session *ws, struct st_err *err)
{
	return store__run(s, "INSERT OR REPLACE INTO web_sessions(hash, user, uid, can_write, last_used)"
			  " VALUES(?, ?, ?, ?, ?)", "ssiii", err, ws->hash, ws->user, (int64_t)ws->uid,
			  (int64_t)ws->can_write, ws->last_used);
}

int store__web_session_touch(struct store *s, const char *hash, int64_t last_used, struct st_err *err)
{
	return store__run(s, "UPDATE web_sessions SET last_used = ? WHERE hash = ?", "is", err, last_used, hash);
}

int store__web_session_delete(struct store *s, const char *hash, struct st_err *err)
{
	return store__run(s, "DELETE FROM web_sessions WHERE hash = ?", "s", err, hash);
}

int store__web_session_expire(struct store *s, int64_t before, struct st_err *err)
{
	return store__run(s, "DELETE FROM web_sessions WHERE last_used < ?", "i", err, before);
}

int store__web_session_each(struct store *s, void (*fn)(void *ctx, const struct store_web_session *ws), void *ctx,
			    struct st_err *err)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "SELECT hash, user, uid, can_write, last_used FROM web_sessions", -1, &st,
			       NULL) != SQLITE_OK)
		return store__fail(s, err, "database");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_web_session ws = {.uid = (uid_t)sqlite3_column_int64(st, 2),
					       .can_write = sqlite3_column_int(st, 3) != 0,
					       .last_used = sqlite3_column_int64(st, 4)};
		snprintf(ws.hash, sizeof(ws.hash), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(ws.user, sizeof(ws.user), "%s", (const char *)sqlite3_column_text(st, 1));
		fn(ctx, &ws);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store__fail(s, err, "database");
}
