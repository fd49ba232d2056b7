/* Application credentials (Keystone's /v3/users/{id}/application_credentials):
 * a secret, stored as a password hash, that stands for its user on one
 * project with a subset of the user's roles there until it expires, is
 * deleted, or the user loses the roles. The table and the API operations;
 * authentication with one is auth.c's, its token's roles identity.c's. */
#include "cloud/identity/identity_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/base64.h"
#include "common/cleanup.h"
#include "cloud/identity/password.h"

#define APP_CRED_NAME_MAX 255
#define APP_CRED_DESCRIPTION_MAX 255

/* --- the table --- */

int identity_db__app_creds(struct db *db, const char *user_id, const char *ac_id,
			   const char *name, json_t **out, struct st_err *err)
{
	const char *p[] = {user_id ? user_id : "", user_id ? user_id : "", ac_id ? ac_id : "",
			   ac_id ? ac_id : "", name ? name : "", name ? name : ""};
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT id, name, user_id, project_id, secret_hash, description,"
			  " expires_at, unrestricted FROM application_credential WHERE"
			  " (? = '' OR user_id = ?) AND (? = '' OR id = ?) AND (? = '' OR name = ?)"
			  " ORDER BY id", p, 6, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *exp = db_rows__get(rows, r, 6);
		json_t *ac = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:[]}", "id", db_rows__get(rows, r, 0),
				       "name", db_rows__get(rows, r, 1), "user_id", db_rows__get(rows, r, 2),
				       "project_id", db_rows__get(rows, r, 3), "secret_hash",
				       db_rows__get(rows, r, 4), "description", db_rows__get(rows, r, 5),
				       "expires_at", exp ? json_integer(strtoll(exp, NULL, 10)) : json_null(),
				       "unrestricted", strcmp(db_rows__get(rows, r, 7), "0") != 0, "roles");
		json_array_append_new(list, ac);
		const char *rp[] = {db_rows__get(rows, r, 0)};
		cleanup_rows struct db_rows *roles = NULL;
		if (db__query(db, "SELECT role_id FROM application_credential_role WHERE"
				  " application_credential_id = ? ORDER BY role_id", rp, 1, &roles, err) < 0) {
			json_decref(list);
			return -1;
		}
		for (size_t i = 0; i < roles->nrows; i++)
			json_array_append_new(json_object_get(ac, "roles"), json_string(db_rows__get(roles, i, 0)));
	}
	*out = list;
	return 0;
}

/* ac: id, name, user_id, project_id, secret_hash, description, expires_at
 * (integer or null), unrestricted, roles (ids). One transaction. */
static int insert(struct db *db, json_t *ac, struct st_err *err)
{
	char exp[24] = "", *unrestricted = json_is_true(json_object_get(ac, "unrestricted")) ? "1" : "0";
	json_t *e = json_object_get(ac, "expires_at");
	if (json_is_integer(e))
		snprintf(exp, sizeof(exp), "%lld", (long long)json_integer_value(e));
	const char *p[] = {json_string_value(json_object_get(ac, "id")),
			   json_string_value(json_object_get(ac, "name")),
			   json_string_value(json_object_get(ac, "user_id")),
			   json_string_value(json_object_get(ac, "project_id")),
			   json_string_value(json_object_get(ac, "secret_hash")),
			   json_string_value(json_object_get(ac, "description")), *exp ? exp : NULL,
			   unrestricted};
	if (db__begin(db, err) < 0)
		return -1;
	int rc = db__exec(db, "INSERT INTO application_credential (id, name, user_id, project_id,"
			      " secret_hash, description, expires_at, unrestricted)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, err);
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(ac, "roles"), i, r) {
		const char *rp[] = {p[0], json_string_value(r)};
		if (rc >= 0)
			rc = db__exec(db, "INSERT INTO application_credential_role"
				      " (application_credential_id, role_id) VALUES (?, ?)"
				      " ON CONFLICT DO NOTHING", rp, 2, err);
	}
	if (rc < 0) {
		int errnum = err ? err->errnum : 0;
		db__rollback(db);
		return errnum == EEXIST ? err__fail_class(err, EEXIST, "An application credential named"
							  " %s already exists for this user.", p[1])
					: -1;
	}
	return db__commit(db, err);
}

int identity_db__app_creds_drop(struct db *db, const char *user_id, const char *project_id,
				struct st_err *err)
{
	const char *p[] = {user_id, project_id};
	return db__exec(db, "DELETE FROM application_credential WHERE user_id = ? AND project_id = ?",
			p, 2, err) < 0 ? -1 : 0;
}

/* --- the API --- */

/* Keystone's view: roles with their names, times in ISO 8601, no hash. */
static json_t *view(struct identity *id, json_t *ac)
{
	json_t *out = json_deep_copy(ac), *roles = json_array(), *r;
	size_t i;
	json_object_del(out, "secret_hash");
	json_array_foreach(json_object_get(ac, "roles"), i, r) {
		json_t *row;
		if (identity_db__get(id->db, IDENTITY_ROLE, json_string_value(r), &row, NULL) < 0)
			continue;
		json_array_append_new(roles, json_pack("{s:O,s:O,s:n}", "id", json_object_get(row, "id"),
						       "name", json_object_get(row, "name"), "domain_id"));
		json_decref(row);
	}
	json_object_set_new(out, "roles", roles);
	json_object_set_new(out, "access_rules", json_array());
	json_t *exp = json_object_get(ac, "expires_at");
	if (json_is_integer(exp)) {
		char iso[32];
		identity__isotime((int64_t)json_integer_value(exp), iso);
		json_object_set_new(out, "expires_at", json_string(iso));
	}
	return out;
}

/* identity:RULE with Keystone's target: the URL's user_id, and the
 * credential's owner when there is one. */
static int authorize(struct identity *id, const struct identity_caller *c, const char *rule,
		     const char *user_id, struct st_err *err)
{
	json_t *target = json_pack("{s:s,s:{s:{s:s}}}", "user_id", user_id, "target",
				   "application_credential", "user_id", user_id);
	int rc = identity__authorize(id, c, rule, target, err);
	json_decref(target);
	return rc;
}

/* Keystone's secret: 64 random bytes, unpadded base64url. */
static int new_secret(char **out, struct st_err *err)
{
	uint8_t raw[64];
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return err__fail_class(err, EIO, "no random bytes");
	return base64__encode(BASE64_URL, raw, sizeof(raw), 0, out, err);
}

/* "2026-12-31T00:00:00[.ffffff][Z]" (what clients send) in seconds. */
static int parse_time(const char *s, int64_t *out, struct st_err *err)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (end && *end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (end && (!strcmp(end, "Z") || !strcmp(end, "+00:00")))
		end += strlen(end);
	if (!end || *end)
		return err__fail_class(err, EINVAL, "Invalid input for field 'expires_at': an ISO 8601"
				       " time such as 2026-12-31T00:00:00 is expected.");
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* The requested roles' ids ({"id"} or {"name"} each), or the token's roles
 * when none are given; each must be one the user has on the project. */
static int pick_roles(struct identity *id, const struct identity_caller *c, json_t *asked,
		      json_t **out, struct st_err *err)
{
	json_t *have, *r, *h;
	size_t i, j;
	if (identity__token_roles(id, &c->token, &have, err) < 0)
		return -1;
	json_t *ids = json_array();
	if (!asked || json_array_size(asked) == 0) {
		json_array_foreach(have, i, h)
			json_array_append(ids, json_object_get(h, "id"));
	}
	json_array_foreach(asked, i, r) {
		const char *rid = json_string_value(json_object_get(r, "id"));
		const char *name = json_string_value(json_object_get(r, "name"));
		const char *found = NULL;
		json_array_foreach(have, j, h)
			if ((rid && !strcmp(rid, json_string_value(json_object_get(h, "id")))) ||
			    (name && !strcmp(name, json_string_value(json_object_get(h, "name")))))
				found = json_string_value(json_object_get(h, "id"));
		if (!found) {
			json_decref(ids);
			json_decref(have);
			return err__fail_class(err, ENOENT, "Could not find role assignment with role: %s,"
					       " user or group: %s, project, domain, or system: %s.",
					       rid ? rid : name ? name : "?", c->token.user_id,
					       c->token.project_id);
		}
		json_array_append_new(ids, json_string(found));
	}
	json_decref(have);
	*out = ids;
	return 0;
}

/* The request's fields checked and completed into a row (without roles). */
static int fields_of(json_t *in, const char *user_id, const char *project_id, json_t **out,
		     char **secret, struct st_err *err)
{
	const char *name = json_string_value(json_object_get(in, "name"));
	json_t *desc = json_object_get(in, "description"), *sec = json_object_get(in, "secret");
	json_t *exp = json_object_get(in, "expires_at"), *unr = json_object_get(in, "unrestricted");
	if (!json_is_object(in) || !name || !*name || strlen(name) > APP_CRED_NAME_MAX)
		return err__fail_class(err, EINVAL, "Invalid input for field 'name': must be a string of"
				       " 1 to %d characters.", APP_CRED_NAME_MAX);
	if ((desc && !json_is_null(desc) &&
	     (!json_is_string(desc) || strlen(json_string_value(desc)) > APP_CRED_DESCRIPTION_MAX)) ||
	    (sec && !json_is_null(sec) && (!json_is_string(sec) || !*json_string_value(sec) ||
					  strlen(json_string_value(sec)) > PASSWORD_MAX)) ||
	    (unr && !json_is_boolean(unr)) || (exp && !json_is_null(exp) && !json_is_string(exp)))
		return err__fail_class(err, EINVAL, "Invalid input for application_credential: description,"
				       " secret and expires_at are strings, unrestricted a boolean.");
	int64_t expires = 0;
	if (json_is_string(exp) && parse_time(json_string_value(exp), &expires, err) < 0)
		return -1;
	if (json_is_string(exp) && expires <= (int64_t)time(NULL))
		return err__fail_class(err, EINVAL, "The expiration time must be in the future.");
	char oid[33], hash[PASSWORD_HASH_MAX];
	*secret = json_is_string(sec) ? strdup(json_string_value(sec)) : NULL;
	if ((!*secret && json_is_string(sec)) || (!*secret && new_secret(secret, err) < 0))
		return err__fail_class(err, ENOMEM, "out of memory");
	if (identity_db__new_id(oid, err) < 0 || password__hash(*secret, hash, err) < 0)
		return -1;
	*out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:b}", "id", oid, "name", name, "user_id",
			 user_id, "project_id", project_id, "secret_hash", hash, "description",
			 json_is_string(desc) ? json_string_value(desc) : "", "expires_at",
			 json_is_string(exp) ? json_integer(expires) : json_null(), "unrestricted",
			 json_is_true(unr));
	return 0;
}

int identity_ops__app_cred_create(struct identity *id, const struct identity_caller *c,
				  const char *user_id, json_t *body, json_t **out, struct st_err *err)
{
	if (authorize(id, c, "identity:create_application_credential", user_id, err) < 0)
		return -1;
	if (c->token.scope != TOKEN_PROJECT && c->token.scope != TOKEN_APP_CRED)
		return err__fail_class(err, EPERM, "An application credential needs a project-scoped token.");
	if (c->token.scope == TOKEN_APP_CRED && !c->app_cred_unrestricted)
		return err__fail_class(err, EPERM, "Using method 'application_credential' is not allowed"
				       " for managing additional application credentials.");
	json_t *in = json_object_get(body, "application_credential"), *ac = NULL, *roles = NULL;
	cleanup_free char *secret = NULL;
	if (fields_of(in, user_id, c->token.project_id, &ac, &secret, err) < 0)
		return -1;
	if (pick_roles(id, c, json_object_get(in, "roles"), &roles, err) < 0) {
		json_decref(ac);
		return -1;
	}
	json_object_set_new(ac, "roles", roles);
	int rc = insert(id->db, ac, err);
	if (rc == 0) {
		*out = view(id, ac);
		json_object_set_new(*out, "secret", json_string(secret));
	}
	json_decref(ac);
	return rc;
}

int identity_ops__app_cred_list(struct identity *id, const struct identity_caller *c,
				const char *user_id, const char *name, json_t **out,
				struct st_err *err)
{
	json_t *rows, *ac;
	size_t i;
	if (authorize(id, c, "identity:list_application_credentials", user_id, err) < 0 ||
	    identity_db__app_creds(id->db, user_id, NULL, name, &rows, err) < 0)
		return -1;
	*out = json_array();
	json_array_foreach(rows, i, ac)
		json_array_append_new(*out, view(id, ac));
	json_decref(rows);
	return 0;
}

/* The user's credential ac_id, or ENOENT. */
static int one(struct identity *id, const char *user_id, const char *ac_id, json_t **out,
	       struct st_err *err)
{
	json_t *rows;
	if (identity_db__app_creds(id->db, user_id, ac_id, NULL, &rows, err) < 0)
		return -1;
	*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return *out ? 0 : err__fail_class(err, ENOENT, "Could not find application credential: %s.", ac_id);
}

int identity_ops__app_cred_get(struct identity *id, const struct identity_caller *c,
			       const char *user_id, const char *ac_id, json_t **out,
			       struct st_err *err)
{
	json_t *ac;
	if (authorize(id, c, "identity:get_application_credential", user_id, err) < 0 ||
	    one(id, user_id, ac_id, &ac, err) < 0)
		return -1;
	*out = view(id, ac);
	json_decref(ac);
	return 0;
}

int identity_ops__app_cred_delete(struct identity *id, const struct identity_caller *c,
				  const char *user_id, const char *ac_id, struct st_err *err)
{
	json_t *ac;
	if (authorize(id, c, "identity:delete_application_credential", user_id, err) < 0 ||
	    one(id, user_id, ac_id, &ac, err) < 0)
		return -1;
	json_decref(ac);
	if (c->token.scope == TOKEN_APP_CRED && !c->app_cred_unrestricted)
		return err__fail_class(err, EPERM, "Using method 'application_credential' is not allowed"
				       " for managing additional application credentials.");
	const char *p[] = {ac_id};
	return db__exec(id->db, "DELETE FROM application_credential WHERE id = ?", p, 1, err) < 0 ? -1 : 0;
}
