/* The Image service's import tasks (Glance's api_image_import tasks) and the
 * extra properties an import sets on its image. */
#include "cloud/images/images_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"

/* Glance keeps a finished task for 48 hours (task_time_to_live). */
#define TASK_TTL (48 * 3600)
#define TASK_COLUMNS                                                                         \
	"id, type, status, owner, image_id, user_id, request_id, input, result, message," \
	" created_at, updated_at, expires_at"

int images_db__task_insert(struct db *db, const json_t *task, struct st_err *err)
{
	static const char *const keys[] = {"id", "type", "status", "owner", "image_id", "user_id",
					   "request_id"};
	cleanup_free char *input = json_dumps(json_object_get(task, "input"), JSON_COMPACT);
	char created[32];
	snprintf(created, sizeof(created), "%" JSON_INTEGER_FORMAT,
		 json_integer_value(json_object_get(task, "created_at")));
	const char *p[11];
	for (size_t i = 0; i < 7; i++)
		p[i] = json_string_value(json_object_get(task, keys[i]));
	p[7] = input;
	p[8] = json_string_value(json_object_get(task, "message"));
	p[9] = p[10] = created;
	if (!p[8])
		p[8] = "";
	return db__exec(db, "INSERT INTO image_tasks (id, type, status, owner, image_id, user_id,"
			    " request_id, input, message, created_at, updated_at) VALUES"
			    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			p, 11, err) < 0 ? -1 : 0;
}

int images_db__task_set(struct db *db, const char *id, const char *status, const char *message,
			const json_t *result, struct st_err *err)
{
	cleanup_free char *res = result ? json_dumps(result, JSON_COMPACT) : NULL;
	char now[32], expires[32];
	time_t t = time(NULL);
	snprintf(now, sizeof(now), "%lld", (long long)t);
	snprintf(expires, sizeof(expires), "%lld", (long long)t + TASK_TTL);
	bool ended = !strcmp(status, "success") || !strcmp(status, "failure");
	const char *p[] = {status, message ? message : "", res, now, ended ? expires : NULL, id};
	int n = db__exec(db, "UPDATE image_tasks SET status = ?, message = ?, result = ?,"
			     " updated_at = ?, expires_at = ? WHERE id = ?", p, 6, err);
	return n < 0 ? -1 : n == 0 ? err__fail_class(err, ENOENT, "Task %s not found", id) : 0;
}

/* A text cell holding JSON, or null. */
static json_t *json_cell(const char *cell)
{
	json_t *v = cell ? json_loads(cell, 0, NULL) : NULL;
	return v ? v : json_null();
}

static json_t *int_cell(const char *cell)
{
	return cell ? json_integer(strtoll(cell, NULL, 10)) : json_null();
}

static json_t *task_row(const struct db_rows *rows, size_t r)
{
	static const char *const text[] = {"id", "type", "status", "owner", "image_id", "user_id",
					   "request_id"};
	json_t *t = json_object();
	for (size_t c = 0; c < 7; c++) {
		const char *v = db_rows__get(rows, r, c);
		json_object_set_new(t, text[c], v ? json_string(v) : json_null());
	}
	json_object_set_new(t, "input", json_cell(db_rows__get(rows, r, 7)));
	json_object_set_new(t, "result", json_cell(db_rows__get(rows, r, 8)));
	json_object_set_new(t, "message", json_string(db_rows__get(rows, r, 9)));
	json_object_set_new(t, "created_at", int_cell(db_rows__get(rows, r, 10)));
	json_object_set_new(t, "updated_at", int_cell(db_rows__get(rows, r, 11)));
	json_object_set_new(t, "expires_at", int_cell(db_rows__get(rows, r, 12)));
	return t;
}

static json_t *task_rows(const struct db_rows *rows)
{
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(list, task_row(rows, r));
	return list;
}

int images_db__task_get(struct db *db, const char *id, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {id};
	if (db__query(db, "SELECT " TASK_COLUMNS " FROM image_tasks WHERE id = ?", p, 1, &rows,
		      err) < 0)
		return -1;
	if (rows->nrows == 0)
		return err__fail_class(err, ENOENT, "Task with identifier %s not found", id);
	*out = task_row(rows, 0);
	return 0;
}

int images_db__image_tasks(struct db *db, const char *image_id, json_t **out,
			   struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {image_id};
	if (db__query(db, "SELECT " TASK_COLUMNS " FROM image_tasks WHERE image_id = ?"
			  " ORDER BY created_at DESC, id", p, 1, &rows, err) < 0)
		return -1;
	*out = task_rows(rows);
	return 0;
}

int images_db__task_list(struct db *db, const char *owner, const char *type, const char *status,
			 const char *sort_key, bool asc, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"created_at", "updated_at", "expires_at", "id", "type", "status"};
	const char *col = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(sort_key, keys[i]))
			col = keys[i]; /* only a known column goes into the SQL */
	if (!col)
		return err__fail_class(err, EINVAL, "Invalid sort key: %.64s", sort_key);
	const char *p[3];
	size_t n = 0;
	char sql[512];
	int len = snprintf(sql, sizeof(sql), "SELECT " TASK_COLUMNS " FROM image_tasks WHERE 1 = 1");
	if (owner) {
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND owner = ?");
		p[n++] = owner;
	}
	if (type) {
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND type = ?");
		p[n++] = type;
	}
	if (status) {
		len += snprintf(sql + len, sizeof(sql) - (size_t)len, " AND status = ?");
		p[n++] = status;
	}
	snprintf(sql + len, sizeof(sql) - (size_t)len, " ORDER BY %s %s, id %s", col, asc ? "ASC" : "DESC",
		 asc ? "ASC" : "DESC");
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, p, n, &rows, err) < 0)
		return -1;
	*out = task_rows(rows);
	return 0;
}

int images_db__set_property(struct db *db, const char *image_id, const char *name,
			    const char *value, struct st_err *err)
{
	const char *p[] = {image_id, name, value};
	if (db__begin(db, err) < 0)
		return -1;
	if (db__exec(db, "DELETE FROM image_properties WHERE image_id = ? AND name = ?", p, 2, err) < 0 ||
	    db__exec(db, "INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)", p, 3,
		     err) < 0) {
		db__rollback(db);
		return -1;
	}
	return db__commit(db, err);
}
