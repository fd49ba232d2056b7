/* The identity service's logic, and what other services use of it: tokens
 * (issue, validate, revoke), the caller's roles, the catalog, bootstrap.
 * Errors carry the HTTP meaning in errnum: EINVAL 400, EACCES 401 (the
 * message is safe to show), EPERM 403, ENOENT 404, EEXIST 409. */
#ifndef STRATA_CLOUD_IDENTITY_H
#define STRATA_CLOUD_IDENTITY_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/identity/fernet_keys.h"
#include "cloud/identity/token.h"

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
};

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

/* Keystone's {"token": {...}} for a validated token (catalog optional). */
int identity__token_body(struct identity *id, const struct token *t, int with_catalog,
			 json_t **out, struct st_err *err);
/* The token's effective roles, [{"id","name"}] (empty when unscoped). */
int identity__token_roles(struct identity *id, const struct token *t, json_t **out,
			  struct st_err *err);

/* ISO 8601 as Keystone writes it: 2026-12-07T08:00:00.000000Z */
void identity__isotime(int64_t t, char out[32]);

#endif
