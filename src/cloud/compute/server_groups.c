/* Server groups: a project's named placement policy (affinity,
 * anti-affinity, and the soft-* ones from 2.15) that the scheduler will
 * honour; members come with servers. The server_groups quota. */
#include "cloud/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"

static const struct compute_col cols[] = {
	{"id", COL_TEXT}, {"name", COL_TEXT}, {"policy", COL_TEXT}, {"project_id", COL_TEXT},
	{"user_id", COL_TEXT},
};

static const char select_cols[] =
	"SELECT uuid, name, policy, project_id, user_id FROM compute_server_group";

/* Nova's shape before 2.64: policies [p], members, metadata; project_id and
 * user_id from 2.13. */
static int shape(struct db *db, const struct compute_caller *c, json_t *g, struct st_err *err)
{
	json_t *members;
	const char *id = json_string_value(json_object_get(g, "id"));
	static const struct compute_col mcols[] = {{"id", COL_TEXT}};
	if (compute_db__objects(db, "SELECT instance_uuid FROM compute_server_group_member"
				" WHERE group_uuid = ? ORDER BY instance_uuid", &id, 1, mcols, 1, &members,
				err) < 0)
		return -1;
	json_t *ids = json_array();
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
		json_array_append(ids, json_object_get(m, "id"));
	json_decref(members);
	json_object_set_new(g, "members", ids);
	json_object_set_new(g, "policies", json_pack("[O]", json_object_get(g, "policy")));
	json_object_del(g, "policy");
	json_object_set_new(g, "metadata", json_object());
	if (c->mv < 13) {
		json_object_del(g, "project_id");
		json_object_del(g, "user_id");
	}
	return 0;
}

/* The group, if the caller may see it (rule checked against its project). */
static int find(struct db *db, const struct compute_caller *c, const char *id, const char *rule,
		json_t **out, struct st_err *err)
{
	char sql[256], msg[320];
	snprintf(sql, sizeof(sql), "%s WHERE uuid = ?", select_cols);
	snprintf(msg, sizeof(msg), "Instance group %.256s could not be found.", id);
	if (compute_db__object(db, sql, &id, 1, cols, ST_ARRAY_SIZE(cols), out, msg, err) < 0)
		return -1;
	if (compute_policy__check(c, rule, json_string_value(json_object_get(*out, "project_id")),
				  err) < 0) {
		json_decref(*out);
		return -1;
	}
	return 0;
}

int compute__server_group_get(struct db *db, const struct compute_caller *c, const char *id,
			      json_t **out, struct st_err *err)
{
	if (find(db, c, id, "os_compute_api:os-server-groups:show", out, err) < 0)
		return -1;
	if (shape(db, c, *out, err) < 0) {
		json_decref(*out);
		return -1;
	}
	return 0;
}

int compute__server_group_delete(struct db *db, const struct compute_caller *c, const char *id,
				 struct st_err *err)
{
	json_t *g;
	if (find(db, c, id, "os_compute_api:os-server-groups:delete", &g, err) < 0)
		return -1;
	json_decref(g);
	return db__exec(db, "DELETE FROM compute_server_group WHERE uuid = ?", &id, 1, err) < 0 ? -1 : 0;
}

/* offset and limit as Nova's common.limited takes them */
static int offset_limit(const struct compute_query *q, json_t *list, struct st_err *err)
{
	long long offset, limit;
	const char *names[] = {"offset", "limit"};
	long long *vals[] = {&offset, &limit};
	for (int i = 0; i < 2; i++) {
		const char *v = compute_valid__query(q, names[i]);
		char *end;
		*vals[i] = i ? COMPUTE_PAGE_MAX : 0;
		if (!v)
			continue;
		errno = 0;
		*vals[i] = strtoll(v, &end, 10);
		if (!*v || *end || errno)
			return err__fail_class(err, EINVAL, "%s param must be an integer", names[i]);
		if (*vals[i] < 0)
			return err__fail_class(err, EINVAL, "%s param must be positive", names[i]);
	}
	if (limit > COMPUTE_PAGE_MAX)
		limit = COMPUTE_PAGE_MAX;
	json_t *page = json_array();
	for (size_t i = (size_t)offset; i < json_array_size(list) && json_array_size(page) < (size_t)limit; i++)
		json_array_append(page, json_array_get(list, i));
	json_array_clear(list);
	json_array_extend(list, page);
	json_decref(page);
	return 0;
}

int compute__server_group_list(struct db *db, const struct compute_caller *c,
			       const struct compute_query *q, json_t **out, struct st_err *err)
{
	char sql[256];
	json_t *list;
	struct st_err ignored = {0};
	if (compute_policy__check(c, "os_compute_api:os-server-groups:index", NULL, err) < 0)
		return -1;
	/* all_projects is an admin's; others get their own, as in Nova */
	bool all = compute_valid__query(q, "all_projects") &&
		   compute_policy__check(c, "os_compute_api:os-server-groups:index:all_projects", NULL,
					 &ignored) == 0;
	snprintf(sql, sizeof(sql), "%s%s ORDER BY id", select_cols, all ? "" : " WHERE project_id = ?");
	const char *project = c->project_id;
	if (compute_db__objects(db, sql, all ? NULL : &project, all ? 0 : 1, cols, ST_ARRAY_SIZE(cols),
				&list, err) < 0)
		return -1;
	size_t i;
	json_t *g;
	if (offset_limit(q, list, err) < 0)
		goto fail;
	json_array_foreach(list, i, g)
		if (shape(db, c, g, err) < 0)
			goto fail;
	*out = list;
	return 0;
fail:
	json_decref(list);
	return -1;
}

struct new_group {
	const struct compute_caller *c;
	const char *name, *policy;
	char uuid[37];
};

static int insert_group(struct db *db, void *arg, struct st_err *err)
{
	struct new_group *g = arg;
	long long count, limit;
	const char *project = g->c->project_id;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_server_group WHERE project_id = ?",
			      &project, 1, &count, err) < 0 ||
	    compute__quota_limit(db, project, "server_groups", &limit, err) < 0)
		return -1;
	if (limit >= 0 && count >= limit)
		return err__fail_class(err, EPERM, "Quota exceeded, too many server groups.");
	char id[24], now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (compute_db__next_id(db, "compute_server_group", "id", id, err) < 0 ||
	    util__uuid4(g->uuid, err) < 0)
		return -1;
	const char *p[] = {g->uuid, id, g->name, project, g->c->user_id, g->policy, now};
	return db__exec(db, "INSERT INTO compute_server_group (uuid, id, name, project_id, user_id,"
			" policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7, err);
}

int compute__server_group_create(struct db *db, const struct compute_caller *c, json_t *body,
				 json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "policies", NULL};
	static const char *const policies[] = {"anti-affinity", "affinity", "soft-anti-affinity",
					       "soft-affinity"};
	json_t *sg, *list;
	struct new_group g = {.c = c};
	if (compute_policy__check(c, "os_compute_api:os-server-groups:create", NULL, err) < 0 ||
	    compute_valid__member(body, "server_group", &sg, err) < 0 ||
	    compute_valid__keys(sg, keys, err) < 0 ||
	    compute_valid__string(sg, "name", true, 1, 255, true, &g.name, err) < 0)
		return -1;
	list = json_object_get(sg, "policies");
	if (!json_is_array(list) || json_array_size(list) != 1 ||
	    !json_is_string(json_array_get(list, 0)))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute policies. It must "
				       "be a list of exactly one policy");
	const char *want = json_string_value(json_array_get(list, 0));
	/* the soft policies from 2.15 */
	size_t allowed = c->mv >= 15 ? 4 : 2;
	for (size_t i = 0; i < allowed && !g.policy; i++)
		if (!strcmp(want, policies[i]))
			g.policy = policies[i];
	if (!g.policy)
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute policies. Value: "
				       "%.64s. It is not one of the policies of this microversion "
				       "(affinity, anti-affinity%s)", want,
				       c->mv >= 15 ? ", soft-affinity, soft-anti-affinity" : "");
	if (!c->project_id[0])
		return err__fail_class(err, EPERM, "A server group belongs to a project: use a "
				       "project-scoped token");
	if (compute_db__tx(db, insert_group, &g, err) < 0)
		return -1;
	return compute__server_group_get(db, c, g.uuid, out, err);
}
