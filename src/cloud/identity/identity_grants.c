/* Role grants, GET /v3/role_assignments and /v3/auth/{projects,domains}. */
#include "cloud/identity/identity_ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int forbidden(struct st_err *err)
{
	return err__fail_class(err, EPERM, "You are not authorized to perform the requested action.");
}

static int exists(struct identity *id, enum identity_kind kind, const char *oid, struct st_err *err)
{
	json_t *row;
	if (identity_db__get(id->db, kind, oid, &row, err) < 0)
		return -1;
	json_decref(row);
	return 0;
}

static const char *assignment_type(const char *target_kind, bool group)
{
	if (!strcmp(target_kind, "projects"))
		return group ? ASSIGN_GROUP_PROJECT : ASSIGN_USER_PROJECT;
	if (!strcmp(target_kind, "domains"))
		return group ? ASSIGN_GROUP_DOMAIN : ASSIGN_USER_DOMAIN;
	if (!strcmp(target_kind, "system"))
		return group ? ASSIGN_GROUP_SYSTEM : ASSIGN_USER_SYSTEM;
	return NULL;
}

int identity_ops__role_grant(struct identity *id, const struct identity_caller *c, char op,
			     const char *target_kind, const char *target, const char *actor_kind,
			     const char *actor, const char *role, struct st_err *err)
{
	bool group = !strcmp(actor_kind, "groups");
	const char *type = assignment_type(target_kind, group);
	if (!type || (!group && strcmp(actor_kind, "users")))
		return err__fail_class(err, ENOENT, "Not found.");
	if (op == 'H' ? !(c->admin || c->reader) : !c->admin)
		return forbidden(err);
	bool system = !strcmp(target_kind, "system");
	if (system)
		target = "system";
	if ((!system && exists(id, strcmp(target_kind, "projects") ? IDENTITY_DOMAIN : IDENTITY_PROJECT,
			       target, err) < 0) ||
	    exists(id, group ? IDENTITY_GROUP : IDENTITY_USER, actor, err) < 0 ||
	    exists(id, IDENTITY_ROLE, role, err) < 0)
		return -1;
	if (op == 'P')
		return identity_db__assign(id->db, type, actor, target, role, err);
	if (op == 'D')
		return identity_db__unassign(id->db, type, actor, target, role, err);
	json_t *list;
	if (identity_db__assignments(id->db, type, actor, target, role, &list, err) < 0)
		return -1;
	size_t n = json_array_size(list);
	json_decref(list);
	return n ? 0 : err__fail_class(err, ENOENT, "Could not find role assignment.");
}

/* {"id", "name", "domain": {"id", "name"}} or {"id"} of one object. */
static json_t *ref(struct identity *id, enum identity_kind kind, const char *oid, bool names)
{
	json_t *out = json_pack("{s:s}", "id", oid), *row;
	if (!names || identity_db__get(id->db, kind, oid, &row, NULL) < 0)
		return out;
	json_object_set(out, "name", json_object_get(row, "name"));
	const char *did = json_string_value(json_object_get(row, "domain_id"));
	json_t *dom;
	if (did && identity_db__get(id->db, IDENTITY_DOMAIN, did, &dom, NULL) == 0) {
		json_object_set_new(out, "domain", json_pack("{s:s,s:O}", "id", did, "name",
							     json_object_get(dom, "name")));
		json_decref(dom);
	}
	json_decref(row);
	return out;
}

static json_t *format(struct identity *id, const char *type, const char *actor,
		      const char *target, const char *role, bool names)
{
	bool group = !strncmp(type, "Group", 5);
	const char *scope_kind = strstr(type, "Project") ? "project"
				 : strstr(type, "Domain") ? "domain"
							  : "system";
	json_t *scope = !strcmp(scope_kind, "system")
				? json_pack("{s:{s:b}}", "system", "all", 1)
				: json_pack("{s:o}", scope_kind,
					    ref(id, !strcmp(scope_kind, "project") ? IDENTITY_PROJECT : IDENTITY_DOMAIN,
						target, names));
	return json_pack("{s:o,s:o,s:o,s:{}}", "role", ref(id, IDENTITY_ROLE, role, names),
			 group ? "group" : "user",
			 ref(id, group ? IDENTITY_GROUP : IDENTITY_USER, actor, names), "scope", scope,
			 "links");
}

static bool truthy(const char *v)
{
	return v && (!*v || !strcasecmp(v, "true") || !strcmp(v, "1"));
}

int identity_ops__role_assignments(struct identity *id, const struct identity_caller *c,
				   identity_query_fn query, void *qctx, json_t **out,
				   struct st_err *err)
{
	const char *user = query(qctx, "user.id"), *group = query(qctx, "group.id");
	const char *project = query(qctx, "scope.project.id"), *domain = query(qctx, "scope.domain.id");
	const char *role = query(qctx, "role.id"), *system = query(qctx, "scope.system");
	bool names = truthy(query(qctx, "include_names")), effective = truthy(query(qctx, "effective"));
	/* Non-admins see their own assignments only. */
	if (!c->admin && !(c->reader && c->token.scope == TOKEN_SYSTEM) &&
	    !(user && !strcmp(user, c->token.user_id)))
		return forbidden(err);
	const char *target = project ? project : domain ? domain : system ? "system" : NULL;
	json_t *rows, *row;
	if (identity_db__assignments(id->db, NULL, user ? user : group, target, NULL, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	size_t i;
	json_array_foreach(rows, i, row) {
		const char *type = json_string_value(json_object_get(row, "type"));
		const char *actor = json_string_value(json_object_get(row, "actor_id"));
		const char *tgt = json_string_value(json_object_get(row, "target_id"));
		if ((user && strncmp(type, "User", 4)) || (group && strncmp(type, "Group", 5)) ||
		    (project && !strstr(type, "Project")) || (domain && !strstr(type, "Domain")))
			continue;
		json_t *roles = NULL, *r;
		size_t j;
		/* effective: the roles implied by the assigned one too. */
		if (effective && !strncmp(type, "User", 4))
			identity_db__effective_roles(id->db, actor, tgt, !strcmp(tgt, "system"), &roles, NULL);
		if (!roles)
			roles = json_pack("[{s:O}]", "id", json_object_get(row, "role_id"));
		json_array_foreach(roles, j, r) {
			const char *rid = json_string_value(json_object_get(r, "id"));
			if (role && strcmp(role, rid))
				continue;
			json_array_append_new(list, format(id, type, actor, tgt, rid, names));
		}
		json_decref(roles);
	}
	json_decref(rows);
	*out = list;
	return 0;
}

/* The enabled projects or domains a user has a role on. */
static int targets_of(struct identity *id, const char *user_id, enum identity_kind kind,
		      json_t **out, struct st_err *err)
{
	json_t *rows, *row;
	const char *type = kind == IDENTITY_PROJECT ? ASSIGN_USER_PROJECT : ASSIGN_USER_DOMAIN;
	if (identity_db__assignments(id->db, type, user_id, NULL, NULL, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	const char *last = "";
	size_t i;
	json_array_foreach(rows, i, row) {
		const char *tgt = json_string_value(json_object_get(row, "target_id"));
		json_t *obj;
		if (!strcmp(tgt, last) || identity_db__get(id->db, kind, tgt, &obj, NULL) < 0)
			continue; /* rows come sorted by target within the user */
		last = tgt;
		if (json_is_true(json_object_get(obj, "enabled")))
			json_array_append_new(list, obj);
		else
			json_decref(obj);
	}
	json_decref(rows);
	*out = list;
	return 0;
}

int identity_ops__auth_targets(struct identity *id, const struct identity_caller *c,
			       enum identity_kind kind, json_t **out, struct st_err *err)
{
	return targets_of(id, c->token.user_id, kind, out, err);
}

int identity_ops__user_projects(struct identity *id, const struct identity_caller *c,
				const char *user_id, json_t **out, struct st_err *err)
{
	if (!c->admin && strcmp(user_id, c->token.user_id))
		return err__fail_class(err, EPERM,
				       "You are not authorized to perform the requested action.");
	json_t *user;
	if (identity_db__get(id->db, IDENTITY_USER, user_id, &user, err) < 0)
		return -1;
	json_decref(user);
	return targets_of(id, user_id, IDENTITY_PROJECT, out, err);
}
