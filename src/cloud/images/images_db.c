/* The Image service's tables: images with their properties and tags, kept
 * apart from the service's rules (images.c). */
#include "cloud/images/images_db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

const char *const images_db__columns[] = {
	"id", "name", "status", "disk_format", "container_format", "visibility", "size",
	"virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_disk", "min_ram",
	"protected", "os_hidden", "owner", "created_at", "updated_at", NULL,
};
/* s text (or null), i integer (or null), b boolean */
static const char types[] = "ssssssiisssiibbsii";
#define NCOLS (sizeof(types) - 1)
#define SELECT_COLUMNS                                                                    \
	"id, name, status, disk_format, container_format, visibility, size, virtual_size," \
	" checksum, os_hash_algo, os_hash_value, min_disk, min_ram, protected, os_hidden," \
	" owner, created_at, updated_at"

int images_db__migrate(struct db *db, struct st_err *err)
{
	return db__migrate(db, "images", images_db__migrations, images_db__n_migrations, err);
}

static json_t *cell_json(const char *cell, char type)
{
	if (!cell)
		return json_null();
	switch (type) {
	case 'i': return json_integer(strtoll(cell, NULL, 10));
	case 'b': return json_boolean(atoi(cell) != 0);
	default: return json_string(cell);
	}
}

/* A bound parameter from a JSON value: text, a decimal, 1/0, or NULL. */
static const char *param_of(const json_t *v, char buf[32])
{
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "1" : "0";
	return NULL;
}

/* The record's properties and tags, rows of image id. */
static int insert_extras(struct db *db, const char *id, const json_t *rec, struct st_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(rec, "properties"), key, v) {
		const char *p[] = {id, key, json_string_value(v)};
		if (db__exec(db, "INSERT INTO image_properties (image_id, name, value) VALUES (?, ?, ?)",
			     p, 3, err) < 0)
			return -1;
	}
	size_t i;
	json_array_foreach(json_object_get(rec, "tags"), i, v) {
		const char *p[] = {id, json_string_value(v)};
		if (db__exec(db, "INSERT INTO image_tags (image_id, value) VALUES (?, ?)", p, 2, err) < 0)
			return -1;
	}
	return 0;
}

static int insert_tx(struct db *db, const json_t *rec, struct st_err *err)
{
	const char *params[NCOLS];
	char bufs[NCOLS][32];
	for (size_t i = 0; i < NCOLS; i++)
		params[i] = param_of(json_object_get(rec, images_db__columns[i]), bufs[i]);
	if (db__exec(db, "INSERT INTO images (" SELECT_COLUMNS ") VALUES"
			 " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		     params, NCOLS, err) < 0)
		return -1;
	return insert_extras(db, params[0], rec, err);
}

/* Runs fn(db, rec) in one transaction. */
static int in_tx(struct db *db, int (*fn)(struct db *, const json_t *, struct st_err *),
		 const json_t *rec, struct st_err *err)
{
	if (db__begin(db, err) < 0)
		return -1;
	if (fn(db, rec, err) < 0) {
		db__rollback(db);
		return -1;
	}
	return db__commit(db, err);
}

int images_db__insert(struct db *db, const json_t *rec, struct st_err *err)
{
	return in_tx(db, insert_tx, rec, err);
}

/* The columns a PATCH may change, then the extras replaced. */
static int update_tx(struct db *db, const json_t *rec, struct st_err *err)
{
	static const char *const cols[] = {"name", "disk_format", "container_format", "visibility",
					   "min_disk", "min_ram", "protected", "os_hidden", "owner",
					   "updated_at", "id", NULL};
	const char *params[11];
	char bufs[11][32];
	for (size_t i = 0; cols[i]; i++)
		params[i] = param_of(json_object_get(rec, cols[i]), bufs[i]);
	const char *id = params[10], *p[] = {id};
	int n = db__exec(db, "UPDATE images SET name = ?, disk_format = ?, container_format = ?,"
			     " visibility = ?, min_disk = ?, min_ram = ?, protected = ?, os_hidden = ?,"
			     " owner = ?, updated_at = ? WHERE id = ?", params, 11, err);
	if (n == 0)
		return err__fail_class(err, ENOENT, "No image found with ID %s", id);
	if (n < 0 || db__exec(db, "DELETE FROM image_properties WHERE image_id = ?", p, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM image_tags WHERE image_id = ?", p, 1, err) < 0)
		return -1;
	return insert_extras(db, id, rec, err);
}

int images_db__update(struct db *db, const json_t *rec, struct st_err *err)
{
	return in_tx(db, update_tx, rec, err);
}

/* The properties and tags of one image into rec. */
static int get_extras(struct db *db, const char *id, json_t *rec, struct st_err *err)
{
	cleanup_rows struct db_rows *props = NULL, *tags = NULL;
	const char *p[] = {id};
	if (db__query(db, "SELECT name, value FROM image_properties WHERE image_id = ? ORDER BY name",
		      p, 1, &props, err) < 0 ||
	    db__query(db, "SELECT value FROM image_tags WHERE image_id = ? ORDER BY value", p, 1,
		      &tags, err) < 0)
		return -1;
	json_t *po = json_object(), *ta = json_array();
	for (size_t r = 0; r < props->nrows; r++)
		json_object_set_new(po, db_rows__get(props, r, 0), json_string(db_rows__get(props, r, 1)));
	for (size_t r = 0; r < tags->nrows; r++)
		json_array_append_new(ta, json_string(db_rows__get(tags, r, 0)));
	json_object_set_new(rec, "properties", po);
	json_object_set_new(rec, "tags", ta);
	return 0;
}

/* Row r's core columns as a record. */
static json_t *row_record(const struct db_rows *rows, size_t r)
{
	json_t *rec = json_object();
	for (size_t c = 0; c < NCOLS; c++)
		json_object_set_new(rec, images_db__columns[c], cell_json(db_rows__get(rows, r, c), types[c]));
	return rec;
}

int images_db__get(struct db *db, const char *id, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {id};
	if (db__query(db, "SELECT " SELECT_COLUMNS " FROM images WHERE id = ?", p, 1, &rows, err) < 0)
		return -1;
	if (rows->nrows == 0)
		return err__fail_class(err, ENOENT, "No image found with ID %s", id);
	json_t *rec = row_record(rows, 0);
	if (get_extras(db, id, rec, err) < 0) {
		json_decref(rec);
		return -1;
	}
	*out = rec;
	return 0;
}

/* The images of a page with their properties and tags, one row per extra
 * (kind 'p' or 't'; an image without extras has one row with kind NULL).
 * The ids are given three times (params repeated): each side of the union
 * reads only the page's extras through its primary key, instead of every
 * image's being materialized for the join (0.3 s with 10,000 images). */
#define GET_MANY_SQL                                                                       \
	"SELECT " SELECT_COLUMNS ", x.xkind, x.xname, x.xvalue FROM images LEFT JOIN"      \
	" (SELECT image_id, 'p' AS xkind, name AS xname, value AS xvalue FROM"             \
	" image_properties WHERE image_id IN (%s) UNION ALL SELECT image_id, 't', value,"  \
	" NULL FROM image_tags WHERE image_id IN (%s)) x"                                  \
	" ON x.image_id = images.id WHERE images.id IN (%s) ORDER BY images.id, x.xkind, x.xname"

static void add_extra(json_t *rec, const struct db_rows *rows, size_t r)
{
	const char *kind = db_rows__get(rows, r, NCOLS), *name = db_rows__get(rows, r, NCOLS + 1);
	if (kind && kind[0] == 'p')
		json_object_set_new(json_object_get(rec, "properties"), name,
				    json_string(db_rows__get(rows, r, NCOLS + 2)));
	else if (kind)
		json_array_append_new(json_object_get(rec, "tags"), json_string(name));
}

/* The rows (ordered by id) into records by id. */
static json_t *records_by_id(const struct db_rows *rows)
{
	json_t *by_id = json_object(), *rec = NULL;
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *id = db_rows__get(rows, r, 0);
		if (!rec || strcmp(json_string_value(json_object_get(rec, "id")), id)) {
			rec = row_record(rows, r);
			json_object_set_new(rec, "properties", json_object());
			json_object_set_new(rec, "tags", json_array());
			json_object_set_new(by_id, id, rec);
		}
		add_extra(rec, rows, r);
	}
	return by_id;
}

int images_db__get_many(struct db *db, const json_t *ids, json_t **recs, struct st_err *err)
{
	size_t n = json_array_size(ids);
	*recs = json_array();
	if (n == 0)
		return 0;
	cleanup_free const char **params = calloc(3 * n, sizeof(*params));
	cleanup_free char *marks = malloc(3 * n), *sql = NULL;
	cleanup_rows struct db_rows *rows = NULL;
	if (!params || !marks)
		return err__fail(err, ENOMEM, "out of memory");
	size_t len = 0;
	for (size_t i = 0; i < n; i++) {
		params[i] = params[n + i] = params[2 * n + i] = json_string_value(json_array_get(ids, i));
		memcpy(marks + len, i ? ", ?" : "?", i ? 3 : 1);
		len += i ? 3 : 1;
	}
	marks[len] = 0;
	if (asprintf(&sql, GET_MANY_SQL, marks, marks, marks) < 0) {
		sql = NULL;
		return err__fail(err, ENOMEM, "out of memory");
	}
	if (db__query(db, sql, params, 3 * n, &rows, err) < 0)
		return -1;
	cleanup_json json_t *by_id = records_by_id(rows);
	for (size_t i = 0; i < n; i++) {
		json_t *rec = json_object_get(by_id, params[i]);
		if (rec)
			json_array_append(*recs, rec);
	}
	return 0;
}

int images_db__delete(struct db *db, const char *id, struct st_err *err)
{
	const char *p[] = {id};
	int n = db__exec(db, "DELETE FROM images WHERE id = ?", p, 1, err);
	if (n == 0)
		return err__fail_class(err, ENOENT, "No image found with ID %s", id);
	return n < 0 ? -1 : 0;
}

int images_db__set_status(struct db *db, const char *id, const char *from, const char *to,
			  struct st_err *err)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {to, now, id, from};
	return db__exec(db, "UPDATE images SET status = ?, updated_at = ? WHERE id = ? AND status = ?",
			p, 4, err);
}

int images_db__ids_in_status(struct db *db, const char *status, json_t **out,
			     struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {status};
	if (db__query(db, "SELECT id FROM images WHERE status = ?", p, 1, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(*out, json_string(db_rows__get(rows, r, 0)));
	return 0;
}

static int activate_row(struct db *db, const char *id, const struct images_db_data *d,
			struct st_err *err)
{
	char size[32], vsize[32], now[32];
	snprintf(size, sizeof(size), "%" PRId64, d->size);
	snprintf(vsize, sizeof(vsize), "%" PRId64, d->virtual_size);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {size, d->virtual_size >= 0 ? vsize : NULL, d->md5, d->sha512, now, id,
			   d->from ? d->from : "saving"};
	return db__exec(db, "UPDATE images SET status = 'active', size = ?, virtual_size = ?,"
			    " checksum = ?, os_hash_algo = 'sha512', os_hash_value = ?, updated_at = ?"
			    " WHERE id = ? AND status = ?",
			p, 7, err);
}

/* The owner's bytes without this image, its rows locked until the end of the
 * transaction (PostgreSQL; SQLite's transaction holds the write lock). */
static int locked_usage(struct db *db, const char *id, const char *owner, int64_t *bytes,
			struct st_err *err)
{
	cleanup_rows struct db_rows *locked = NULL, *sum = NULL;
	const char *p[] = {owner, id};
	if (db__query_for_update(db, "SELECT id FROM images WHERE owner = ? ORDER BY id",
				 p, 1, &locked, err) < 0 ||
	    db__query(db, "SELECT COALESCE(SUM(size), 0) FROM images WHERE owner = ? AND id <> ?", p,
		      2, &sum, err) < 0)
		return -1;
	*bytes = strtoll(db_rows__get(sum, 0, 0), NULL, 10);
	return 0;
}

int images_db__activate(struct db *db, const char *id, const struct images_db_data *d,
			struct st_err *err)
{
	if (d->quota_bytes <= 0 || !d->owner)
		return activate_row(db, id, d, err);
	int64_t used;
	if (db__begin(db, err) < 0)
		return -1;
	if (locked_usage(db, id, d->owner, &used, err) < 0)
		goto fail;
	if (used + d->size > d->quota_bytes) {
		err__fail_class(err, E2BIG, "Attempted: %" PRId64 ", Maximum: %" PRId64 ". Over the"
					    " image_size_total limit of the image's project.",
				used + d->size, d->quota_bytes);
		goto fail;
	}
	int n = activate_row(db, id, d, err);
	if (n < 0 || db__commit(db, err) < 0)
		goto fail;
	return n;
fail:
	db__rollback(db);
	return -1;
}

int images_db__usage(struct db *db, const char *owner, int64_t *count, int64_t *bytes,
		     struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {owner};
	if (db__query(db, "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM images WHERE owner = ?", p, 1,
		      &rows, err) < 0)
		return -1;
	*count = strtoll(db_rows__get(rows, 0, 0), NULL, 10);
	*bytes = strtoll(db_rows__get(rows, 0, 1), NULL, 10);
	return 0;
}

int images_db__member_status(struct db *db, const char *image_id, const char *member,
			     char status[16], struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {image_id, member};
	if (db__query(db, "SELECT status FROM image_members WHERE image_id = ? AND member = ?", p, 2,
		      &rows, err) < 0)
		return -1;
	if (rows->nrows == 0)
		return err__fail_class(err, ENOENT, "%s is not a member of image %s", member, image_id);
	snprintf(status, 16, "%s", db_rows__get(rows, 0, 0));
	return 0;
}

/* A member row as the API shows it (without "schema"). */
static json_t *member_json(const struct db_rows *rows, size_t r)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I}", "image_id", db_rows__get(rows, r, 0), "member_id",
			 db_rows__get(rows, r, 1), "status", db_rows__get(rows, r, 2), "created_at",
			 (json_int_t)strtoll(db_rows__get(rows, r, 3), NULL, 10), "updated_at",
			 (json_int_t)strtoll(db_rows__get(rows, r, 4), NULL, 10));
}

int images_db__members(struct db *db, const char *image_id, const char *member, json_t **out,
		       struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {image_id, member};
	if (db__query(db, member ? "SELECT image_id, member, status, created_at, updated_at FROM"
				   " image_members WHERE image_id = ? AND member = ?"
				 : "SELECT image_id, member, status, created_at, updated_at FROM"
				   " image_members WHERE image_id = ? ORDER BY created_at, member",
		      p, member ? 2 : 1, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(*out, member_json(rows, r));
	return 0;
}

int images_db__member_set(struct db *db, const char *image_id, const char *member,
			  const char *status, bool create, struct st_err *err)
{
	char now[32];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (create) {
		const char *p[] = {image_id, member, status, now, now};
		return db__exec(db, "INSERT INTO image_members (image_id, member, status, created_at,"
				    " updated_at) VALUES (?, ?, ?, ?, ?)", p, 5, err) < 0 ? -1 : 0;
	}
	const char *p[] = {status, now, image_id, member};
	int n = db__exec(db, "UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ?"
			     " AND member = ?", p, 4, err);
	return n == 0 ? err__fail_class(err, ENOENT, "%s is not a member of image %s", member, image_id)
		      : n < 0 ? -1 : 0;
}

int images_db__member_delete(struct db *db, const char *image_id, const char *member,
			     struct st_err *err)
{
	const char *p[] = {image_id, member};
	int n = db__exec(db, "DELETE FROM image_members WHERE image_id = ? AND member = ?", p, 2, err);
	return n == 0 ? err__fail_class(err, ENOENT, "%s is not a member of image %s", member, image_id)
		      : n < 0 ? -1 : 0;
}
