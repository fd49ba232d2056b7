/* The identity service's tables. Rows travel as jansson objects shaped like
 * Keystone's API (booleans as JSON booleans, absent parents as null); the
 * API layer adds links. Errors follow db.h: ENOENT for a missing row,
 * EEXIST for a duplicate name, EINVAL for a dangling reference. */
#ifndef STRATA_CLOUD_IDENTITY_DB_H
#define STRATA_CLOUD_IDENTITY_DB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "cloud/db/db.h"

extern const struct db_migration identity_db__migrations[];
extern const size_t identity_db__n_migrations;

enum identity_kind {
	IDENTITY_DOMAIN,
	IDENTITY_PROJECT,
	IDENTITY_USER,
	IDENTITY_GROUP,
	IDENTITY_ROLE,
	IDENTITY_REGION,
	IDENTITY_SERVICE,
	IDENTITY_ENDPOINT,
	IDENTITY_KIND_COUNT,
};

int identity_db__migrate(struct db *db, struct st_err *err);
/* A new id: 32 lowercase hex digits of a random (version 4) UUID. */
int identity_db__new_id(char out[33], struct st_err *err);

/* Inserts obj's known columns (obj must carry "id"). A user's
 * "password_hash" is written but never read back by get/list. */
int identity_db__insert(struct db *db, enum identity_kind kind, json_t *obj, struct st_err *err);
int identity_db__get(struct db *db, enum identity_kind kind, const char *id, json_t **out,
		     struct st_err *err);
/* Rows where each filter column equals its value (filters: NULL-terminated
 * pairs "column", "value"; columns must be the kind's own), ordered by id. */
int identity_db__list(struct db *db, enum identity_kind kind, const char *const *filters,
		      json_t **out, struct st_err *err);
/* One page of a list in id order (?marker, ?limit): the rows after marker
 * (NULL: from the start), at most limit (0: all); truncated: more follow. */
struct identity_page {
	const char *marker;
	size_t limit;
	bool truncated;
};
/* identity_db__list's rows, one page of them (page may be NULL: all), cut
 * by the database (a keyset "id > marker" and LIMIT), not after it. */
int identity_db__list_page(struct db *db, enum identity_kind kind, const char *const *filters,
			   struct identity_page *page, json_t **out, struct st_err *err);
/* Sets the columns changes names (except id). */
int identity_db__update(struct db *db, enum identity_kind kind, const char *id, json_t *changes,
			struct st_err *err);
int identity_db__delete(struct db *db, enum identity_kind kind, const char *id, struct st_err *err);

/* A user's stored password hash and failed-login count. */
int identity_db__user_secret(struct db *db, const char *user_id, char **hash, int *failed_logins,
			     struct st_err *err);
int identity_db__user_failed_logins(struct db *db, const char *user_id, int count,
				    struct st_err *err);

/* Assignment types (Keystone's). */
#define ASSIGN_USER_PROJECT "UserProject"
#define ASSIGN_USER_DOMAIN "UserDomain"
#define ASSIGN_USER_SYSTEM "UserSystem"
#define ASSIGN_GROUP_PROJECT "GroupProject"
#define ASSIGN_GROUP_DOMAIN "GroupDomain"
#define ASSIGN_GROUP_SYSTEM "GroupSystem"

/* Idempotent: an existing assignment is not an error. */
int identity_db__assign(struct db *db, const char *type, const char *actor, const char *target,
			const char *role, struct st_err *err);
int identity_db__unassign(struct db *db, const char *type, const char *actor, const char *target,
			  const char *role, struct st_err *err);
/* [{"type", "actor_id", "target_id", "role_id"}] matching the non-NULL arguments. */
int identity_db__assignments(struct db *db, const char *type, const char *actor,
			     const char *target, const char *role, json_t **out, struct st_err *err);
/* The effective roles of a user on a target ("system" for the system):
 * direct and through groups, with implied roles followed; [{"id","name"}]. */
int identity_db__effective_roles(struct db *db, const char *user_id, const char *target,
				 int system, json_t **out, struct st_err *err);
int identity_db__imply(struct db *db, const char *prior, const char *implied, struct st_err *err);

/* Application credentials (app_creds.c) matching the non-NULL arguments:
 * [{"id", "name", "user_id", "project_id", "secret_hash", "description",
 * "expires_at" (seconds or null), "unrestricted", "roles": [ids]}]. */
int identity_db__app_creds(struct db *db, const char *user_id, const char *ac_id,
			   const char *name, json_t **out, struct st_err *err);
/* Deletes the user's credentials on the project (the user lost a role there). */
int identity_db__app_creds_drop(struct db *db, const char *user_id, const char *project_id,
				struct st_err *err);

/* Group membership: 'P' adds (idempotent), 'D' removes, 'H' checks (ENOENT
 * when not a member). */
int identity_db__group_member(struct db *db, char op, const char *group_id, const char *user_id,
			      struct st_err *err);
/* The ids of a group's members. */
int identity_db__group_user_ids(struct db *db, const char *group_id, json_t **out,
				struct st_err *err);
/* A role and the roles it implies, transitively: [ids], role_id first. */
int identity_db__implied_closure(struct db *db, const char *role_id, json_t **out,
				 struct st_err *err);

/* Keystone's catalog: [{"id","type","name","endpoints":[{"id","interface",
 * "region","region_id","url"}]}] of enabled services and endpoints. */
int identity_db__catalog(struct db *db, json_t **out, struct st_err *err);

int identity_db__revoke(struct db *db, const char *audit_id, const char *user_id,
			const char *project_id, long long issued_before, struct st_err *err);
/* 1 when an event revokes a token with these fields, 0 when none does. */
int identity_db__is_revoked(struct db *db, const char *audit_id, const char *user_id,
			    const char *project_id, long long issued_at, struct st_err *err);

#endif
