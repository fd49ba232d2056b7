/* The backend-neutral half of the database interface: opening by URL, the
 * handle's lock, transactions, result sets and per-component migrations. */
#include "cloud/db/db.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "cloud/db/db_backend.h"

struct db {
	enum db_kind kind;
	const struct db_backend *ops;
	void *conn;
	/* Recursive: a transaction holds it from begin to end while its own
	 * statements take it again. */
	pthread_mutex_t lock;
	int in_tx;
};

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

int db__open(const char *url, struct db **out, struct st_err *err)
{
	if (!url || !*url)
		return err__fail_class(err, EINVAL, "database: empty URL");
	struct db *db = calloc(1, sizeof(*db));
	if (!db)
		return err__fail_class(err, ENOMEM, "database: out of memory");
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&db->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	int rc;
	if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://") ||
	    has_prefix(url, "host=") || has_prefix(url, "dbname=")) {
		db->kind = DB_POSTGRES;
		db->ops = &db_pg__backend;
		rc = db_pg__open(url, &db->conn, err);
	} else {
		db->kind = DB_SQLITE;
		db->ops = &db_sqlite__backend;
		rc = db_sqlite__open(has_prefix(url, "sqlite:") ? url + strlen("sqlite:") : url,
				     &db->conn, err);
	}
	if (rc < 0) {
		pthread_mutex_destroy(&db->lock);
		free(db);
		return -1;
	}
	*out = db;
	return 0;
}

void db__close(struct db *db)
{
	if (!db)
		return;
	db->ops->close(db->conn);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

enum db_kind db__kind(const struct db *db)
{
	return db->kind;
}

static int run(struct db *db, const char *sql, const char *const *params, size_t nparams,
	       struct db_rows **rows, struct st_err *err)
{
	pthread_mutex_lock(&db->lock);
	int rc = db->ops->run(db->conn, sql, params, nparams, rows, err);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db__exec(struct db *db, const char *sql, const char *const *params, size_t nparams,
	     struct st_err *err)
{
	return run(db, sql, params, nparams, NULL, err);
}

int db__query(struct db *db, const char *sql, const char *const *params, size_t nparams,
	      struct db_rows **out, struct st_err *err)
{
	*out = NULL;
	return run(db, sql, params, nparams, out, err) < 0 ? -1 : 0;
}

int db__query_for_update(struct db *db, const char *sql, const char *const *params,
			 size_t nparams, struct db_rows **out, struct st_err *err)
{
	*out = NULL;
	if (!db->in_tx)
		return err__fail_class(err, EINVAL, "database: a locking query outside a transaction");
	cleanup_free char *locked = NULL;
	if (asprintf(&locked, "%s%s", sql, db->ops->for_update) < 0)
		return err__fail_class(err, ENOMEM, "database: out of memory");
	return run(db, locked, params, nparams, out, err) < 0 ? -1 : 0;
}

int db__begin(struct db *db, struct st_err *err)
{
	pthread_mutex_lock(&db->lock);
	if (db->in_tx) {
		pthread_mutex_unlock(&db->lock);
		return err__fail_class(err, EINVAL, "database: nested transaction");
	}
	if (db->ops->run(db->conn, db->ops->begin_sql, NULL, 0, NULL, err) < 0) {
		pthread_mutex_unlock(&db->lock);
		return -1;
	}
	db->in_tx = 1;
	return 0; /* the lock stays held until commit/rollback */
}

int db__commit(struct db *db, struct st_err *err)
{
	if (!db->in_tx)
		return err__fail_class(err, EINVAL, "database: commit without a transaction");
	int rc = db->ops->run(db->conn, "COMMIT", NULL, 0, NULL, err);
	if (rc < 0) /* PostgreSQL leaves a failed COMMIT's transaction ended; SQLite may not */
		db->ops->run(db->conn, "ROLLBACK", NULL, 0, NULL, NULL);
	db->in_tx = 0;
	pthread_mutex_unlock(&db->lock);
	return rc < 0 ? -1 : 0;
}

int db__tx(struct db *db, int (*fn)(struct db *db, void *arg, struct st_err *err), void *arg,
	   struct st_err *err)
{
	if (db__begin(db, err) < 0)
		return -1;
	int rc = fn(db, arg, err);
	if (rc < 0) {
		db__rollback(db);
		return -1;
	}
	if (db__commit(db, err) < 0)
		return -1;
	return rc;
}

void db__rollback(struct db *db)
{
	if (!db->in_tx)
		return;
	db->ops->run(db->conn, "ROLLBACK", NULL, 0, NULL, NULL);
	db->in_tx = 0;
	pthread_mutex_unlock(&db->lock);
}

struct db_rows *db_rows__new(size_t ncols)
{
	struct db_rows *rows = calloc(1, sizeof(*rows));
	if (rows)
		rows->ncols = ncols;
	return rows;
}

int db_rows__append(struct db_rows *rows, const char *const *cells, struct st_err *err)
{
	/* room for 1, 2, 4, 8 ... rows: grown when nrows reaches a power of two
	 * (a row at a time made reading 10,000 rows copy the array each time) */
	size_t have = rows->nrows;
	if (!rows->cells || (have & (have - 1)) == 0) {
		size_t n = (have ? 2 * have : 1) * (rows->ncols ? rows->ncols : 1);
		char **grown = realloc(rows->cells, n * sizeof(*grown));
		if (!grown)
			return err__fail_class(err, ENOMEM, "database: out of memory");
		rows->cells = grown;
	}
	char **row = rows->cells + rows->nrows * rows->ncols;
	for (size_t c = 0; c < rows->ncols; c++) {
		row[c] = cells[c] ? strdup(cells[c]) : NULL;
		if (cells[c] && !row[c]) {
			while (c--)
				free(row[c]);
			return err__fail_class(err, ENOMEM, "database: out of memory");
		}
	}
	rows->nrows++;
	return 0;
}

void db_rows__free(struct db_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells[i]);
	free(rows->cells);
	free(rows);
}

int db__fail(struct st_err *err, int errnum, const char *what, const char *detail)
{
	/* Drop the trailing newline libpq puts on its messages. */
	size_t len = detail ? strcspn(detail, "\n") : 0;
	return err__fail(err, errnum, "database: %s: %.*s", what, (int)len, detail ? detail : "");
}
