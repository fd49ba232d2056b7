/* SQLite backend: one file, WAL so readers in another process are not
 * blocked, a busy timeout so two writers wait for each other. Prepared
 * statements are kept by their SQL text and reused (parsing and planning
 * were a fifth of a GET /v2/images' CPU time). */
#include "cloud/db/db_backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

/* Enough for every fixed statement of the services; statements built per
 * request (filters, IN lists) take the least recently used places. */
#define STMT_CACHE 64

struct cached_stmt {
	char *sql; /* NULL: a free place */
	uint64_t hash, used;
	sqlite3_stmt *stmt;
};

/* The backend's connection (db.c calls it under the handle's lock, so the
 * cache needs none of its own). */
struct sqlite_conn {
	sqlite3 *db;
	uint64_t tick;
	struct cached_stmt cache[STMT_CACHE];
};

static int errno_of(int code)
{
	switch (code & 0xff) {
	case SQLITE_CONSTRAINT:
		return (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY)
			       ? EEXIST
			       : EINVAL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return EAGAIN;
	default:
		return EIO;
	}
}

static int fail(sqlite3 *conn, struct st_err *err, const char *what)
{
	return db__fail(err, errno_of(sqlite3_extended_errcode(conn)), what, sqlite3_errmsg(conn));
}

int db_sqlite__open(const char *path, void **out, struct st_err *err)
{
	struct sqlite_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return db__fail(err, ENOMEM, path, "out of memory");
	sqlite3 *conn;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &conn, flags, NULL) != SQLITE_OK) {
		int rc = db__fail(err, EIO, path, conn ? sqlite3_errmsg(conn) : "cannot open");
		sqlite3_close(conn);
		free(c);
		return rc;
	}
	sqlite3_extended_result_codes(conn, 1);
	sqlite3_busy_timeout(conn, 30000);
	char *msg = NULL;
	/* a page cache of up to 64 MiB (the default 2 MiB re-read a 10,000-host
	 * cloud's tables from the file for every scheduling decision) */
	if (sqlite3_exec(conn, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;",
			 NULL, NULL,
			 &msg) != SQLITE_OK) {
		db__fail(err, EIO, path, msg);
		sqlite3_free(msg);
		sqlite3_close(conn);
		free(c);
		return -1;
	}
	c->db = conn;
	*out = c;
	return 0;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The statement of sql, prepared now or earlier (then reset and unbound
 * by its last use); NULL with err set when SQLite refuses it. */
static sqlite3_stmt *statement(struct sqlite_conn *c, const char *sql, struct st_err *err)
{
	uint64_t h = fnv1a(sql);
	struct cached_stmt *lru = &c->cache[0];
	for (size_t i = 0; i < STMT_CACHE; i++) {
		struct cached_stmt *e = &c->cache[i];
		if (e->sql && e->hash == h && !strcmp(e->sql, sql)) {
			e->used = ++c->tick;
			return e->stmt;
		}
		if (!e->sql || (lru->sql && e->used < lru->used))
			lru = e;
	}
	sqlite3_stmt *stmt;
	char *copy = strdup(sql);
	if (!copy) {
		db__fail(err, ENOMEM, "prepare", "out of memory");
		return NULL;
	}
	if (sqlite3_prepare_v2(c->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		free(copy);
		fail(c->db, err, "prepare");
		return NULL;
	}
	if (lru->sql) {
		sqlite3_finalize(lru->stmt);
		free(lru->sql);
	}
	*lru = (struct cached_stmt){.sql = copy, .hash = h, .used = ++c->tick, .stmt = stmt};
	return stmt;
}

/* A statement done with: no read transaction left open, no pointer kept
 * to the caller's parameters. */
static void release(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

static int collect(sqlite3_stmt *stmt, struct db_rows *rows, struct st_err *err)
{
	const char *cells[rows->ncols ? rows->ncols : 1];
	for (size_t c = 0; c < rows->ncols; c++)
		cells[c] = (const char *)sqlite3_column_text(stmt, (int)c);
	return db_rows__append(rows, cells, err);
}

static int run(void *conn_, const char *sql, const char *const *params, size_t nparams,
	       struct db_rows **rows, struct st_err *err)
{
	struct sqlite_conn *c = conn_;
	sqlite3_stmt *stmt = statement(c, sql, err);
	if (!stmt)
		return -1;
	if ((size_t)sqlite3_bind_parameter_count(stmt) != nparams)
		return db__fail(err, EINVAL, "bind", "wrong number of parameters");
	for (size_t i = 0; i < nparams; i++)
		sqlite3_bind_text(stmt, (int)i + 1, params[i], -1, SQLITE_STATIC);
	struct db_rows *result = NULL;
	if (rows && !(result = db_rows__new((size_t)sqlite3_column_count(stmt)))) {
		release(stmt);
		return db__fail(err, ENOMEM, "query", "out of memory");
	}
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (result && collect(stmt, result, err) < 0) {
			db_rows__free(result);
			release(stmt);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		fail(c->db, err, "statement");
		db_rows__free(result);
		release(stmt);
		return -1;
	}
	release(stmt);
	if (rows)
		*rows = result;
	return sqlite3_changes(c->db);
}

static void close_conn(void *conn)
{
	struct sqlite_conn *c = conn;
	for (size_t i = 0; i < STMT_CACHE; i++) {
		if (c->cache[i].sql) {
			sqlite3_finalize(c->cache[i].stmt);
			free(c->cache[i].sql);
		}
	}
	sqlite3_close(c->db);
	free(c);
}

const struct db_backend db_sqlite__backend = {
	.run = run,
	.close = close_conn,
	.begin_sql = "BEGIN IMMEDIATE",
	.for_update = "",
};
