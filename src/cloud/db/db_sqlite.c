/* SQLite backend: one file, WAL so readers in another process are not
 * blocked, a busy timeout so two writers wait for each other. */
#include "cloud/db/db_backend.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

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
	sqlite3 *conn;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(path, &conn, flags, NULL) != SQLITE_OK) {
		int rc = db__fail(err, EIO, path, conn ? sqlite3_errmsg(conn) : "cannot open");
		sqlite3_close(conn);
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
		return -1;
	}
	*out = conn;
	return 0;
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
	sqlite3 *conn = conn_;
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(conn, sql, -1, &stmt, NULL) != SQLITE_OK)
		return fail(conn, err, "prepare");
	if ((size_t)sqlite3_bind_parameter_count(stmt) != nparams) {
		sqlite3_finalize(stmt);
		return db__fail(err, EINVAL, "bind", "wrong number of parameters");
	}
	for (size_t i = 0; i < nparams; i++)
		sqlite3_bind_text(stmt, (int)i + 1, params[i], -1, SQLITE_STATIC);
	struct db_rows *result = NULL;
	if (rows && !(result = db_rows__new((size_t)sqlite3_column_count(stmt)))) {
		sqlite3_finalize(stmt);
		return db__fail(err, ENOMEM, "query", "out of memory");
	}
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (result && collect(stmt, result, err) < 0) {
			db_rows__free(result);
			sqlite3_finalize(stmt);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		fail(conn, err, "statement");
		db_rows__free(result);
		sqlite3_finalize(stmt);
		return -1;
	}
	sqlite3_finalize(stmt);
	if (rows)
		*rows = result;
	return sqlite3_changes(conn);
}

static void close_conn(void *conn)
{
	sqlite3_close(conn);
}

const struct db_backend db_sqlite__backend = {
	.run = run,
	.close = close_conn,
	.begin_sql = "BEGIN IMMEDIATE",
	.for_update = "",
};
