/* GET /v2/images as SQL: Glance's filters, the caller's visibility and the
 * sort order, turned into one query over the images table that returns the
 * ids in order (the service pages through them and reads the page's records
 * with images_db__get_many, one query). */
#include "cloud/images/images_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"

#define WHERE_MAX 8192
#define PARAMS_MAX 128

struct where {
	char sql[WHERE_MAX];
	size_t len;
	const char *params[PARAMS_MAX];
	size_t n;
	char *owned[PARAMS_MAX]; /* copies freed at the end */
	size_t nowned;
};

static int add(struct where *w, const char *clause, struct st_err *err)
{
	int n = snprintf(w->sql + w->len, WHERE_MAX - w->len, "%s%s", w->len ? " AND " : "", clause);
	if (n < 0 || (size_t)n >= WHERE_MAX - w->len)
		return err__fail_class(err, EINVAL, "too many filters");
	w->len += (size_t)n;
	return 0;
}

static int param(struct where *w, const char *value, struct st_err *err)
{
	if (w->n == PARAMS_MAX)
		return err__fail_class(err, EINVAL, "too many filters");
	w->params[w->n++] = value;
	return 0;
}

static int owned_param(struct where *w, char *value, struct st_err *err)
{
	if (!value)
		return err__fail(err, ENOMEM, "out of memory");
	if (w->nowned == PARAMS_MAX) {
		free(value);
		return err__fail_class(err, EINVAL, "too many filters");
	}
	w->owned[w->nowned++] = value;
	return param(w, value, err);
}

static void where_free(struct where *w)
{
	for (size_t i = 0; i < w->nowned; i++)
		free(w->owned[i]);
}

/* column = value, or column IN (...) for "in:a,b,c". */
static int filter_eq(struct where *w, const char *column, const char *value, struct st_err *err)
{
	char clause[2048];
	if (strncmp(value, "in:", 3)) {
		snprintf(clause, sizeof(clause), "%s = ?", column);
		return add(w, clause, err) < 0 ? -1 : param(w, value, err);
	}
	size_t len = (size_t)snprintf(clause, sizeof(clause), "%s IN (", column);
	for (const char *p = value + 3;;) {
		size_t k = strcspn(p, ",");
		if (owned_param(w, strndup(p, k), err) < 0)
			return -1;
		len += (size_t)snprintf(clause + len, sizeof(clause) - len, "%s?", p == value + 3 ? "" : ", ");
		if (!p[k] || len > sizeof(clause) - 8)
			break;
		p += k + 1;
	}
	snprintf(clause + len, sizeof(clause) - len, ")");
	return add(w, clause, err);
}

static int filter_size(struct where *w, const char *value, const char *op, struct st_err *err)
{
	char *end;
	long long n = strtoll(value, &end, 10);
	if (!*value || *end || n < 0)
		return err__fail_class(err, EINVAL, "Invalid value '%.64s' for a size filter.", value);
	char clause[64];
	snprintf(clause, sizeof(clause), "size %s ?", op);
	char *text;
	if (asprintf(&text, "%lld", n) < 0)
		text = NULL;
	return add(w, clause, err) < 0 ? -1 : owned_param(w, text, err);
}

/* "gte:2026-12-07T10:00:00Z" (or a bare time, eq) on created_at/updated_at. */
static int filter_time(struct where *w, const char *column, const char *value, struct st_err *err)
{
	static const char *const ops[][2] = {{"gt:", ">"}, {"gte:", ">="}, {"lt:", "<"},
					     {"lte:", "<="}, {"eq:", "="}, {"neq:", "<>"}};
	const char *op = "=";
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strncmp(value, ops[i][0], strlen(ops[i][0]))) {
			op = ops[i][1];
			value += strlen(ops[i][0]);
			break;
		}
	struct tm tm = {0};
	const char *end = strptime(value, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && (*end == 'Z' || !strcmp(end, "+00:00")))
		end += *end == 'Z' ? 1 : 6;
	if (!end || *end)
		return err__fail_class(err, EINVAL, "Invalid date format '%.64s' for %s: use"
					       " operator:YYYY-MM-DDThh:mm:ssZ.", value, column);
	char clause[64], *text;
	snprintf(clause, sizeof(clause), "%s %s ?", column, op);
	if (asprintf(&text, "%lld", (long long)timegm(&tm)) < 0)
		text = NULL;
	return add(w, clause, err) < 0 ? -1 : owned_param(w, text, err);
}

static int filter_bool(struct where *w, const char *column, const char *value, struct st_err *err)
{
	if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "True") &&
	    strcmp(value, "False"))
		return err__fail_class(err, EINVAL, "Invalid value '%.64s' for %s: true or false.", value,
				       column);
	char clause[64];
	snprintf(clause, sizeof(clause), "%s = %d", column, value[0] == 't' || value[0] == 'T');
	return add(w, clause, err);
}

static const char *qget(const struct images_db_list *l, const char *key)
{
	return l->q->get(l->q->ctx, key, 0);
}

#define MEMBER_OF "EXISTS (SELECT 1 FROM image_members m WHERE m.image_id = images.id AND m.member = ?"

/* What the caller sees (Glance's default list and the visibility filter). */
static int filter_visibility(struct where *w, const struct images_db_list *l, struct st_err *err)
{
	const char *vis = qget(l, "visibility");
	const char *ms = qget(l, "member_status");
	if (!ms)
		ms = "accepted";
	if (strcmp(ms, "accepted") && strcmp(ms, "pending") && strcmp(ms, "rejected") &&
	    strcmp(ms, "all"))
		return err__fail_class(err, EINVAL, "Invalid status value: %.32s", ms);
	if (vis && strcmp(vis, "public") && strcmp(vis, "private") && strcmp(vis, "shared") &&
	    strcmp(vis, "community") && strcmp(vis, "all"))
		return err__fail_class(err, EINVAL, "Invalid visibility value: %.32s", vis);
	if (vis && strcmp(vis, "all") && filter_eq(w, "visibility", vis, err) < 0)
		return -1;
	if (l->admin)
		return 0;
	bool all_ms = !strcmp(ms, "all");
	const char *member = all_ms ? MEMBER_OF ")" : MEMBER_OF " AND m.status = ?)";
	char clause[512];
	if (vis && !strcmp(vis, "community"))
		return 0; /* every community image */
	snprintf(clause, sizeof(clause), "(owner = ? OR visibility = 'public'%s OR (visibility = "
					 "'shared' AND %s))",
		 vis && !strcmp(vis, "all") ? " OR visibility = 'community'" : "", member);
	if (add(w, clause, err) < 0 || param(w, l->project, err) < 0 || param(w, l->project, err) < 0)
		return -1;
	return all_ms ? 0 : param(w, ms, err);
}

/* The parameters of GET /v2/images that are not property filters. */
static const char *const list_params[] = {
	"id", "name", "status", "disk_format", "container_format", "owner", "checksum",
	"os_hash_value", "tag", "visibility", "member_status", "size_min", "size_max", "created_at",
	"updated_at", "protected", "os_hidden", "sort", "sort_key", "sort_dir", "limit", "marker",
	NULL,
};

bool images_db__list_param(const char *name)
{
	for (const char *const *k = list_params; *k; k++)
		if (!strcmp(*k, name))
			return true;
	return false;
}

/* Every tag given must be on the image (Glance ANDs them), and so must every
 * extra property given by name. */
static int filter_extras(struct where *w, const struct images_db_list *l, struct st_err *err)
{
	const char *name, *v;
	for (size_t i = 0; (v = l->q->get(l->q->ctx, "tag", i)); i++)
		if (add(w, "EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = images.id AND"
			   " t.value = ?)", err) < 0 || param(w, v, err) < 0)
			return -1;
	for (size_t i = 0; l->q->at(l->q->ctx, i, &name, &v); i++)
		if (!images_db__list_param(name) &&
		    (add(w, "EXISTS (SELECT 1 FROM image_properties p WHERE p.image_id = images.id AND"
			    " p.name = ? AND p.value = ?)", err) < 0 ||
		     param(w, name, err) < 0 || param(w, v, err) < 0))
			return -1;
	return 0;
}

static int build_filters(struct where *w, const struct images_db_list *l, struct st_err *err)
{
	static const char *const eq[] = {"id", "name", "status", "disk_format", "container_format",
					 "owner", "checksum", "os_hash_value", NULL};
	const char *v;
	for (const char *const *k = eq; *k; k++)
		if ((v = qget(l, *k)) && filter_eq(w, *k, v, err) < 0)
			return -1;
	if (filter_extras(w, l, err) < 0)
		return -1;
	if (((v = qget(l, "size_min")) && filter_size(w, v, ">=", err) < 0) ||
	    ((v = qget(l, "size_max")) && filter_size(w, v, "<=", err) < 0) ||
	    ((v = qget(l, "created_at")) && filter_time(w, "created_at", v, err) < 0) ||
	    ((v = qget(l, "updated_at")) && filter_time(w, "updated_at", v, err) < 0) ||
	    ((v = qget(l, "protected")) && filter_bool(w, "protected", v, err) < 0))
		return -1;
	v = qget(l, "os_hidden");
	if (filter_bool(w, "os_hidden", v ? v : "false", err) < 0)
		return -1;
	return filter_visibility(w, l, err);
}

static const char *const sort_keys[] = {"name", "status", "container_format", "disk_format",
					"size", "id", "created_at", "updated_at", "visibility",
					"owner", "min_disk", "min_ram", "virtual_size", NULL};
/* The sort keys the schema declares NOT NULL: no NULL-first term for them,
 * so that the default order (created_at, id) walks its index instead of
 * sorting every image for a page. */
static const char *const not_null_keys[] = {"status", "id", "created_at", "updated_at",
					    "visibility", "min_disk", "min_ram", NULL};

static bool never_null(const char *key)
{
	for (const char *const *k = not_null_keys; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

/* The ORDER BY of a list, and its keys as columns (id last) for paging
 * after a marker by their values. */
struct order {
	char sql[1024];
	const char *keys[16];
	bool desc[16];
	size_t n;
	bool nullable; /* a key may be NULL: no paging by values */
};

static int add_sort(struct order *o, const char *key, size_t klen, const char *dir,
		    struct st_err *err)
{
	const char *const *k;
	for (k = sort_keys; *k; k++)
		if (strlen(*k) == klen && !strncmp(*k, key, klen))
			break;
	if (!*k)
		return err__fail_class(err, EINVAL, "Invalid sort key: %.*s.", (int)(klen > 64 ? 64 : klen),
				       key);
	if (strcmp(dir, "asc") && strcmp(dir, "desc"))
		return err__fail_class(err, EINVAL, "Invalid sort direction: %.16s.", dir);
	size_t len = strlen(o->sql), size = sizeof(o->sql);
	const char *sql_dir = strcmp(dir, "asc") ? "DESC" : "ASC";
	if (o->n < sizeof(o->keys) / sizeof(o->keys[0])) {
		o->keys[o->n] = *k;
		o->desc[o->n++] = strcmp(dir, "asc") != 0;
	} else {
		o->nullable = true; /* too many keys to page by: the slow way */
	}
	if (never_null(*k)) {
		snprintf(o->sql + len, size - len, "%s%s %s", len ? ", " : "", *k, sql_dir);
		return 0;
	}
	o->nullable = true;
	/* NULL is the smallest value on both engines (as on SQLite and MySQL):
	 * first ascending, last descending */
	snprintf(o->sql + len, size - len, "%s(%s IS NULL) %s, %s %s", len ? ", " : "", *k,
		 strcmp(dir, "asc") ? "ASC" : "DESC", *k, sql_dir);
	return 0;
}

/* sort=name:asc,size or sort_key=K&sort_dir=D; default created_at desc; id last. */
static int build_order(struct order *o, const struct images_db_list *l, struct st_err *err)
{
	const char *sort = qget(l, "sort"), *key = qget(l, "sort_key");
	const char *dir = qget(l, "sort_dir");
	if (sort && (key || dir))
		return err__fail_class(err, EINVAL, "The sort and the sort_key/sort_dir parameters cannot"
					       " be used together.");
	char last_dir[8] = "desc";
	for (const char *p = sort; p && *p;) {
		size_t k = strcspn(p, ",");
		const char *colon = memchr(p, ':', k);
		size_t klen = colon ? (size_t)(colon - p) : k;
		char d[8] = "desc";
		if (colon)
			snprintf(d, sizeof(d), "%.*s", (int)(k - klen - 1 < 7 ? k - klen - 1 : 7), colon + 1);
		if (add_sort(o, p, klen, d, err) < 0)
			return -1;
		snprintf(last_dir, sizeof(last_dir), "%s", d);
		p += k + (p[k] == ',');
	}
	if (!sort) {
		key = key ? key : "created_at";
		snprintf(last_dir, sizeof(last_dir), "%s", dir ? dir : "desc");
		if (add_sort(o, key, strlen(key), last_dir, err) < 0)
			return -1;
	}
	return add_sort(o, "id", 2, strcmp(last_dir, "asc") ? "desc" : "asc", err);
}

static int invalid_marker(const char *marker, struct st_err *err)
{
	return err__fail_class(err, EINVAL, "Invalid marker. Image %.64s could not be found.", marker);
}

/* Only the images after the marker (which must pass the same filters), by
 * the marker's values of the sort keys: (k1 after v1) OR (k1 = v1 AND (k2
 * after v2 OR (...))). A page then reads its own rows, not every id. */
static int after_marker(struct db *db, struct where *w, const struct order *o, const char *marker,
			struct st_err *err)
{
	char cols[512] = "", *sql = NULL;
	for (size_t i = 0, len = 0; i < o->n; i++)
		len += (size_t)snprintf(cols + len, sizeof(cols) - len, "%s%s", i ? ", " : "", o->keys[i]);
	const char *params[PARAMS_MAX + 1];
	memcpy(params, w->params, w->n * sizeof(*params));
	params[w->n] = marker;
	cleanup_rows struct db_rows *rows = NULL;
	if (asprintf(&sql, "SELECT %s FROM images WHERE %s AND id = ?", cols, w->sql) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	int rc = db__query(db, sql, params, w->n + 1, &rows, err);
	free(sql);
	if (rc < 0)
		return -1;
	if (rows->nrows == 0)
		return invalid_marker(marker, err);
	char clause[4096];
	size_t len = 0;
	for (size_t i = 0; i < o->n; i++) {
		const char *op = o->desc[i] ? "<" : ">";
		len += (size_t)snprintf(clause + len, sizeof(clause) - len, "(%s %s ?%s", o->keys[i], op,
					i + 1 < o->n ? " OR (" : "");
		if (owned_param(w, strdup(db_rows__get(rows, 0, i)), err) < 0)
			return -1;
		if (i + 1 < o->n) {
			len += (size_t)snprintf(clause + len, sizeof(clause) - len, "%s = ?", o->keys[i]);
			if (owned_param(w, strdup(db_rows__get(rows, 0, i)), err) < 0)
				return -1;
			len += (size_t)snprintf(clause + len, sizeof(clause) - len, " AND (");
		}
	}
	for (size_t i = 0; i < o->n; i++)
		len += (size_t)snprintf(clause + len, sizeof(clause) - len, i + 1 < o->n ? ")))" : ")");
	if (len >= sizeof(clause))
		return err__fail_class(err, EINVAL, "too many sort keys");
	return add(w, clause, err);
}

/* The ids after the marker in the old way: every id read, the marker found. */
static int slice_after(json_t **ids, const char *marker, size_t max, struct st_err *err)
{
	size_t i;
	json_t *v;
	json_array_foreach(*ids, i, v)
		if (!strcmp(json_string_value(v), marker))
			break;
	if (i == json_array_size(*ids))
		return invalid_marker(marker, err);
	json_t *rest = json_array();
	for (size_t k = i + 1; k < json_array_size(*ids) && (!max || k - i - 1 < max); k++)
		json_array_append(rest, json_array_get(*ids, k));
	json_decref(*ids);
	*ids = rest;
	return 0;
}

int images_db__list(struct db *db, const struct images_db_list *l, json_t **ids,
		    struct st_err *err)
{
	struct where w = {0};
	struct order o = {0};
	char *sql = NULL;
	int rc = -1;
	cleanup_rows struct db_rows *rows = NULL;
	*ids = NULL;
	if (build_filters(&w, l, err) < 0 || build_order(&o, l, err) < 0)
		goto out;
	bool by_values = l->marker && !o.nullable;
	if (by_values && after_marker(db, &w, &o, l->marker, err) < 0)
		goto out;
	char limit[32] = "";
	if (l->max && (!l->marker || by_values))
		snprintf(limit, sizeof(limit), " LIMIT %zu", l->max);
	if (asprintf(&sql, "SELECT id FROM images WHERE %s ORDER BY %s%s", w.sql, o.sql, limit) < 0) {
		sql = NULL;
		err__fail(err, ENOMEM, "out of memory");
		goto out;
	}
	if (db__query(db, sql, w.params, w.n, &rows, err) < 0)
		goto out;
	*ids = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(*ids, json_string(db_rows__get(rows, r, 0)));
	rc = l->marker && !by_values ? slice_after(ids, l->marker, l->max, err) : 0;
	if (rc < 0) {
		json_decref(*ids);
		*ids = NULL;
	}
out:
	free(sql);
	where_free(&w);
	return rc;
}
