/* The identity service's logic, and what other services use of it: tokens
 * (issue, validate, revoke), the caller's roles, the catalog, bootstrap.
 * Errors carry the HTTP meaning in errnum: EINVAL 400, EACCES 401 (the
 * message is safe to show), EPERM 403, ENOENT 404, EEXIST 409. */
#ifndef STRATA_CLOUD_IDENTITY_H
#define STRATA_CLOUD_IDENTITY_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/identity/fernet_keys.h"
#include "cloud/identity/token.h"
#include "cloud/policy/policy.h"

#define IDENTITY_DEFAULT_TTL 3600
#define IDENTITY_DEFAULT_LOCKOUT 10
#define IDENTITY_DEFAULT_DOMAIN "default"

struct identity {
	struct db *db;
	char key_dir[4096];
	int64_t token_ttl;       /* seconds */
	int lockout_failures;    /* failed logins that disable a user; 0 never */
	/* The key repository, reloaded when the directory changes (a rotation
	 * renames files in it). */
	pthread_mutex_t keys_lock;
	struct fernet_keys keys;
	struct timespec keys_mtime;
	bool keys_settled; /* keys_mtime was >= 2 s old when last looked at */
	/* Keystone's default rules (identity__policy_rules), made by
	 * identity__init; the daemon loads an operator's file into it and
	 * other services add their own defaults to it. */
	struct policy *policy;
};

/* Keystone 22's default identity policy (policy_rules.c). */
extern const struct policy_rule identity__policy_rules[];
extern const size_t identity__n_policy_rules;

#define IDENTITY_ROLES_MAX 16

/* Who asks: a validated token, its effective role names and the domains
 * its user and project belong to (what a policy check reads). */
struct identity_caller {
	struct token token;
	char user_domain_id[TOKEN_ID_MAX + 1];
	char project_domain_id[TOKEN_ID_MAX + 1];
	char roles[IDENTITY_ROLES_MAX][TOKEN_ID_MAX + 1];
	size_t n_roles;
	bool admin;  /* has the admin role in its scope */
	bool reader; /* has any role in its scope (reader is implied by all) */
	bool app_cred_unrestricted; /* TOKEN_APP_CRED: may manage credentials */
};

/* Validates an X-Auth-Token and fills the caller (EACCES without a valid
 * one). */
int identity__caller(struct identity *id, const char *auth_token, struct identity_caller *out,
		     struct st_err *err);
/* The caller as oslo.policy's credentials: user_id, user_domain_id,
 * project_id, project_domain_id, domain_id, system_scope, roles and
 * Keystone's "token" ({"user", "project", "domain", "system"}). */
json_t *identity__credentials(const struct identity_caller *c);
/* policy__enforce(id->policy, rule, the caller's credentials, target):
 * what every service calls before it acts (EPERM 403). */
int identity__authorize(struct identity *id, const struct identity_caller *c, const char *rule,
			json_t *target, struct st_err *err);

/* state_dir holds fernet-keys/ (created with a primary and a staged key). */
int identity__init(struct identity *id, struct db *db, const char *state_dir, struct st_err *err);
void identity__fini(struct identity *id);

struct identity_bootstrap {
	const char *admin_password;
	const char *public_url; /* the cloud's base URL; identity is at URL/identity */
	const char *region;     /* RegionOne when NULL */
};

/* What keystone-manage bootstrap does, idempotently: the Default domain,
 * the admin project and user (password set again), roles admin > member >
 * reader (implied), admin on the admin project and on the system, the
 * region, and the catalog: identity (/identity) and compute (/compute/v2.1),
 * each with its three endpoints. */
int identity__bootstrap(struct identity *id, const struct identity_bootstrap *b,
			struct st_err *err);

/* POST /v3/auth/tokens: auth is the request's "auth" object. */
int identity__authenticate(struct identity *id, json_t *auth, struct token *out,
			   struct st_err *err);
int identity__issue(struct identity *id, const struct token *t, char **text, struct st_err *err);
/* A token that decrypts, has not expired, is not revoked, and whose user,
 * project or domain still exist and are enabled. */
int identity__validate(struct identity *id, const char *text, struct token *out,
		       struct st_err *err);
int identity__revoke(struct identity *id, const struct token *t, struct st_err *err);

/* POST /v3/users/{user_id}/password: user is {"original_password",
 * "password"}; the original must be right (EACCES 401). The user's tokens
 * issued before are revoked. */
int identity__change_password(struct identity *id, const char *user_id, json_t *user,
			      struct st_err *err);

/* Keystone's {"token": {...}} for a validated token (catalog optional). */
int identity__token_body(struct identity *id, const struct token *t, int with_catalog,
			 json_t **out, struct st_err *err);
/* The token's effective roles, [{"id","name"}] (empty when unscoped). */
int identity__token_roles(struct identity *id, const struct token *t, json_t **out,
			  struct st_err *err);

/* ISO 8601 as Keystone writes it: 2026-12-07T08:00:00.000000Z */
void identity__isotime(int64_t t, char out[32]);

#endif
