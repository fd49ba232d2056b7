/* Quota sets (per project, over the default class, over Nova's defaults),
 * quota classes and absolute limits, with the resources each microversion
 * shows. Usage counts what exists: server groups, and the servers'
 * instances, cores and RAM (compute_server, servers_schema.c). */
#include "cloud/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"

#define QUOTA_MAX 2147483647LL
#define DEFAULT_CLASS "default"

/* Nova's resources and defaults; gone_at: the microversion that drops the
 * resource from quota sets (class_gone_at: from class sets, class_from:
 * where class sets start showing it). */
static const struct resource {
	const char *name;
	long long dflt;
	int gone_at, class_gone_at, class_from;
} resources[] = {
	{"instances", 10, 0, 0, 0},
	{"cores", 20, 0, 0, 0},
	{"ram", 51200, 0, 0, 0},
	{"metadata_items", 128, 0, 0, 0},
	{"key_pairs", 100, 0, 0, 0},
	{"server_groups", 10, 0, 0, 50},
	{"server_group_members", 10, 0, 0, 50},
	{"injected_files", 5, 57, 57, 0},
	{"injected_file_content_bytes", 10240, 57, 57, 0},
	{"injected_file_path_bytes", 255, 57, 57, 0},
	{"floating_ips", 10, 36, 50, 0},
	{"fixed_ips", -1, 36, 50, 0},
	{"security_groups", 10, 36, 50, 0},
	{"security_group_rules", 20, 36, 50, 0},
};

static bool shown(const struct resource *r, int mv, bool class_set)
{
	int gone = class_set ? r->class_gone_at : r->gone_at;
	return (!gone || mv < gone) && (!class_set || mv >= r->class_from);
}

int compute__quota_limit(struct db *db, const char *project, const char *resource,
			 long long *out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {project && *project ? project : "", resource, DEFAULT_CLASS, resource};
	if (db__query(db, "SELECT 0, hard_limit FROM compute_quota WHERE project_id = ? AND resource = ?"
		      " UNION ALL SELECT 1, hard_limit FROM compute_quota_class"
		      " WHERE class_name = ? AND resource = ? ORDER BY 1", p, 4, &rows, err) < 0)
		return -1;
	if (rows->nrows) {
		*out = strtoll(db_rows__get(rows, 0, 1), NULL, 10);
		return 0;
	}
	for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++) {
		if (!strcmp(resources[i].name, resource)) {
			*out = resources[i].dflt;
			return 0;
		}
	}
	return err__fail_class(err, ENOENT, "Unknown quota resource %s.", resource);
}

/* What the project uses of a resource. */
static int in_use(struct db *db, const char *project, const char *resource, long long *out,
		  struct st_err *err)
{
	*out = 0;
	static const struct {
		const char *resource, *sql;
	} servers[] = {
		{"instances", "SELECT COUNT(*) FROM compute_server WHERE project_id = ? AND deleted = 0"},
		{"cores", "SELECT COALESCE(SUM(vcpus), 0) FROM compute_server WHERE project_id = ? AND deleted = 0"},
		{"ram", "SELECT COALESCE(SUM(memory_mb), 0) FROM compute_server WHERE project_id = ? AND deleted = 0"},
	};
	for (size_t i = 0; i < ST_ARRAY_SIZE(servers); i++)
		if (!strcmp(resource, servers[i].resource))
			return compute_db__count(db, servers[i].sql, &project, 1, out, err);
	if (!strcmp(resource, "server_groups"))
		return compute_db__count(db, "SELECT COUNT(*) FROM compute_server_group WHERE project_id = ?",
					 &project, 1, out, err);
	return 0;
}

/* The limits as an object; project NULL: the default class only. */
static int limits_of(struct db *db, const char *project, int mv, bool class_set, char what,
		     json_t **out, struct st_err *err)
{
	json_t *set = json_object();
	for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++) {
		const struct resource *r = &resources[i];
		long long limit, used;
		if (!shown(r, mv, class_set))
			continue;
		if (compute__quota_limit(db, what == 'd' ? NULL : project, r->name, &limit, err) < 0 ||
		    (what == 'D' && in_use(db, project, r->name, &used, err) < 0)) {
			json_decref(set);
			return -1;
		}
		json_object_set_new(set, r->name, what == 'D'
				    ? json_pack("{s:I,s:I,s:i}", "in_use", (json_int_t)used, "limit",
						(json_int_t)limit, "reserved", 0)
				    : json_integer(limit));
	}
	*out = set;
	return 0;
}

int compute__quota_show(struct db *db, const struct compute_caller *c, const char *project,
			char what, json_t **out, struct st_err *err)
{
	const char *rule = what == 'd' ? "os_compute_api:os-quota-sets:defaults"
		: what == 'D' ? "os_compute_api:os-quota-sets:detail" : "os_compute_api:os-quota-sets:show";
	if (compute_policy__check(c, rule, project, err) < 0 ||
	    limits_of(db, project, c->mv, false, what, out, err) < 0)
		return -1;
	json_object_set_new(*out, "id", json_string(project));
	return 0;
}

/* The body's new limits, each an integer -1..QUOTA_MAX of a resource this
 * microversion shows; *force from "force". */
static int parse_limits(const struct compute_caller *c, json_t *set, bool class_set,
			bool *force, struct st_err *err)
{
	const char *key;
	json_t *v;
	long long n;
	json_object_foreach(set, key, v) {
		if (!class_set && !strcmp(key, "force")) {
			if (compute_valid__bool(set, "force", false, force, err) < 0)
				return -1;
			continue;
		}
		bool known = false;
		for (size_t i = 0; i < ST_ARRAY_SIZE(resources) && !known; i++)
			known = !strcmp(resources[i].name, key) && shown(&resources[i], c->mv, class_set);
		if (!known)
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. "
					       "Additional properties are not allowed ('%.100s' was "
					       "unexpected)", class_set ? "quota_class_set" : "quota_set", key);
		if (compute_valid__int(set, key, true, -1, QUOTA_MAX, 0, &n, err) < 0)
			return -1;
	}
	return 0;
}

struct quota_write {
	const char *table, *owner_col, *owner;
	json_t *set;
	bool force;
};

static int write_limits(struct db *db, void *arg, struct st_err *err)
{
	struct quota_write *w = arg;
	const char *key;
	json_t *v;
	char sql[256];
	json_object_foreach(w->set, key, v) {
		if (!strcmp(key, "force"))
			continue;
		long long n, used;
		compute_valid__int(w->set, key, true, -1, QUOTA_MAX, 0, &n, err);
		if (!w->force && !strcmp(w->table, "compute_quota") &&
		    in_use(db, w->owner, key, &used, err) < 0)
			return -1;
		if (!w->force && !strcmp(w->table, "compute_quota") && n >= 0 && used > n)
			return err__fail_class(err, EINVAL, "Quota limit %lld for %s must be greater than "
					       "or equal to already used and reserved %lld.", n, key, used);
		char text[24];
		snprintf(text, sizeof(text), "%lld", n);
		const char *p[] = {w->owner, key, text};
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ? AND resource = ?", w->table,
			 w->owner_col);
		if (db__exec(db, sql, p, 2, err) < 0)
			return -1;
		snprintf(sql, sizeof(sql), "INSERT INTO %s (%s, resource, hard_limit) VALUES (?, ?, ?)",
			 w->table, w->owner_col);
		if (db__exec(db, sql, p, 3, err) < 0)
			return -1;
	}
	return 0;
}

int compute__quota_update(struct db *db, const struct compute_caller *c, const char *project,
			  json_t *body, json_t **out, struct st_err *err)
{
	json_t *set;
	struct quota_write w = {"compute_quota", "project_id", project, NULL, false};
	if (compute_policy__check(c, "os_compute_api:os-quota-sets:update", project, err) < 0 ||
	    compute_valid__member(body, "quota_set", &set, err) < 0 ||
	    parse_limits(c, set, false, &w.force, err) < 0)
		return -1;
	w.set = set;
	if (compute_db__tx(db, write_limits, &w, err) < 0)
		return -1;
	return limits_of(db, project, c->mv, false, 's', out, err);
}

int compute__quota_delete(struct db *db, const struct compute_caller *c, const char *project,
			  struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-quota-sets:delete", project, err) < 0)
		return -1;
	return db__exec(db, "DELETE FROM compute_quota WHERE project_id = ?", &project, 1, err) < 0
		? -1 : 0;
}

int compute__quota_class(struct db *db, const struct compute_caller *c, const char *name,
			 json_t *body, json_t **out, struct st_err *err)
{
	if (compute_policy__check(c, body ? "os_compute_api:os-quota-class-sets:update"
					  : "os_compute_api:os-quota-class-sets:show", NULL, err) < 0)
		return -1;
	if (body) {
		json_t *set;
		bool force = false;
		struct quota_write w = {"compute_quota_class", "class_name", name, NULL, false};
		if (compute_valid__member(body, "quota_class_set", &set, err) < 0 ||
		    parse_limits(c, set, true, &force, err) < 0)
			return -1;
		w.set = set;
		if (compute_db__tx(db, write_limits, &w, err) < 0)
			return -1;
	}
	/* only the default class feeds the projects' limits, as in Nova */
	if (limits_of(db, NULL, c->mv, true, 'd', out, err) < 0)
		return -1;
	if (strcmp(name, DEFAULT_CLASS)) {
		/* another class shows its own rows over Nova's defaults */
		cleanup_json json_t *own = NULL;
		if (compute_db__pairs(db, "SELECT resource, hard_limit FROM compute_quota_class"
				      " WHERE class_name = ?", &name, 1, &own, err) < 0)
			return -1;
		const char *key;
		json_t *v;
		for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++)
			if (json_object_get(*out, resources[i].name))
				json_object_set_new(*out, resources[i].name, json_integer(resources[i].dflt));
		json_object_foreach(own, key, v)
			if (json_object_get(*out, key))
				json_object_set_new(*out, key, json_integer(strtoll(json_string_value(v), NULL, 10)));
	}
	if (!body)
		json_object_set_new(*out, "id", json_string(name));
	return 0;
}

/* --- limits --- */

static const struct {
	const char *name, *resource; /* resource NULL: a usage */
	int gone_at;
} absolute[] = {
	{"maxTotalInstances", "instances", 0}, {"maxTotalCores", "cores", 0},
	{"maxTotalRAMSize", "ram", 0}, {"maxServerMeta", "metadata_items", 0},
	{"maxImageMeta", "metadata_items", 39}, {"maxPersonality", "injected_files", 57},
	{"maxPersonalitySize", "injected_file_content_bytes", 57},
	{"maxTotalKeypairs", "key_pairs", 0}, {"maxServerGroups", "server_groups", 0},
	{"maxServerGroupMembers", "server_group_members", 0},
	{"maxTotalFloatingIps", "floating_ips", 36}, {"maxSecurityGroups", "security_groups", 36},
	{"maxSecurityGroupRules", "security_group_rules", 36},
	{"totalRAMUsed", NULL, 0}, {"totalCoresUsed", NULL, 0}, {"totalInstancesUsed", NULL, 0},
	{"totalFloatingIpsUsed", NULL, 36}, {"totalSecurityGroupsUsed", NULL, 36},
	{"totalServerGroupsUsed", NULL, 0},
};

int compute__limits(struct db *db, const struct compute_caller *c, const char *tenant_id,
		    json_t **out, struct st_err *err)
{
	const char *project = tenant_id ? tenant_id : c->project_id;
	if (compute_policy__check(c, "os_compute_api:limits", NULL, err) < 0 ||
	    (tenant_id && strcmp(tenant_id, c->project_id) &&
	     compute_policy__check(c, "os_compute_api:limits:other_project", NULL, err) < 0))
		return -1;
	json_t *abs = json_object();
	for (size_t i = 0; i < ST_ARRAY_SIZE(absolute); i++) {
		long long v = 0;
		if (absolute[i].gone_at && c->mv >= absolute[i].gone_at)
			continue;
		int rc = 0;
		if (absolute[i].resource)
			rc = compute__quota_limit(db, project, absolute[i].resource, &v, err);
		else if (!strcmp(absolute[i].name, "totalServerGroupsUsed"))
			rc = in_use(db, project, "server_groups", &v, err);
		else if (!strcmp(absolute[i].name, "totalInstancesUsed"))
			rc = in_use(db, project, "instances", &v, err);
		else if (!strcmp(absolute[i].name, "totalCoresUsed"))
			rc = in_use(db, project, "cores", &v, err);
		else if (!strcmp(absolute[i].name, "totalRAMUsed"))
			rc = in_use(db, project, "ram", &v, err);
		if (rc < 0) {
			json_decref(abs);
			return -1;
		}
		json_object_set_new(abs, absolute[i].name, json_integer(v));
	}
	*out = json_pack("{s:[],s:o}", "rate", "absolute", abs);
	return 0;
}
