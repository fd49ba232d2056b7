/* Keystone v3's collections (domains, projects, users, groups, roles,
 * regions, services, endpoints), role grants and role assignments: each
 * handler parses the request and calls one identity_ops__* operation. */
#include "cloud/identity/routes_identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "cloud/identity/identity_db.h"

static enum identity_kind route_kind(const struct http_request *r)
{
	return *(const enum identity_kind *)http_request__route(r)->data;
}

static const char *query(void *ctx, const char *key)
{
	return http_request__query(ctx, key);
}

/* {"project": obj} with its links. */
static json_t *member_body(const struct http_request *r, enum identity_kind kind, json_t *obj)
{
	json_t *one = json_pack("[O]", obj);
	routes_identity__links(r, identity_ops__collection(kind), one);
	json_t *body = json_pack("{s:O}", identity_ops__member(kind), json_array_get(one, 0));
	json_decref(one);
	json_decref(obj);
	return body;
}

static int no_body(struct http_reply *rp)
{
	http_reply__text(rp, 204, "application/json", strdup(""));
	return 0;
}

static int list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = route_kind(r);
	struct identity_caller c;
	struct identity_page page;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 || routes_identity__page(r, &page, err) < 0 ||
	    identity_ops__list(routes_identity__id(r), &c, kind, query, r, &page, &out, err) < 0)
		return -1;
	return routes_identity__reply_page(r, rp, identity_ops__collection(kind), out, &page,
					   identity_ops__filters(kind));
}

static int create(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = route_kind(r);
	struct identity_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    identity_ops__create(routes_identity__id(r), &c, kind, body, &out, err) < 0)
		return -1;
	http_reply__json(rp, 201, member_body(r, kind, out));
	return 0;
}

static int get(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = route_kind(r);
	struct identity_caller c;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__get(routes_identity__id(r), &c, kind, http_request__capture(r, "id"), &out,
			      err) < 0)
		return -1;
	http_reply__json(rp, 200, member_body(r, kind, out));
	return 0;
}

static int update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = route_kind(r);
	struct identity_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    identity_ops__update(routes_identity__id(r), &c, kind, http_request__capture(r, "id"), body,
				 &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, member_body(r, kind, out));
	return 0;
}

static int delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__delete(routes_identity__id(r), &c, route_kind(r),
				 http_request__capture(r, "id"), err) < 0)
		return -1;
	return no_body(rp);
}

/* --- grants: /v3/{projects|domains}/{target}/{users|groups}/{actor}/roles/{role} --- */

struct grant_route {
	const char *target_kind, *actor_kind;
};

static int grant(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const struct grant_route *g = http_request__route(r)->data;
	const char *method = http_request__method(r);
	char op = !strcmp(method, "PUT") ? 'P' : !strcmp(method, "DELETE") ? 'D' : 'H';
	const char *target = http_request__capture(r, "target");
	struct identity_caller c;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__role_grant(routes_identity__id(r), &c, op, g->target_kind,
				     target ? target : "system", g->actor_kind,
				     http_request__capture(r, "actor"), http_request__capture(r, "role"),
				     err) < 0)
		return -1;
	return no_body(rp);
}

static int role_assignments(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__role_assignments(routes_identity__id(r), &c, query, r, &out, err) < 0)
		return -1;
	char base[320], self[512];
	routes_identity__base(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v3/role_assignments", base);
	http_reply__json(rp, 200, json_pack("{s:o,s:{s:s,s:n,s:n}}", "role_assignments", out, "links",
					    "self", self, "previous", "next"));
	return 0;
}

static int user_projects(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity_caller c;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__user_projects(routes_identity__id(r), &c, http_request__capture(r, "id"),
					&out, err) < 0)
		return -1;
	return routes_identity__reply_list(r, rp, "projects", out, err);
}

/* --- group members, a user's groups, password change, grant lists --- */

static int group_membership(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const char *method = http_request__method(r);
	char op = !strcmp(method, "PUT") ? 'P' : !strcmp(method, "DELETE") ? 'D' : 'H';
	struct identity_caller c;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__group_member(routes_identity__id(r), &c, op, http_request__capture(r, "id"),
				       http_request__capture(r, "user"), err) < 0)
		return -1;
	return no_body(rp);
}

/* GET /v3/groups/{id}/users and /v3/users/{id}/groups */
static int memberships(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	enum identity_kind kind = route_kind(r);
	struct identity *id = routes_identity__id(r);
	struct identity_caller c;
	json_t *out;
	const char *oid = http_request__capture(r, "id");
	if (routes_identity__caller(r, &c, err) < 0 ||
	    (kind == IDENTITY_USER ? identity_ops__group_users(id, &c, oid, &out, err)
				   : identity_ops__user_groups(id, &c, oid, &out, err)) < 0)
		return -1;
	return routes_identity__reply_list(r, rp, identity_ops__collection(kind), out, err);
}

/* Keystone's is unauthenticated: the original password is the check. */
static int change_password(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	if (http_request__body_json(r, &body, err) < 0 ||
	    identity__change_password(routes_identity__id(r), http_request__capture(r, "id"),
				      json_object_get(body, "user"), err) < 0)
		return -1;
	return no_body(rp);
}

static int grant_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const struct grant_route *g = http_request__route(r)->data;
	const char *target = http_request__capture(r, "target");
	struct identity_caller c;
	json_t *out;
	if (routes_identity__caller(r, &c, err) < 0 ||
	    identity_ops__grants(routes_identity__id(r), &c, g->target_kind, target ? target : "system",
				 g->actor_kind, http_request__capture(r, "actor"), &out, err) < 0)
		return -1;
	return routes_identity__reply_list(r, rp, "roles", out, err);
}

/* --- /v3/users/{id}/application_credentials[/{ac}] --- */

static json_t *app_cred_links(const struct http_request *r, json_t *obj)
{
	char base[320], self[640];
	routes_identity__base(r, base, sizeof(base));
	snprintf(self, sizeof(self), "%s/v3/users/%s/application_credentials/%s", base,
		 http_request__capture(r, "id"), json_string_value(json_object_get(obj, "id")));
	json_object_set_new(obj, "links", json_pack("{s:s}", "self", self));
	return obj;
}

static int app_creds(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct identity *id = routes_identity__id(r);
	const char *method = http_request__method(r), *uid = http_request__capture(r, "id");
	const char *ac = http_request__capture(r, "ac");
	struct identity_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out = NULL;
	if (routes_identity__caller(r, &c, err) < 0)
		return -1;
	if (!strcmp(method, "DELETE"))
		return identity_ops__app_cred_delete(id, &c, uid, ac, err) < 0 ? -1 : no_body(rp);
	if (!strcmp(method, "POST")) {
		if (http_request__body_json(r, &body, err) < 0 ||
		    identity_ops__app_cred_create(id, &c, uid, body, &out, err) < 0)
			return -1;
	} else if (ac) {
		if (identity_ops__app_cred_get(id, &c, uid, ac, &out, err) < 0)
			return -1;
	} else {
		if (identity_ops__app_cred_list(id, &c, uid, http_request__query(r, "name"), &out, err) < 0)
			return -1;
		size_t i;
		json_t *obj;
		json_array_foreach(out, i, obj)
			app_cred_links(r, obj);
		char base[320], self[640];
		routes_identity__base(r, base, sizeof(base));
		snprintf(self, sizeof(self), "%s/v3/users/%s/application_credentials", base, uid);
		http_reply__json(rp, 200, json_pack("{s:o,s:{s:s,s:n,s:n}}", "application_credentials", out,
						    "links", "self", self, "previous", "next"));
		return 0;
	}
	http_reply__json(rp, ac ? 200 : 201,
			 json_pack("{s:o}", "application_credential", app_cred_links(r, out)));
	return 0;
}

static const enum identity_kind k_domain = IDENTITY_DOMAIN, k_project = IDENTITY_PROJECT,
				k_user = IDENTITY_USER, k_group = IDENTITY_GROUP, k_role = IDENTITY_ROLE,
				k_region = IDENTITY_REGION, k_service = IDENTITY_SERVICE,
				k_endpoint = IDENTITY_ENDPOINT;

#define CRUD(coll, kind)                                                         \
	{"GET", "/identity/v3/" coll, list, NULL, &kind},                        \
	{"POST", "/identity/v3/" coll, create, NULL, &kind},                     \
	{"GET", "/identity/v3/" coll "/{id}", get, NULL, &kind},                 \
	{"PATCH", "/identity/v3/" coll "/{id}", update, NULL, &kind},            \
	{"DELETE", "/identity/v3/" coll "/{id}", delete, NULL, &kind}

static const struct grant_route g_pu = {"projects", "users"}, g_pg = {"projects", "groups"},
				g_du = {"domains", "users"}, g_dg = {"domains", "groups"},
				g_su = {"system", "users"}, g_sg = {"system", "groups"};

#define GRANT(prefix, actors, g)                                                 \
	{"PUT", "/identity/v3/" prefix "/" actors "/{actor}/roles/{role}", grant, NULL, &g},    \
	{"DELETE", "/identity/v3/" prefix "/" actors "/{actor}/roles/{role}", grant, NULL, &g}, \
	{"HEAD", "/identity/v3/" prefix "/" actors "/{actor}/roles/{role}", grant, NULL, &g},   \
	{"GET", "/identity/v3/" prefix "/" actors "/{actor}/roles", grant_list, NULL, &g}

static const struct http_route routes[] = {
	CRUD("domains", k_domain),
	CRUD("projects", k_project),
	CRUD("users", k_user),
	CRUD("groups", k_group),
	CRUD("roles", k_role),
	CRUD("regions", k_region),
	CRUD("services", k_service),
	CRUD("endpoints", k_endpoint),
	GRANT("projects/{target}", "users", g_pu),
	GRANT("projects/{target}", "groups", g_pg),
	GRANT("domains/{target}", "users", g_du),
	GRANT("domains/{target}", "groups", g_dg),
	GRANT("system", "users", g_su),
	GRANT("system", "groups", g_sg),
	{"GET", "/identity/v3/role_assignments", role_assignments, NULL, NULL},
	{"GET", "/identity/v3/users/{id}/projects", user_projects, NULL, NULL},
	{"PUT", "/identity/v3/groups/{id}/users/{user}", group_membership, NULL, NULL},
	{"HEAD", "/identity/v3/groups/{id}/users/{user}", group_membership, NULL, NULL},
	{"DELETE", "/identity/v3/groups/{id}/users/{user}", group_membership, NULL, NULL},
	{"GET", "/identity/v3/groups/{id}/users", memberships, NULL, &k_user},
	{"GET", "/identity/v3/users/{id}/groups", memberships, NULL, &k_group},
	{"POST", "/identity/v3/users/{id}/password", change_password, NULL, NULL},
	{"GET", "/identity/v3/users/{id}/application_credentials", app_creds, NULL, NULL},
	{"POST", "/identity/v3/users/{id}/application_credentials", app_creds, NULL, NULL},
	{"GET", "/identity/v3/users/{id}/application_credentials/{ac}", app_creds, NULL, NULL},
	{"DELETE", "/identity/v3/users/{id}/application_credentials/{ac}", app_creds, NULL, NULL},
};

const struct http_route *routes_identity__crud(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
