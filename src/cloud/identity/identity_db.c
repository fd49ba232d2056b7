/* The identity tables: one table-driven CRUD for the plain entities, then
 * assignments, implied roles, the catalog and revocation events. */
#include "cloud/identity/identity_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "common/cleanup.h"

/* Column types: s text, n text or null, b boolean (INTEGER 0/1), i integer,
 * h hidden (written by insert/update, never read back). */
struct entity {
	const char *table, *what;
	const char *const columns[12];
	const char *types;
};

static const struct entity entities[IDENTITY_KIND_COUNT] = {
	[IDENTITY_DOMAIN] = {"domain", "domain", {"id", "name", "description", "enabled"}, "ssb"},
	[IDENTITY_PROJECT] = {"project", "project",
			      {"id", "name", "domain_id", "parent_id", "description", "enabled"},
			      "ssnsb"},
	[IDENTITY_USER] = {"users", "user",
			   {"id", "name", "domain_id", "default_project_id", "description", "email",
			    "enabled", "password_hash", "created_at"},
			   "ssnnnbhi"},
	[IDENTITY_GROUP] = {"groups", "group", {"id", "name", "domain_id", "description"}, "sss"},
	[IDENTITY_ROLE] = {"role", "role", {"id", "name", "description"}, "sn"},
	[IDENTITY_REGION] = {"region", "region", {"id", "description", "parent_region_id"}, "sn"},
	[IDENTITY_SERVICE] = {"service", "service", {"id", "type", "name", "description", "enabled"},
			      "ssnb"},
	[IDENTITY_ENDPOINT] = {"endpoint", "endpoint",
			       {"id", "service_id", "interface", "url", "region_id", "enabled"},
			       "sssnb"},
};

/* types[] describes the columns after "id" (always text). */
static char type_of(const struct entity *e, size_t col)
{
	return col == 0 ? 's' : e->types[col - 1];
}

static size_t ncolumns(const struct entity *e)
{
	size_t n = 0;
	while (n < 12 && e->columns[n])
		n++;
	return n;
}

int identity_db__migrate(struct db *db, struct st_err *err)
{
	return db__migrate(db, "identity", identity_db__migrations, identity_db__n_migrations, err);
}

int identity_db__new_id(char out[33], struct st_err *err)
{
	uint8_t b[16];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return err__fail_class(err, EIO, "no random bytes");
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

/* A JSON value as a bound parameter; *buf holds what must be freed. */
static int param_of(json_t *v, char type, const char **out, char **buf, const char *column,
		    struct st_err *err)
{
	*buf = NULL;
	if (!v || json_is_null(v)) {
		if (type == 'n' || type == 'h')
			return *out = NULL, 0;
		return err__fail_class(err, EINVAL, "'%s' may not be null", column);
	}
	if (type == 'b') {
		if (!json_is_boolean(v))
			return err__fail_class(err, EINVAL, "'%s' must be a boolean", column);
		return *out = json_is_true(v) ? "1" : "0", 0;
	}
	if (type == 'i') {
		if (!json_is_integer(v))
			return err__fail_class(err, EINVAL, "'%s' must be an integer", column);
		if (asprintf(buf, "%lld", (long long)json_integer_value(v)) < 0)
			return err__fail_class(err, ENOMEM, "out of memory");
		return *out = *buf, 0;
	}
	if (!json_is_string(v))
		return err__fail_class(err, EINVAL, "'%s' must be a string", column);
	return *out = json_string_value(v), 0;
}

static json_t *value_of(const char *cell, char type)
{
	if (!cell)
		return json_null();
	if (type == 'b')
		return json_boolean(strcmp(cell, "0") != 0);
	if (type == 'i')
		return json_integer(strtoll(cell, NULL, 10));
	return json_string(cell);
}

/* The first nrows rows' visible columns (in order, hidden ones skipped)
 * as objects. */
static json_t *rows_to_json(const struct entity *e, const struct db_rows *rows, size_t nrows)
{
	json_t *list = json_array();
	size_t n = ncolumns(e);
	for (size_t r = 0; r < nrows; r++) {
		json_t *obj = json_object();
		for (size_t c = 0, k = 0; c < n; c++) {
			if (type_of(e, c) == 'h')
				continue;
			json_object_set_new(obj, e->columns[c], value_of(db_rows__get(rows, r, k++), type_of(e, c)));
		}
		json_array_append_new(list, obj);
	}
	return list;
}

/* "id, name, ..." of the readable columns. */
static void select_list(const struct entity *e, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t c = 0; c < ncolumns(e); c++) {
		if (type_of(e, c) == 'h')
			continue;
		if (buf[0])
			strncat(buf, ", ", size - strlen(buf) - 1);
		strncat(buf, e->columns[c], size - strlen(buf) - 1);
	}
}

int identity_db__insert(struct db *db, enum identity_kind kind, json_t *obj, struct st_err *err)
{
	const struct entity *e = &entities[kind];
	const char *params[12];
	char *bufs[12] = {0};
	char cols[512] = "", marks[64] = "";
	size_t np = 0;
	int rc = 0;
	for (size_t c = 0; c < ncolumns(e); c++) {
		json_t *v = json_object_get(obj, e->columns[c]);
		if (!v)
			continue; /* the column's default */
		if (param_of(v, type_of(e, c), &params[np], &bufs[np], e->columns[c], err) < 0) {
			rc = -1;
			break;
		}
		snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), "%s%s", np ? ", " : "",
			 e->columns[c]);
		strcat(marks, np ? ", ?" : "?");
		np++;
	}
	cleanup_free char *sql = NULL;
	if (rc == 0 && asprintf(&sql, "INSERT INTO %s (%s) VALUES (%s)", e->table, cols, marks) < 0)
		rc = err__fail_class(err, ENOMEM, "out of memory");
	if (rc == 0 && db__exec(db, sql, params, np, err) < 0)
		rc = err && err->errnum == EEXIST
			     ? err__fail_class(err, EEXIST, "a %s with that name already exists", e->what)
			     : -1;
	for (size_t i = 0; i < np; i++)
		free(bufs[i]);
	return rc;
}

int identity_db__list_page(struct db *db, enum identity_kind kind, const char *const *filters,
			   struct identity_page *page, json_t **out, struct st_err *err)
{
	const struct entity *e = &entities[kind];
	char cols[512];
	select_list(e, cols, sizeof(cols));
	char where[512] = "", limit[32] = "";
	const char *params[9];
	size_t np = 0;
	for (; filters && filters[2 * np] && np < 8; np++) {
		size_t c = 0;
		while (c < ncolumns(e) && strcmp(e->columns[c], filters[2 * np]))
			c++;
		if (c == ncolumns(e))
			return err__fail_class(err, EINVAL, "%s has no column %s", e->what, filters[2 * np]);
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%s%s = ?",
			 np ? " AND " : " WHERE ", e->columns[c]);
		params[np] = filters[2 * np + 1];
	}
	if (page && page->marker) {
		snprintf(where + strlen(where), sizeof(where) - strlen(where), "%sid > ?",
			 np ? " AND " : " WHERE ");
		params[np++] = page->marker;
	}
	/* one row more than the page tells whether more follow */
	if (page && page->limit)
		snprintf(limit, sizeof(limit), " LIMIT %zu", page->limit + 1);
	cleanup_free char *sql = NULL;
	if (asprintf(&sql, "SELECT %s FROM %s%s ORDER BY id%s", cols, e->table, where, limit) < 0)
		return err__fail_class(err, ENOMEM, "out of memory");
	struct db_rows *rows;
	if (db__query(db, sql, params, np, &rows, err) < 0)
		return -1;
	size_t n = rows->nrows;
	if (page && (page->truncated = page->limit && n > page->limit))
		n = page->limit;
	*out = rows_to_json(e, rows, n);
	db_rows__free(rows);
	return 0;
}

int identity_db__list(struct db *db, enum identity_kind kind, const char *const *filters,
		      json_t **out, struct st_err *err)
{
	return identity_db__list_page(db, kind, filters, NULL, out, err);
}

int identity_db__get(struct db *db, enum identity_kind kind, const char *id, json_t **out,
		     struct st_err *err)
{
	json_t *list;
	if (identity_db__list(db, kind, (const char *[]){"id", id, NULL}, &list, err) < 0)
		return -1;
	if (json_array_size(list) == 0) {
		json_decref(list);
		return err__fail_class(err, ENOENT, "Could not find %s: %s.", entities[kind].what, id);
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

int identity_db__update(struct db *db, enum identity_kind kind, const char *id, json_t *changes,
			struct st_err *err)
{
	const struct entity *e = &entities[kind];
	const char *params[13];
	char *bufs[13] = {0};
	char sets[512] = "";
	size_t np = 0;
	int rc = 0;
	for (size_t c = 1; c < ncolumns(e); c++) {
		json_t *v = json_object_get(changes, e->columns[c]);
		if (!v)
			continue;
		if (param_of(v, type_of(e, c), &params[np], &bufs[np], e->columns[c], err) < 0) {
			rc = -1;
			break;
		}
		snprintf(sets + strlen(sets), sizeof(sets) - strlen(sets), "%s%s = ?", np ? ", " : "",
			 e->columns[c]);
		np++;
	}
	params[np] = id;
	cleanup_free char *sql = NULL;
	int changed = 0;
	if (rc == 0 && np == 0)
		goto out; /* nothing to change */
	if (rc == 0 && asprintf(&sql, "UPDATE %s SET %s WHERE id = ?", e->table, sets) < 0)
		rc = err__fail_class(err, ENOMEM, "out of memory");
	if (rc == 0 && (changed = db__exec(db, sql, params, np + 1, err)) < 0)
		rc = err && err->errnum == EEXIST
			     ? err__fail_class(err, EEXIST, "a %s with that name already exists", e->what)
			     : -1;
	if (rc == 0 && changed == 0)
		rc = err__fail_class(err, ENOENT, "Could not find %s: %s.", e->what, id);
out:
	for (size_t i = 0; i < np; i++)
		free(bufs[i]);
	return rc;
}

int identity_db__delete(struct db *db, enum identity_kind kind, const char *id, struct st_err *err)
{
	const struct entity *e = &entities[kind];
	cleanup_free char *sql = NULL;
	if (asprintf(&sql, "DELETE FROM %s WHERE id = ?", e->table) < 0)
		return err__fail_class(err, ENOMEM, "out of memory");
	/* The assignments on or of it go with it (they reference no table). */
	const char *p[] = {id, id};
	if ((kind == IDENTITY_PROJECT || kind == IDENTITY_DOMAIN || kind == IDENTITY_USER ||
	     kind == IDENTITY_GROUP) &&
	    db__exec(db, "DELETE FROM assignment WHERE target_id = ? OR actor_id = ?", p, 2, err) < 0)
		return -1;
	int changed = db__exec(db, sql, p, 1, err);
	if (changed < 0)
		return err && err->errnum == EINVAL
			       ? err__fail_class(err, EINVAL, "the %s %s is still in use", e->what, id)
			       : -1;
	return changed ? 0 : err__fail_class(err, ENOENT, "Could not find %s: %s.", e->what, id);
}
