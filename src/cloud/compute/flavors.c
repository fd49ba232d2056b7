/* Flavors: create (a generated UUID for "id": null), list with Nova's
 * filters, paging and sorting, show, update (2.55's description), delete.
 * Private flavors are seen by admins and by the projects on their access
 * list (flavor_specs.c). */
#include "cloud/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_flavor.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"

#define DB_INT_MAX 2147483647LL

static const char select_cols[] =
	"SELECT flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor,"
	" is_public, disabled, description FROM compute_flavor";

static const struct compute_col cols[] = {
	{"id", COL_TEXT}, {"name", COL_TEXT}, {"ram", COL_INT}, {"vcpus", COL_INT},
	{"disk", COL_INT}, {"OS-FLV-EXT-DATA:ephemeral", COL_INT}, {"swap", COL_INT},
	{"rxtx_factor", COL_REAL}, {"os-flavor-access:is_public", COL_BOOL},
	{"OS-FLV-DISABLED:disabled", COL_BOOL}, {"description", COL_TEXT},
};

/* A private flavor is visible to its access list's projects. */
static const char visible[] =
	"(is_public = 1 OR flavorid IN (SELECT flavorid FROM compute_flavor_access"
	" WHERE project_id = ?))";

/* Nova's shape at the caller's microversion: swap 0 is "" (until 2.75),
 * description from 2.55. */
static void shape(const struct compute_caller *c, json_t *f, bool detail)
{
	if (!detail) {
		json_t *brief = json_pack("{s:O,s:O}", "id", json_object_get(f, "id"), "name",
					  json_object_get(f, "name"));
		if (c->mv >= 55)
			json_object_set(brief, "description", json_object_get(f, "description"));
		json_object_clear(f);
		json_object_update(f, brief);
		json_decref(brief);
		return;
	}
	if (json_integer_value(json_object_get(f, "swap")) == 0)
		json_object_set_new(f, "swap", json_string(""));
	if (c->mv < 55)
		json_object_del(f, "description");
}

int compute_flavor__find(struct db *db, const struct compute_caller *c, const char *id,
			 json_t **out, struct st_err *err)
{
	char sql[512], msg[320];
	snprintf(msg, sizeof(msg), "Flavor %.256s could not be found.", id);
	if (c && !c->admin) {
		snprintf(sql, sizeof(sql), "%s WHERE flavorid = ? AND %s", select_cols, visible);
		return compute_db__object(db, sql, (const char *[]){id, c->project_id}, 2, cols,
					  ST_ARRAY_SIZE(cols), out, msg, err);
	}
	snprintf(sql, sizeof(sql), "%s WHERE flavorid = ?", select_cols);
	return compute_db__object(db, sql, &id, 1, cols, ST_ARRAY_SIZE(cols), out, msg, err);
}

int compute__flavor_get(struct db *db, const struct compute_caller *c, const char *id,
			json_t **out, struct st_err *err)
{
	if (compute_flavor__find(db, c, id, out, err) < 0)
		return -1;
	shape(c, *out, true);
	return 0;
}

/* --- create --- */

struct new_flavor {
	const char *id, *name, *description;
	char made_id[37];
	long long ram, vcpus, disk, ephemeral, swap;
	double rxtx;
	bool is_public;
};

/* "" is 0 for swap and ephemeral: what older clients send. */
static int size_field(json_t *f, const char *key, long long *out, struct st_err *err)
{
	json_t *v = json_object_get(f, key);
	if (json_is_string(v) && !*json_string_value(v)) {
		*out = 0;
		return 0;
	}
	return compute_valid__int(f, key, false, 0, DB_INT_MAX, 0, out, err);
}

static int parse_rxtx(json_t *f, double *out, struct st_err *err)
{
	json_t *v = json_object_get(f, "rxtx_factor");
	*out = 1.0;
	if (!v)
		return 0;
	char *end = NULL;
	if (json_is_number(v))
		*out = json_number_value(v);
	else if (json_is_string(v))
		*out = strtod(json_string_value(v), &end);
	if ((!json_is_number(v) && !(end && !*end && *json_string_value(v))) || !(*out > 0) ||
	    *out > 3.40282e38)
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute rxtx_factor. "
				       "It must be a number greater than 0");
	return 0;
}

static int parse_flavor(const struct compute_caller *c, json_t *body, struct new_flavor *nf,
			struct st_err *err)
{
	static const char *const keys[] = {"name", "id", "ram", "vcpus", "disk",
					   "OS-FLV-EXT-DATA:ephemeral", "swap", "rxtx_factor",
					   "os-flavor-access:is_public", "description", NULL};
	json_t *f;
	if (compute_valid__member(body, "flavor", &f, err) < 0)
		return -1;
	if (c->mv < 55 && json_object_get(f, "description"))
		return compute_valid__keys(f, keys + 9, err); /* names "description" unexpected */
	if (compute_valid__keys(f, keys, err) < 0 ||
	    compute_valid__string(f, "name", true, 1, 255, true, &nf->name, err) < 0 ||
	    compute_valid__int(f, "ram", true, 1, DB_INT_MAX, 0, &nf->ram, err) < 0 ||
	    compute_valid__int(f, "vcpus", true, 1, DB_INT_MAX, 0, &nf->vcpus, err) < 0 ||
	    compute_valid__int(f, "disk", true, 0, DB_INT_MAX, 0, &nf->disk, err) < 0 ||
	    size_field(f, "OS-FLV-EXT-DATA:ephemeral", &nf->ephemeral, err) < 0 ||
	    size_field(f, "swap", &nf->swap, err) < 0 || parse_rxtx(f, &nf->rxtx, err) < 0 ||
	    compute_valid__bool(f, "os-flavor-access:is_public", true, &nf->is_public, err) < 0)
		return -1;
	json_t *d = json_object_get(f, "description");
	if (d && !json_is_null(d) &&
	    compute_valid__string(f, "description", false, 0, 65535, false, &nf->description, err) < 0)
		return -1;
	json_t *id = json_object_get(f, "id");
	if (id && !json_is_null(id)) {
		if (compute_valid__string(f, "id", true, 1, 255, true, &nf->id, err) < 0)
			return -1;
		if (!compute_valid__chars(nf->id, ". _-", true))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute id. Value: "
					       "%.255s. It may hold only letters, digits, '.', ' ', '_' "
					       "and '-'", nf->id);
	} else {
		if (util__uuid4(nf->made_id, err) < 0)
			return -1;
		nf->id = nf->made_id;
	}
	return 0;
}

static int insert_flavor(struct db *db, void *arg, struct st_err *err)
{
	struct new_flavor *nf = arg;
	long long n;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_flavor WHERE name = ?", &nf->name,
			      1, &n, err) < 0)
		return -1;
	if (n)
		return err__fail_class(err, EEXIST, "Flavor with name %s already exists.", nf->name);
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_flavor WHERE flavorid = ?", &nf->id,
			      1, &n, err) < 0)
		return -1;
	if (n)
		return err__fail_class(err, EEXIST, "Flavor with ID %s already exists.", nf->id);
	char seq[24], ram[24], vcpus[24], disk[24], eph[24], swap[24], rxtx[40], now[24];
	if (compute_db__next_id(db, "compute_flavor", "id", seq, err) < 0)
		return -1;
	snprintf(ram, sizeof(ram), "%lld", nf->ram);
	snprintf(vcpus, sizeof(vcpus), "%lld", nf->vcpus);
	snprintf(disk, sizeof(disk), "%lld", nf->disk);
	snprintf(eph, sizeof(eph), "%lld", nf->ephemeral);
	snprintf(swap, sizeof(swap), "%lld", nf->swap);
	snprintf(rxtx, sizeof(rxtx), "%.17g", nf->rxtx);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {nf->id, seq, nf->name, ram, vcpus, disk, eph, swap, rxtx,
			   nf->is_public ? "1" : "0", nf->description, now};
	return db__exec(db, "INSERT INTO compute_flavor (flavorid, id, name, memory_mb, vcpus,"
			" root_gb, ephemeral_gb, swap, rxtx_factor, is_public, description, created_at)"
			" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", p, ST_ARRAY_SIZE(p), err);
}

int compute__flavor_create(struct db *db, const struct compute_caller *c, json_t *body,
			   json_t **out, struct st_err *err)
{
	struct new_flavor nf = {0};
	if (compute_policy__check(c, "os_compute_api:os-flavor-manage:create", NULL, err) < 0 ||
	    parse_flavor(c, body, &nf, err) < 0 || compute_db__tx(db, insert_flavor, &nf, err) < 0)
		return -1;
	return compute__flavor_get(db, c, nf.id, out, err);
}

/* --- update (2.55) and delete --- */

int compute__flavor_update(struct db *db, const struct compute_caller *c, const char *id,
			   json_t *body, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"description", NULL};
	json_t *f, *flavor;
	const char *description = NULL;
	if (compute_policy__check(c, "os_compute_api:os-flavor-manage:update", NULL, err) < 0 ||
	    compute_valid__member(body, "flavor", &f, err) < 0 || compute_valid__keys(f, keys, err) < 0)
		return -1;
	json_t *d = json_object_get(f, "description");
	if (!d)
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute flavor. "
				       "'description' is a required property");
	if (!json_is_null(d) &&
	    compute_valid__string(f, "description", false, 0, 65535, false, &description, err) < 0)
		return -1;
	if (compute_flavor__find(db, c, id, &flavor, err) < 0)
		return -1;
	json_decref(flavor);
	if (db__exec(db, "UPDATE compute_flavor SET description = ? WHERE flavorid = ?",
		     (const char *[]){description, id}, 2, err) < 0)
		return -1;
	return compute__flavor_get(db, c, id, out, err);
}

static int delete_flavor(struct db *db, void *arg, struct st_err *err)
{
	const char *id = arg;
	if (db__exec(db, "DELETE FROM compute_flavor_extra_spec WHERE flavorid = ?", &id, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM compute_flavor_access WHERE flavorid = ?", &id, 1, err) < 0)
		return -1;
	int n = db__exec(db, "DELETE FROM compute_flavor WHERE flavorid = ?", &id, 1, err);
	if (n == 0)
		return err__fail_class(err, ENOENT, "Flavor %.256s could not be found.", id);
	return n;
}

int compute__flavor_delete(struct db *db, const struct compute_caller *c, const char *id,
			   struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-flavor-manage:delete", NULL, err) < 0)
		return -1;
	return compute_db__tx(db, delete_flavor, (void *)id, err) < 0 ? -1 : 0;
}

/* --- list --- */

static const struct {
	const char *key, *column;
} sort_keys[] = {
	{"flavorid", "flavorid"}, {"id", "id"}, {"name", "name"}, {"memory_mb", "memory_mb"},
	{"vcpus", "vcpus"}, {"root_gb", "root_gb"}, {"ephemeral_gb", "ephemeral_gb"},
	{"swap", "swap"}, {"rxtx_factor", "rxtx_factor"}, {"is_public", "is_public"},
	{"disabled", "disabled"}, {"created_at", "created_at"}, {"description", "description"},
};

/* The WHERE clause and its parameters from the filters. */
static int list_filters(const struct compute_caller *c, const struct compute_query *q,
			char *where, size_t size, const char **params, size_t *np, struct st_err *err)
{
	int is_public = 1; /* 1 public (and what the project may use), 0 private, -1 all */
	const char *v = compute_valid__query(q, "is_public");
	if (c->admin && v) {
		if (!strcasecmp(v, "none"))
			is_public = -1;
		else if ((is_public = compute_valid__bool_text(v)) < 0)
			return err__fail_class(err, EINVAL, "Invalid is_public filter [%.100s]", v);
	}
	size_t n = 0;
	int len = snprintf(where, size, " WHERE 1 = 1");
	if (is_public == 1) {
		len += snprintf(where + len, size - (size_t)len, " AND %s", visible);
		params[n++] = c->project_id;
	} else if (is_public == 0) {
		len += snprintf(where + len, size - (size_t)len, " AND is_public = 0");
	}
	if (!c->admin)
		len += snprintf(where + len, size - (size_t)len, " AND disabled = 0");
	static const char *const mins[][3] = {{"minRam", "memory_mb", "Invalid minRam filter"},
					      {"minDisk", "root_gb", "Invalid minDisk filter"}};
	for (size_t i = 0; i < 2; i++) {
		v = compute_valid__query(q, mins[i][0]);
		if (!v)
			continue;
		char *end;
		errno = 0;
		long long m = strtoll(v, &end, 10);
		if (!*v || *end || errno || m < 0 || m > DB_INT_MAX)
			return err__fail_class(err, EINVAL, "%s [%.100s]", mins[i][2], v);
		len += snprintf(where + len, size - (size_t)len, " AND %s >= ?", mins[i][1]);
		params[n++] = v;
	}
	*np = n;
	return 0;
}

static int order_by(const struct compute_query *q, char *out, size_t size, struct st_err *err)
{
	const char *key = compute_valid__query(q, "sort_key"), *dir = compute_valid__query(q, "sort_dir");
	const char *column = NULL;
	if (!key || !*key)
		key = "flavorid";
	for (size_t i = 0; i < ST_ARRAY_SIZE(sort_keys) && !column; i++)
		if (!strcmp(key, sort_keys[i].key))
			column = sort_keys[i].column;
	if (!column)
		return err__fail_class(err, EINVAL, "Invalid input received: Invalid sort_key %.100s",
				       key);
	if (dir && *dir && strcmp(dir, "asc") && strcmp(dir, "desc"))
		return err__fail_class(err, EINVAL, "Invalid input received: Unknown sort direction, "
				       "must be 'desc' or 'asc'");
	snprintf(out, size, " ORDER BY %s %s, id ASC", column, dir && !strcmp(dir, "desc") ? "DESC" : "ASC");
	return 0;
}

int compute__flavor_list(struct db *db, const struct compute_caller *c,
			 const struct compute_query *q, bool detail, json_t **out,
			 struct st_err *err)
{
	char where[512], order[96], sql[1024];
	const char *params[4];
	size_t np = 0;
	if (list_filters(c, q, where, sizeof(where), params, &np, err) < 0 ||
	    order_by(q, order, sizeof(order), err) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "%s%s%s", select_cols, where, order);
	struct compute_db_list l = {sql, params, np, cols, ST_ARRAY_SIZE(cols), "id", shape, detail};
	return compute_db__list(db, c, q, &l, out, err);
}
