/* Neutron's quotas: per project, over Neutron's defaults; network, subnet
 * and port are enforced at create (the others are shown and stored, as
 * there are no such resources here). A create claims in its transaction:
 * the project's lock row (network_quota's "_lock") is taken first, so two
 * creates of one project never both pass the last free unit, whatever
 * threads or cloud nodes make them. */
#include "cloud/network/network_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

#define QUOTA_MAX 2147483647LL

static const struct {
	const char *name;
	long long dflt;
	const char *table; /* counted and enforced, or NULL */
} resources[] = {
	{"network", 100, "network_network"},
	{"subnet", 100, "network_subnet"},
	{"port", 500, "network_port"},
	{"router", 10, NULL},
	{"floatingip", 50, NULL},
	{"security_group", 10, NULL},
	{"security_group_rule", 100, NULL},
	{"rbac_policy", 10, NULL},
	{"subnetpool", -1, NULL},
};

static int limits(struct db *db, const char *project, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT resource, hard_limit FROM network_quota WHERE project_id = ?", &project, 1, &rows,
		      err) < 0)
		return -1;
	json_t *q = json_object();
	for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++)
		json_object_set_new(q, resources[i].name, json_integer(resources[i].dflt));
	for (size_t i = 0; i < rows->nrows; i++)
		if (json_object_get(q, db_rows__get(rows, i, 0)))
			json_object_set_new(q, db_rows__get(rows, i, 0),
					    json_integer(strtoll(db_rows__get(rows, i, 1), NULL, 10)));
	*out = q;
	return 0;
}

static int used(struct db *db, const char *project, const char *table, long long *out, struct st_err *err)
{
	char sql[128];
	cleanup_rows struct db_rows *rows = NULL;
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE project_id = ?", table);
	if (db__query(db, sql, &project, 1, &rows, err) < 0)
		return -1;
	*out = strtoll(db_rows__get(rows, 0, 0), NULL, 10);
	return 0;
}

static bool may_see(const struct network_caller *c, const char *project)
{
	return c->admin || !strcmp(project, c->project_id);
}

int network__quota_show(struct db *db, const struct network_caller *c, const char *project, bool details,
			json_t **out, struct st_err *err)
{
	cleanup_json json_t *q = NULL;
	if (!may_see(c, project))
		return err__fail_class(err, EPERM, "(rule:get_quota) is disallowed by policy");
	if (limits(db, project, &q, err) < 0)
		return -1;
	if (!details) {
		*out = json_incref(q);
		return 0;
	}
	json_t *d = json_object();
	for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++) {
		long long n = 0;
		if (resources[i].table && used(db, project, resources[i].table, &n, err) < 0) {
			json_decref(d);
			return -1;
		}
		json_object_set_new(d, resources[i].name, json_pack("{s:O, s:I, s:i}", "limit",
					json_object_get(q, resources[i].name), "used", (json_int_t)n, "reserved", 0));
	}
	*out = d;
	return 0;
}

struct quota_set {
	const char *project;
	const json_t *body; /* NULL: back to the defaults */
};

static int set_tx(struct db *db, void *arg, struct st_err *err)
{
	struct quota_set *s = arg;
	if (!s->body)
		return db__exec(db, "DELETE FROM network_quota WHERE project_id = ? AND resource <> '_lock'",
				&s->project, 1, err) < 0 ? -1 : 0;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)s->body, key, v) {
		char n[24];
		snprintf(n, sizeof(n), "%lld", (long long)json_integer_value(v));
		const char *p[] = {s->project, key, n};
		if (db__exec(db, "DELETE FROM network_quota WHERE project_id = ? AND resource = ?", p, 2, err) < 0 ||
		    db__exec(db, "INSERT INTO network_quota (project_id, resource, hard_limit) VALUES (?, ?, ?)", p, 3,
			     err) < 0)
			return -1;
	}
	return 0;
}

int network__quota_update(struct db *db, const struct network_caller *c, const char *project, const json_t *body,
			  json_t **out, struct st_err *err)
{
	if (!c->admin)
		return err__fail_class(err, EPERM, "(rule:update_quota) is disallowed by policy");
	if (!project || !*project || strlen(project) > 64)
		return err__fail_class(err, EINVAL, "Invalid input for operation: a project id is 1-64 characters");
	const char *key;
	json_t *v;
	if (body) {
		if (!json_is_object(body) || !json_object_size(body))
			return err__fail_class(err, EINVAL, "Invalid input for operation: the body is "
					       "{\"quota\": {RESOURCE: LIMIT, ...}}");
		json_object_foreach((json_t *)body, key, v) {
			bool known = false;
			for (size_t i = 0; i < ST_ARRAY_SIZE(resources); i++)
				known = known || !strcmp(key, resources[i].name);
			if (!known)
				return err__fail_class(err, EINVAL, "Unrecognized attribute(s) '%.64s'", key);
			if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > QUOTA_MAX)
				return err__fail_class(err, EINVAL, "Invalid input for %s. Reason: '%s' must be an integer "
						       "of -1 (unlimited) or more.", key, key);
		}
	}
	struct quota_set s = {project, body};
	if (db__tx(db, set_tx, &s, err) < 0)
		return -1;
	return out ? limits(db, project, out, err) : 0;
}

int network_db__quota_claim(struct db *db, const char *project, enum network_kind k, struct st_err *err)
{
	static const char *const names[] = {"network", "subnet", "port"};
	cleanup_rows struct db_rows *lock = NULL;
	cleanup_json json_t *q = NULL;
	long long n;
	if (db__exec(db, "INSERT INTO network_quota (project_id, resource, hard_limit) VALUES (?, '_lock', 0)"
		     " ON CONFLICT DO NOTHING", &project, 1, err) < 0 ||
	    db__query_for_update(db, "SELECT hard_limit FROM network_quota WHERE project_id = ? AND resource = '_lock'",
				 &project, 1, &lock, err) < 0 ||
	    limits(db, project, &q, err) < 0 || used(db, project, resources[k].table, &n, err) < 0)
		return -1;
	json_int_t limit = json_integer_value(json_object_get(q, names[k]));
	if (limit >= 0 && n + 1 > limit)
		return err__fail_class(err, EDQUOT, "Quota exceeded for resources: ['%s'].", names[k]);
	return 0;
}
