/* The compute service's tables: the migration (schema.c) and the few
 * helpers its logic uses to read them (compute_db.c). Every cell is text
 * (db.h); these turn rows into Nova's typed JSON. */
#ifndef STRATA_CLOUD_COMPUTE_DB_H
#define STRATA_CLOUD_COMPUTE_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "cloud/compute/compute.h"
#include "cloud/db/db.h"

enum compute_col_type {
	COL_TEXT,   /* string, null for SQL NULL */
	COL_INT,    /* integer */
	COL_BOOL,   /* integer 0/1 as false/true */
	COL_REAL,   /* floating point */
	COL_TIME,   /* epoch seconds as Nova's ISO time, null for NULL */
};

/* One column of a result and its JSON name. */
struct compute_col {
	const char *name;
	enum compute_col_type type;
};

extern const struct db_migration compute_db__migrations[];
extern const size_t compute_db__nr_migrations;

/* Runs the query and makes each row an object of the columns' names;
 * *out is an array (maybe empty). */
int compute_db__objects(struct db *db, const char *sql, const char *const *params,
			size_t nparams, const struct compute_col *cols, size_t ncols,
			json_t **out, struct st_err *err);
/* A list as the API returns it: the query's rows as objects
 * (compute_db__objects), paged by the caller's marker and limit on page_key
 * (compute_valid__page; no paging when page_key is NULL), then each item
 * given Nova's shape at the caller's microversion. */
struct compute_db_list {
	const char *sql;
	const char *const *params;
	size_t nparams;
	const struct compute_col *cols;
	size_t ncols;
	const char *page_key;
	void (*shape)(const struct compute_caller *c, json_t *item, bool detail);
	bool detail;
};
int compute_db__list(struct db *db, const struct compute_caller *c, const struct compute_query *q,
		     const struct compute_db_list *l, json_t **out, struct st_err *err);
/* The first row as an object, or ENOENT with not_found's message. */
int compute_db__object(struct db *db, const char *sql, const char *const *params,
		       size_t nparams, const struct compute_col *cols, size_t ncols,
		       json_t **out, const char *not_found, struct st_err *err);
/* The single integer the query returns (0 when it returns no row). */
int compute_db__count(struct db *db, const char *sql, const char *const *params,
		      size_t nparams, long long *out, struct st_err *err);
/* Rows (k, v) as an object {k: v}. */
int compute_db__pairs(struct db *db, const char *sql, const char *const *params,
		      size_t nparams, json_t **out, struct st_err *err);
/* MAX(column) + 1 of table: Nova's integer ids, made inside the inserting
 * transaction (a PostgreSQL race ends in EEXIST, a 409 to retry). */
int compute_db__next_id(struct db *db, const char *table, const char *column, char out[24],
			struct st_err *err);
/* Nova's time stamps: 2026-12-07T10:00:00.000000 */
void compute_db__isotime(long long t, char out[32]);

/* fn(db, arg, err) inside a transaction: committed when it returns >= 0,
 * rolled back otherwise. */
int compute_db__tx(struct db *db, int (*fn)(struct db *db, void *arg, struct st_err *err),
		   void *arg, struct st_err *err);

#endif
