/* Rows to Nova's typed JSON, integer ids, UUIDs, transactions. */
#include "cloud/compute/compute_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>


#include "common/cleanup.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/compute_valid.h"

void compute_db__isotime(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000000", &tm);
}

static json_t *cell_json(const char *v, enum compute_col_type type)
{
	if (!v)
		return json_null();
	switch (type) {
	case COL_TEXT: return json_string(v);
	case COL_INT: return json_integer(strtoll(v, NULL, 10));
	case COL_BOOL: return json_boolean(strtoll(v, NULL, 10) != 0);
	case COL_REAL: return json_real(strtod(v, NULL));
	case COL_TIME: {
		char t[32];
		compute_db__isotime(strtoll(v, NULL, 10), t);
		return json_string(t);
	}
	}
	return json_null();
}

int compute_db__objects(struct db *db, const char *sql, const char *const *params,
			size_t nparams, const struct compute_col *cols, size_t ncols,
			json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, params, nparams, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++) {
		json_t *obj = json_object();
		for (size_t i = 0; i < ncols && i < rows->ncols; i++)
			json_object_set_new(obj, cols[i].name, cell_json(db_rows__get(rows, r, i), cols[i].type));
		json_array_append_new(list, obj);
	}
	*out = list;
	return 0;
}

int compute_db__list(struct db *db, const struct compute_caller *c, const struct compute_query *q,
		     const struct compute_db_list *l, json_t **out, struct st_err *err)
{
	json_t *list;
	if (compute_db__objects(db, l->sql, l->params, l->nparams, l->cols, l->ncols, &list, err) < 0)
		return -1;
	if (l->page_key && compute_valid__page(q, list, l->page_key, NULL, err) < 0) {
		json_decref(list);
		return -1;
	}
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
		l->shape(c, item, l->detail);
	*out = list;
	return 0;
}

int compute_db__object(struct db *db, const char *sql, const char *const *params,
		       size_t nparams, const struct compute_col *cols, size_t ncols,
		       json_t **out, const char *not_found, struct st_err *err)
{
	json_t *list;
	if (compute_db__objects(db, sql, params, nparams, cols, ncols, &list, err) < 0)
		return -1;
	if (!json_array_size(list)) {
		json_decref(list);
		return err__fail_class(err, ENOENT, "%s", not_found);
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

int compute_db__count(struct db *db, const char *sql, const char *const *params,
		      size_t nparams, long long *out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, params, nparams, &rows, err) < 0)
		return -1;
	const char *v = rows->nrows ? db_rows__get(rows, 0, 0) : NULL;
	*out = v ? strtoll(v, NULL, 10) : 0;
	return 0;
}

int compute_db__pairs(struct db *db, const char *sql, const char *const *params,
		      size_t nparams, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, params, nparams, &rows, err) < 0)
		return -1;
	json_t *obj = json_object();
	for (size_t r = 0; r < rows->nrows; r++)
		json_object_set_new(obj, db_rows__get(rows, r, 0), json_string(db_rows__get(rows, r, 1)));
	*out = obj;
	return 0;
}

int compute_db__next_id(struct db *db, const char *table, const char *column, char out[24],
			struct st_err *err)
{
	char sql[160];
	long long max;
	snprintf(sql, sizeof(sql), "SELECT MAX(%s) FROM %s", column, table);
	if (compute_db__count(db, sql, NULL, 0, &max, err) < 0)
		return -1;
	snprintf(out, 24, "%lld", max + 1);
	return 0;
}

int compute_db__tx(struct db *db, int (*fn)(struct db *db, void *arg, struct st_err *err),
		   void *arg, struct st_err *err)
{
	return db__tx(db, fn, arg, err);
}

int compute__migrate(struct db *db, struct st_err *err)
{
	if (db__migrate(db, "compute", compute_db__migrations, compute_db__nr_migrations, err) < 0)
		return -1;
	/* the servers' tables, a component of their own (servers_schema.c) */
	return db__migrate(db, "servers", servers_db__migrations, servers_db__nr_migrations, err);
}
