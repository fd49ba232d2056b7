/* The identity API's operations, JSON in and JSON out, each checked against
 * the caller's token first: what the HTTP handlers (identity/api.c) call
 * once they have parsed a request. Objects come out as Keystone shows them,
 * without "links" (the handlers know the URL). errnum as in identity.h. */
#ifndef STRATA_CLOUD_IDENTITY_OPS_H
#define STRATA_CLOUD_IDENTITY_OPS_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/identity/identity.h"
#include "cloud/identity/identity_db.h"

/* A query parameter of the request (NULL when absent). */
typedef const char *(*identity_query_fn)(void *ctx, const char *key);

/* kind: DOMAIN, PROJECT, USER, GROUP, ROLE, REGION, SERVICE or ENDPOINT.
 * body is the request's whole JSON ({"project": {...}}); *out the object. */
int identity_ops__create(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, json_t *body, json_t **out, struct st_err *err);
int identity_ops__get(struct identity *id, const struct identity_caller *c,
		      enum identity_kind kind, const char *oid, json_t **out, struct st_err *err);
/* The filtered list, as a JSON array; page (may be NULL: all) cuts it in
 * the database and says whether more follow. */
int identity_ops__list(struct identity *id, const struct identity_caller *c,
		       enum identity_kind kind, identity_query_fn query, void *qctx,
		       struct identity_page *page, json_t **out, struct st_err *err);
/* The list's filters (query parameters), NULL-terminated. */
const char *const *identity_ops__filters(enum identity_kind kind);
int identity_ops__update(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, const char *oid, json_t *body, json_t **out,
			 struct st_err *err);
int identity_ops__delete(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, const char *oid, struct st_err *err);

/* The collection's and one member's JSON names: "projects", "project". */
const char *identity_ops__collection(enum identity_kind kind);
const char *identity_ops__member(enum identity_kind kind);

/* PUT/DELETE/HEAD /v3/{projects|domains}/{target}/{users|groups}/{actor}/roles/{role}
 * and /v3/system/{users|groups}/{actor}/roles/{role} (target "system").
 * target_kind: "projects", "domains" or "system"; actor_kind "users" or "groups".
 * op: 'P' grant, 'D' revoke, 'H' check. */
int identity_ops__role_grant(struct identity *id, const struct identity_caller *c, char op,
			     const char *target_kind, const char *target, const char *actor_kind,
			     const char *actor, const char *role, struct st_err *err);
/* GET /v3/role_assignments with Keystone's filters (user.id, group.id,
 * role.id, scope.project.id, scope.domain.id, scope.system), effective and
 * include_names. */
int identity_ops__role_assignments(struct identity *id, const struct identity_caller *c,
				   identity_query_fn query, void *qctx, json_t **out,
				   struct st_err *err);
/* GET /v3/auth/projects and /v3/auth/domains: what the token's user has a
 * role on. kind: PROJECT or DOMAIN. */
int identity_ops__auth_targets(struct identity *id, const struct identity_caller *c,
			       enum identity_kind kind, json_t **out, struct st_err *err);
/* GET /v3/users/{user_id}/projects: admins, and the user about themselves. */
int identity_ops__user_projects(struct identity *id, const struct identity_caller *c,
				const char *user_id, json_t **out, struct st_err *err);

/* /v3/users/{user_id}/application_credentials[/{ac_id}] (app_creds.c):
 * create takes {"application_credential": {"name", "description", "secret",
 * "expires_at", "roles": [{"id"} or {"name"}], "unrestricted"}} and shows the
 * secret once; roles default to the token's and must be the user's on the
 * token's project. */
int identity_ops__app_cred_create(struct identity *id, const struct identity_caller *c,
				  const char *user_id, json_t *body, json_t **out, struct st_err *err);
/* name: the ?name= filter or NULL. */
int identity_ops__app_cred_list(struct identity *id, const struct identity_caller *c,
				const char *user_id, const char *name, json_t **out,
				struct st_err *err);
int identity_ops__app_cred_get(struct identity *id, const struct identity_caller *c,
			       const char *user_id, const char *ac_id, json_t **out,
			       struct st_err *err);
int identity_ops__app_cred_delete(struct identity *id, const struct identity_caller *c,
				  const char *user_id, const char *ac_id, struct st_err *err);

/* Keystone's extra fields of an object as the API shows it. */
void identity_ops__decorate(enum identity_kind kind, json_t *obj);

/* PUT ('P'), DELETE ('D') and HEAD ('H') /v3/groups/{g}/users/{u}
 * (group_members.c); the lists /v3/groups/{g}/users and /v3/users/{u}/groups. */
int identity_ops__group_member(struct identity *id, const struct identity_caller *c, char op,
			       const char *group_id, const char *user_id, struct st_err *err);
int identity_ops__group_users(struct identity *id, const struct identity_caller *c,
			      const char *group_id, json_t **out, struct st_err *err);
int identity_ops__user_groups(struct identity *id, const struct identity_caller *c,
			      const char *user_id, json_t **out, struct st_err *err);
/* GET /v3/{projects|domains}/{t}/{users|groups}/{a}/roles: the roles
 * granted directly (identity:list_grants). */
int identity_ops__grants(struct identity *id, const struct identity_caller *c,
			 const char *target_kind, const char *target, const char *actor_kind,
			 const char *actor, json_t **out, struct st_err *err);

#endif
