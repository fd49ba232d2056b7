/* strata-cloud's one database interface: SQLite (default, one file) or
 * PostgreSQL (libpq), the same SQL and the same migrations on both.
 *
 * SQL is written once with `?` placeholders; the PostgreSQL backend numbers
 * them ($1, $2, ...). Every parameter and every value read back is text (NULL
 * for SQL NULL): integers go in as decimal strings, which both engines cast.
 * One handle is shared by a process's threads: each call holds the handle's
 * lock, and a transaction (db__begin .. db__commit/db__rollback) holds it
 * until it ends, so another thread's statements never land inside it. */
#ifndef STRATA_CLOUD_DB_H
#define STRATA_CLOUD_DB_H

#include <stddef.h>

#include "common/err.h"

enum db_kind { DB_SQLITE, DB_POSTGRES };

/* err->errnum after a failed statement: a UNIQUE/PRIMARY KEY violation is
 * EEXIST (callers answer 409), a foreign key or NOT NULL violation EINVAL,
 * a serialization failure or deadlock EAGAIN; anything else EIO. */

struct db;

/* A result: nrows x ncols text cells, row-major; NULL cells are SQL NULL. */
struct db_rows {
	size_t nrows, ncols;
	char **cells;
};

/* url: "postgresql://..." / "postgres://..." / a libpq "key=value" string
 * starting with "host=" or "dbname=", else "sqlite:PATH" or a plain PATH. */
int db__open(const char *url, struct db **out, struct st_err *err);
void db__close(struct db *db);
enum db_kind db__kind(const struct db *db);

/* Runs one statement; returns the number of rows it changed (>= 0). */
int db__exec(struct db *db, const char *sql, const char *const *params, size_t nparams,
	     struct st_err *err);
/* Runs one query; *out is always set on success (maybe 0 rows). */
int db__query(struct db *db, const char *sql, const char *const *params, size_t nparams,
	      struct db_rows **out, struct st_err *err);
/* A query whose rows stay locked until the transaction ends: SELECT ... FOR
 * UPDATE on PostgreSQL. SQLite has no row locks; its transactions take the
 * database's write lock when they begin (BEGIN IMMEDIATE), which serializes
 * the same writers. Only inside a transaction. */
int db__query_for_update(struct db *db, const char *sql, const char *const *params,
			 size_t nparams, struct db_rows **out, struct st_err *err);

int db__begin(struct db *db, struct st_err *err);
int db__commit(struct db *db, struct st_err *err);
void db__rollback(struct db *db);

/* fn(db, arg, err) inside a transaction: committed when it returns >= 0
 * (its value is returned), rolled back otherwise. */
int db__tx(struct db *db, int (*fn)(struct db *db, void *arg, struct st_err *err), void *arg,
	   struct st_err *err);

/* One step of a component's schema: its statements run in one transaction
 * and move the component from version - 1 to version. */
struct db_migration {
	int version;
	const char *const *statements; /* NULL-terminated */
};

/* Brings a component's tables (each service owns its own: "identity", ...)
 * to the newest of migrations[] (ascending versions 1, 2, ...); the table
 * schema_version records where each component is. Safe when several
 * processes start on one database at once. */
int db__migrate(struct db *db, const char *component, const struct db_migration *migrations,
		size_t n, struct st_err *err);
/* The version a component is at (0 before its first migration). */
int db__schema_version(struct db *db, const char *component, int *version, struct st_err *err);

/* Cell (r, c) or NULL. */
static inline const char *db_rows__get(const struct db_rows *rows, size_t r, size_t c)
{
	return rows->cells[r * rows->ncols + c];
}
void db_rows__free(struct db_rows *rows);
static inline void db_rows__freep(struct db_rows **rows)
{
	db_rows__free(*rows);
}
#define cleanup_rows __attribute__((cleanup(db_rows__freep)))

#endif
