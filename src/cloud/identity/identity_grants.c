/* Role grants, GET /v3/role_assignments and /v3/auth/{projects,domains}. */
#include "cloud/identity/identity_ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* target[key] = the row of kind oid; the first missing one goes to missing. */
static void add_row(struct identity *id, json_t *target, const char *key, enum identity_kind kind,
		    const char *oid, struct st_err *missing)
{
	json_t *row;
	struct st_err e = {0};
	if (identity_db__get(id->db, kind, oid, &row, &e) < 0) {
		if (!missing->errnum)
			*missing = e;
		return;
	}
	if (kind == IDENTITY_ROLE)
		json_object_set_new(row, "domain_id", json_null());
	json_object_set_new(target, key, row);
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

/* The grant's policy rule on Keystone's target (op 'P', 'D', 'H' or 'L'
 * list; role NULL for 'L'), then 404 for what is missing. *type is the
 * assignment type, *target "system" for the system. */
static int grant_allowed(struct identity *id, const struct identity_caller *c, char op,
			 const char *target_kind, const char **target, const char *actor_kind,
			 const char *actor, const char *role, const char **type, struct st_err *err)
{
	bool group = !strcmp(actor_kind, "groups");
	*type = assignment_type(target_kind, group);
	if (!*type || (!group && strcmp(actor_kind, "users")))
		return err__fail_class(err, ENOENT, "Not found.");
	bool system = !strcmp(target_kind, "system");
	if (system)
		*target = "system";
	/* Keystone's grant target: the project or domain, the user or group,
	 * the role; a caller the rule refuses does not learn what exists. */
	json_t *t = json_object();
	struct st_err missing = {0};
	bool on_project = !strcmp(target_kind, "projects");
	if (!system)
		add_row(id, t, on_project ? "project" : "domain",
			on_project ? IDENTITY_PROJECT : IDENTITY_DOMAIN, *target, &missing);
	add_row(id, t, group ? "group" : "user", group ? IDENTITY_GROUP : IDENTITY_USER, actor, &missing);
	if (role)
		add_row(id, t, "role", IDENTITY_ROLE, role, &missing);
	const char *verb = op == 'P' ? "create" : op == 'D' ? "revoke" : op == 'L' ? "list" : "check";
	char rule[64];
	if (system)
		snprintf(rule, sizeof(rule), "identity:%s_system_grant%s_for_%s", verb,
			 op == 'L' ? "s" : "", group ? "group" : "user");
	else
		snprintf(rule, sizeof(rule), "identity:%s_grant%s", verb, op == 'L' ? "s" : "");
	json_t *policy_target = json_pack("{s:o}", "target", t);
	int rc = identity__authorize(id, c, rule, policy_target, err);
	json_decref(policy_target);
	if (rc < 0)
		return -1;
	if (missing.errnum) {
		if (err)
			*err = missing;
		return -1;
	}
	return 0;
}

int identity_ops__role_grant(struct identity *id, const struct identity_caller *c, char op,
			     const char *target_kind, const char *target, const char *actor_kind,
			     const char *actor, const char *role, struct st_err *err)
{
	const char *type;
	if (grant_allowed(id, c, op, target_kind, &target, actor_kind, actor, role, &type, err) < 0)
		return -1;
	if (op == 'P')
		return identity_db__assign(id->db, type, actor, target, role, err);
	/* Keystone drops the user's application credentials on a project
	 * when a role of theirs there goes. */
	if (op == 'D')
		return identity_db__unassign(id->db, type, actor, target, role, err) < 0 ||
				       (!strcmp(type, ASSIGN_USER_PROJECT) &&
					identity_db__app_creds_drop(id->db, actor, target, err) < 0)
			       ? -1
			       : 0;
	json_t *list;
	if (identity_db__assignments(id->db, type, actor, target, role, &list, err) < 0)
		return -1;
	size_t n = json_array_size(list);
	json_decref(list);
	return n ? 0 : err__fail_class(err, ENOENT, "Could not find role assignment.");
}

int identity_ops__grants(struct identity *id, const struct identity_caller *c,
			 const char *target_kind, const char *target, const char *actor_kind,
			 const char *actor, json_t **out, struct st_err *err)
{
	const char *type;
	json_t *rows, *row;
	if (grant_allowed(id, c, 'L', target_kind, &target, actor_kind, actor, NULL, &type, err) < 0 ||
	    identity_db__assignments(id->db, type, actor, target, NULL, &rows, err) < 0)
		return -1;
	*out = json_array();
	size_t i;
	json_array_foreach(rows, i, row) {
		json_t *role;
		if (identity_db__get(id->db, IDENTITY_ROLE,
				     json_string_value(json_object_get(row, "role_id")), &role, NULL) < 0)
			continue;
		identity_ops__decorate(IDENTITY_ROLE, role);
		json_array_append_new(*out, role);
	}
	json_decref(rows);
	return 0;
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

/* Whether an assignment's target is the domain or one of its projects. */
static bool in_domain(struct identity *id, const char *type, const char *tgt, const char *dom)
{
	if (strstr(type, "Domain"))
		return !strcmp(tgt, dom);
	json_t *row;
	if (!strstr(type, "Project") || identity_db__get(id->db, IDENTITY_PROJECT, tgt, &row, NULL) < 0)
		return false;
	bool ok = !strcmp(json_string_value(json_object_get(row, "domain_id")), dom);
	json_decref(row);
	return ok;
}

static bool truthy(const char *v)
{
	return v && (!*v || !strcasecmp(v, "true") || !strcmp(v, "1"));
}

/* The assignments being listed, without duplicates. */
struct listing {
	struct identity *id;
	json_t *list, *seen;
	const char *role; /* the role.id filter */
	bool names;
};

static void emit(struct listing *l, const char *type, const char *actor, const char *target,
		 const char *role)
{
	char key[256];
	snprintf(key, sizeof(key), "%s/%s/%s/%s", type, actor, target, role);
	if ((l->role && strcmp(l->role, role)) || json_object_get(l->seen, key))
		return;
	json_object_set_new(l->seen, key, json_true());
	json_array_append_new(l->list, format(l->id, type, actor, target, role, l->names));
}

/* Keystone's effective assignments of one row: a group's are its members'
 * (as user assignments), a role brings the roles it implies. */
static int expand(struct listing *l, const char *type, const char *actor, const char *target,
		  const char *role, const char *user, struct st_err *err)
{
	json_t *actors, *roles, *a, *r;
	char user_type[32];
	bool is_group = !strncmp(type, "Group", 5);
	snprintf(user_type, sizeof(user_type), "User%s", is_group ? type + 5 : type + 4);
	if (is_group ? identity_db__group_user_ids(l->id->db, actor, &actors, err) < 0
		     : !(actors = json_pack("[s]", actor)))
		return -1;
	if (identity_db__implied_closure(l->id->db, role, &roles, err) < 0) {
		json_decref(actors);
		return -1;
	}
	size_t i, j;
	json_array_foreach(actors, i, a) {
		if (user && strcmp(user, json_string_value(a)))
			continue;
		json_array_foreach(roles, j, r)
			emit(l, user_type, json_string_value(a), target, json_string_value(r));
	}
	json_decref(actors);
	json_decref(roles);
	return 0;
}

int identity_ops__role_assignments(struct identity *id, const struct identity_caller *c,
				   identity_query_fn query, void *qctx, json_t **out,
				   struct st_err *err)
{
	const char *user = query(qctx, "user.id"), *group = query(qctx, "group.id");
	const char *project = query(qctx, "scope.project.id"), *domain = query(qctx, "scope.domain.id");
	const char *role = query(qctx, "role.id"), *system = query(qctx, "scope.system");
	bool names = truthy(query(qctx, "include_names")), effective = truthy(query(qctx, "effective"));
	/* Keystone's target: what the filters name, and a domain-scoped
	 * token's domain (its list holds that domain's assignments only). */
	const char *dom = c->token.scope == TOKEN_DOMAIN ? c->token.domain_id : NULL;
	json_t *t = json_object();
	struct st_err ignored = {0};
	if (project)
		add_row(id, t, "project", IDENTITY_PROJECT, project, &ignored);
	if (domain)
		add_row(id, t, "domain", IDENTITY_DOMAIN, domain, &ignored);
	if (user)
		add_row(id, t, "user", IDENTITY_USER, user, &ignored);
	if (group)
		add_row(id, t, "group", IDENTITY_GROUP, group, &ignored);
	if (dom)
		json_object_set_new(t, "domain_id", json_string(dom));
	json_t *policy_target = json_pack("{s:o}", "target", t);
	int rc = identity__authorize(id, c, "identity:list_role_assignments", policy_target, err);
	json_decref(policy_target);
	if (rc < 0)
		return -1;
	const char *target = project ? project : domain ? domain : system ? "system" : NULL;
	json_t *rows, *row;
	/* effective: every actor's rows, the groups' ones become their members' */
	const char *actor = effective ? NULL : user ? user : group;
	if (identity_db__assignments(id->db, NULL, actor, target, NULL, &rows, err) < 0)
		return -1;
	struct listing l = {id, json_array(), json_object(), role, names};
	size_t i;
	json_array_foreach(rows, i, row) {
		const char *type = json_string_value(json_object_get(row, "type"));
		const char *who = json_string_value(json_object_get(row, "actor_id"));
		const char *tgt = json_string_value(json_object_get(row, "target_id"));
		const char *rid = json_string_value(json_object_get(row, "role_id"));
		bool is_group = !strncmp(type, "Group", 5);
		if ((project && !strstr(type, "Project")) || (domain && !strstr(type, "Domain")) ||
		    (!project && !domain && system && !strstr(type, "System")) ||
		    (dom && !in_domain(id, type, tgt, dom)) || (group && (!is_group || strcmp(who, group))))
			continue;
		if (!effective) {
			if (!(user && is_group))
				emit(&l, type, who, tgt, rid);
			continue;
		}
		if (expand(&l, type, who, tgt, rid, user, err) < 0) {
			json_decref(rows);
			json_decref(l.list);
			json_decref(l.seen);
			return -1;
		}
	}
	json_decref(rows);
	json_decref(l.seen);
	*out = l.list;
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
		identity_ops__decorate(kind, obj);
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
	if (identity__authorize(id, c, kind == IDENTITY_PROJECT ? "identity:get_auth_projects"
								 : "identity:get_auth_domains",
				NULL, err) < 0)
		return -1;
	return targets_of(id, c->token.user_id, kind, out, err);
}

int identity_ops__user_projects(struct identity *id, const struct identity_caller *c,
				const char *user_id, json_t **out, struct st_err *err)
{
	json_t *t = json_object();
	struct st_err missing = {0};
	add_row(id, t, "user", IDENTITY_USER, user_id, &missing);
	json_t *policy_target = json_pack("{s:o,s:s}", "target", t, "user_id", user_id);
	int rc = identity__authorize(id, c, "identity:list_user_projects", policy_target, err);
	json_decref(policy_target);
	if (rc < 0)
		return -1;
	if (missing.errnum) {
		if (err)
			*err = missing;
		return -1;
	}
	return targets_of(id, user_id, IDENTITY_PROJECT, out, err);
}
