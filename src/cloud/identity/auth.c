/* POST /v3/auth/tokens: the auth request's methods and scope, checked the
 * way Keystone checks them. Messages for 401 never say which part failed. */
#include "cloud/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "cloud/identity/identity_db.h"
#include "cloud/identity/password.h"

static int unauthorized(struct st_err *err)
{
	return err__fail_class(err, EACCES, "The request you have made requires authentication.");
}

static int bad_request(struct st_err *err, const char *what)
{
	return err__fail_class(err, EINVAL, "%s", what);
}

/* {"id"} or {"name"} of a domain; sets out to its id. */
static int find_domain(struct db *db, json_t *ref, char out[65], struct st_err *err)
{
	const char *did = json_string_value(json_object_get(ref, "id"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	if (!json_is_object(ref) || (!did && !name))
		return bad_request(err, "Expecting a domain id or name.");
	json_t *list;
	const char *f[] = {did ? "id" : "name", did ? did : name, NULL};
	if (identity_db__list(db, IDENTITY_DOMAIN, f, &list, err) < 0)
		return -1;
	json_t *row = json_array_get(list, 0);
	int rc = row ? 0 : unauthorized(err);
	if (row)
		snprintf(out, 65, "%s", json_string_value(json_object_get(row, "id")));
	json_decref(list);
	return rc;
}

/* A user or project by {"id"} or {"name", "domain": {...}}; the row. */
static int find_in_domain(struct db *db, enum identity_kind kind, json_t *ref, json_t **row,
			  struct st_err *err)
{
	if (!json_is_object(ref))
		return bad_request(err, "Expecting an object.");
	const char *rid = json_string_value(json_object_get(ref, "id"));
	const char *name = json_string_value(json_object_get(ref, "name"));
	json_t *list;
	char dom[65];
	if (rid) {
		if (identity_db__list(db, kind, (const char *[]){"id", rid, NULL}, &list, err) < 0)
			return -1;
	} else if (name) {
		if (find_domain(db, json_object_get(ref, "domain"), dom, err) < 0)
			return -1;
		if (identity_db__list(db, kind, (const char *[]){"domain_id", dom, "name", name, NULL},
				      &list, err) < 0)
			return -1;
	} else {
		return bad_request(err, "Expecting an id or a name.");
	}
	*row = json_incref(json_array_get(list, 0));
	json_decref(list);
	return *row ? 0 : unauthorized(err);
}

static int check_password(struct identity *id, json_t *password, struct token *t,
			  struct st_err *err)
{
	json_t *user;
	const char *secret = json_string_value(json_object_get(json_object_get(password, "user"), "password"));
	if (!secret)
		return bad_request(err, "Expecting to find password in user.");
	if (find_in_domain(id->db, IDENTITY_USER, json_object_get(password, "user"), &user, err) < 0)
		return -1;
	snprintf(t->user_id, sizeof(t->user_id), "%s", json_string_value(json_object_get(user, "id")));
	int enabled = json_is_true(json_object_get(user, "enabled"));
	json_decref(user);
	cleanup_free char *hash = NULL;
	int failures;
	if (identity_db__user_secret(id->db, t->user_id, &hash, &failures, err) < 0)
		return -1;
	if (!enabled)
		return unauthorized(err);
	if (password__verify(hash, secret, NULL) < 0) {
		/* Lockout: the user is disabled after N failures in a row. */
		failures++;
		identity_db__user_failed_logins(id->db, t->user_id, failures, NULL);
		if (id->lockout_failures && failures >= id->lockout_failures) {
			json_t *off = json_pack("{s:b}", "enabled", 0);
			identity_db__update(id->db, IDENTITY_USER, t->user_id, off, NULL);
			json_decref(off);
		}
		return unauthorized(err);
	}
	if (failures)
		identity_db__user_failed_logins(id->db, t->user_id, 0, NULL);
	t->methods |= TOKEN_METHOD_PASSWORD;
	return 0;
}

static int check_token(struct identity *id, json_t *token, struct token *t, struct st_err *err)
{
	const char *text = json_string_value(json_object_get(token, "id"));
	if (!text)
		return bad_request(err, "Expecting to find id in token.");
	struct token old;
	if (identity__validate(id, text, &old, NULL) < 0)
		return unauthorized(err);
	if (old.scope == TOKEN_APP_CRED)
		return err__fail_class(err, EPERM, "An application credential token cannot be re-scoped.");
	snprintf(t->user_id, sizeof(t->user_id), "%s", old.user_id);
	t->methods |= old.methods | TOKEN_METHOD_TOKEN;
	/* A re-scoped token expires with the one it came from. */
	t->expires_at = old.expires_at;
	snprintf(t->audit_ids[1], sizeof(t->audit_ids[1]), "%s",
		 old.audit_ids[old.n_audit_ids > 1 ? 1 : 0]);
	t->n_audit_ids = 2;
	return 0;
}

/* {"id", "secret"} or {"name", "user": {...}, "secret"}: the credential
 * scopes the token to its project; it must not have expired. */
static int check_app_cred(struct identity *id, json_t *ac, struct token *t, struct st_err *err)
{
	const char *secret = json_string_value(json_object_get(ac, "secret"));
	const char *ac_id = json_string_value(json_object_get(ac, "id"));
	const char *name = json_string_value(json_object_get(ac, "name"));
	if (!json_is_object(ac) || !secret || (!ac_id && !name))
		return bad_request(err, "Expecting to find id or name, and secret in application_credential.");
	json_t *user = NULL, *list;
	if (!ac_id && find_in_domain(id->db, IDENTITY_USER, json_object_get(ac, "user"), &user, err) < 0)
		return -1;
	const char *uid = user ? json_string_value(json_object_get(user, "id")) : NULL;
	int rc = identity_db__app_creds(id->db, uid, ac_id, ac_id ? NULL : name, &list, err);
	json_decref(user);
	if (rc < 0)
		return -1;
	json_t *row = json_array_get(list, 0), *exp = json_object_get(row, "expires_at");
	if (!row || password__verify(json_string_value(json_object_get(row, "secret_hash")), secret,
				     NULL) < 0 ||
	    (json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL))) {
		json_decref(list);
		return unauthorized(err);
	}
	t->scope = TOKEN_APP_CRED;
	snprintf(t->user_id, sizeof(t->user_id), "%s", json_string_value(json_object_get(row, "user_id")));
	snprintf(t->project_id, sizeof(t->project_id), "%s",
		 json_string_value(json_object_get(row, "project_id")));
	snprintf(t->app_cred_id, sizeof(t->app_cred_id), "%s",
		 json_string_value(json_object_get(row, "id")));
	if (json_is_integer(exp) && json_integer_value(exp) < t->expires_at)
		t->expires_at = (int64_t)json_integer_value(exp);
	t->methods |= TOKEN_METHOD_APP_CRED;
	json_decref(list);
	json_t *u;
	if (identity_db__get(id->db, IDENTITY_USER, t->user_id, &u, NULL) < 0)
		return unauthorized(err);
	int enabled = json_is_true(json_object_get(u, "enabled"));
	json_decref(u);
	return enabled ? 0 : unauthorized(err);
}

/* The user still has a role the token carries on its scope. */
static int has_roles(struct identity *id, const struct token *t, struct st_err *err)
{
	json_t *roles;
	if (identity__token_roles(id, t, &roles, err) < 0)
		return -1;
	size_t n = json_array_size(roles);
	json_decref(roles);
	return n ? 0 : unauthorized(err);
}

/* The scope, and that the user has a role on it. */
static int apply_scope(struct identity *id, json_t *scope, struct token *t, struct st_err *err)
{
	json_t *row;
	t->scope = TOKEN_UNSCOPED;
	if (!scope || (json_is_string(scope) && !strcmp(json_string_value(scope), "unscoped")))
		return 0;
	if (!json_is_object(scope))
		return bad_request(err, "Invalid scope.");
	if (json_object_get(scope, "project")) {
		if (find_in_domain(id->db, IDENTITY_PROJECT, json_object_get(scope, "project"), &row, err) < 0)
			return -1;
		t->scope = TOKEN_PROJECT;
		snprintf(t->project_id, sizeof(t->project_id), "%s",
			 json_string_value(json_object_get(row, "id")));
		int enabled = json_is_true(json_object_get(row, "enabled"));
		json_decref(row);
		if (!enabled)
			return unauthorized(err);
	} else if (json_object_get(scope, "domain")) {
		if (find_domain(id->db, json_object_get(scope, "domain"), t->domain_id, err) < 0)
			return -1;
		t->scope = TOKEN_DOMAIN;
	} else if (json_is_true(json_object_get(json_object_get(scope, "system"), "all"))) {
		t->scope = TOKEN_SYSTEM;
		snprintf(t->system, sizeof(t->system), "all");
	} else {
		return bad_request(err, "Invalid scope.");
	}
	return has_roles(id, t, err);
}

int identity__authenticate(struct identity *id, json_t *auth, struct token *out,
			   struct st_err *err)
{
	memset(out, 0, sizeof(*out));
	json_t *ident = json_object_get(auth, "identity");
	json_t *methods = json_object_get(ident, "methods");
	if (!json_is_object(auth) || !json_is_object(ident) || !json_is_array(methods) ||
	    json_array_size(methods) == 0)
		return bad_request(err, "Expecting to find identity with methods in auth.");
	const int64_t ttl_end = (int64_t)time(NULL) + id->token_ttl;
	out->expires_at = ttl_end; /* what a re-scoped token or an app credential may shorten */
	out->n_audit_ids = 1;
	size_t i;
	json_t *m;
	char first_user[TOKEN_ID_MAX + 1] = "";
	json_array_foreach(methods, i, m) {
		const char *name = json_string_value(m);
		int rc;
		if (name && !strcmp(name, "password"))
			rc = check_password(id, json_object_get(ident, "password"), out, err);
		else if (name && !strcmp(name, "token"))
			rc = check_token(id, json_object_get(ident, "token"), out, err);
		else if (name && !strcmp(name, "application_credential"))
			rc = check_app_cred(id, json_object_get(ident, "application_credential"), out, err);
		else
			return unauthorized(err); /* Keystone: an unknown method is a 401 */
		if (rc < 0)
			return -1;
		if (i == 0)
			snprintf(first_user, sizeof(first_user), "%s", out->user_id);
		else if (strcmp(first_user, out->user_id))
			return unauthorized(err); /* two methods, two users */
	}
	if (token__new_audit_id(out->audit_ids[0], err) < 0)
		return -1;
	if (out->methods & TOKEN_METHOD_APP_CRED) {
		/* Keystone: an application credential's scope is its own; it
		 * is the only method then. */
		if (json_object_get(auth, "scope") || json_array_size(methods) != 1)
			return unauthorized(err);
	}
	int rc = out->methods & TOKEN_METHOD_APP_CRED
			 ? has_roles(id, out, err)
			 : apply_scope(id, json_object_get(auth, "scope"), out, err);
	/* A token lives its whole lifetime from its issue, not from before the
	 * password check (Argon2id takes a while on a busy machine). */
	if (rc == 0 && out->expires_at == ttl_end)
		out->expires_at = (int64_t)time(NULL) + id->token_ttl;
	return rc;
}

int identity__change_password(struct identity *id, const char *user_id, json_t *user,
			      struct st_err *err)
{
	const char *original = json_string_value(json_object_get(user, "original_password"));
	const char *password = json_string_value(json_object_get(user, "password"));
	if (!json_is_object(user) || !original || !password || !*password ||
	    strlen(password) > PASSWORD_MAX)
		return bad_request(err, "Expecting to find original_password and password in user.");
	cleanup_free char *hash = NULL;
	int failures;
	json_t *row;
	if (identity_db__get(id->db, IDENTITY_USER, user_id, &row, err) < 0)
		return -1;
	int enabled = json_is_true(json_object_get(row, "enabled"));
	json_decref(row);
	if (identity_db__user_secret(id->db, user_id, &hash, &failures, err) < 0)
		return -1;
	if (!enabled || password__verify(hash, original, NULL) < 0)
		return err__fail_class(err, EACCES, "Error when changing user password: the original"
				       " password is not right.");
	char new_hash[PASSWORD_HASH_MAX];
	if (password__hash(password, new_hash, err) < 0)
		return -1;
	json_t *change = json_pack("{s:s}", "password_hash", new_hash);
	int rc = identity_db__update(id->db, IDENTITY_USER, user_id, change, err);
	json_decref(change);
	if (rc < 0)
		return -1;
	/* Every token of the user issued until now goes. Fernet times are
	 * whole seconds and an event covers its own second: wait for the next
	 * one, so that the tokens made with the new password are not. */
	time_t now = time(NULL);
	if (identity_db__revoke(id->db, NULL, user_id, NULL, (long long)now, err) < 0)
		return -1;
	while (time(NULL) <= now) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}
