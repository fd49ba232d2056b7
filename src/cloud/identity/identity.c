/* Tokens: the key repository, issue, validate, revoke, Keystone's body. */
#include "cloud/identity/identity.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "cloud/identity/identity_db.h"

int identity__init(struct identity *id, struct db *db, const char *state_dir, struct st_err *err)
{
	memset(id, 0, sizeof(*id));
	id->db = db;
	id->token_ttl = IDENTITY_DEFAULT_TTL;
	id->lockout_failures = IDENTITY_DEFAULT_LOCKOUT;
	if (snprintf(id->key_dir, sizeof(id->key_dir), "%s/fernet-keys", state_dir) >=
	    (int)sizeof(id->key_dir))
		return err__fail_class(err, ENAMETOOLONG, "state directory path too long");
	pthread_mutex_init(&id->keys_lock, NULL);
	if (policy__new(&id->policy, err) < 0 ||
	    policy__add_defaults(id->policy, identity__policy_rules, identity__n_policy_rules, err) < 0 ||
	    fernet_keys__setup(id->key_dir, err) < 0 || identity_db__migrate(db, err) < 0) {
		identity__fini(id);
		return -1;
	}
	return 0;
}

void identity__fini(struct identity *id)
{
	policy__free(id->policy);
	id->policy = NULL;
	pthread_mutex_destroy(&id->keys_lock);
}

/* A copy of the current keys. A rotation renames, creates and removes key
 * files: that changes the directory's mtime and its (name, inode) listing.
 * The mtime alone misses a rotation step in the same clock tick as the
 * last look (git's "racily clean"), so until the directory has been still
 * for 2 s its listing is compared too (one readdir); key files are read
 * only when the listing differs. Once still, a request costs one stat. */
static int current_keys(struct identity *id, struct fernet_keys *out, struct st_err *err)
{
	struct stat st;
	if (stat(id->key_dir, &st) < 0)
		return err__fail_errno(err, "Fernet key repository %s", id->key_dir);
	pthread_mutex_lock(&id->keys_lock);
	int rc = 0;
	bool same_mtime = id->keys.n && st.st_mtim.tv_sec == id->keys_mtime.tv_sec &&
			  st.st_mtim.tv_nsec == id->keys_mtime.tv_nsec;
	if (!same_mtime || !id->keys_settled) {
		bool changed = true;
		if (id->keys.n)
			rc = fernet_keys__changed(id->key_dir, &id->keys, &changed, err);
		if (rc == 0 && changed && (rc = fernet_keys__load(id->key_dir, &id->keys, err)) < 0)
			id->keys.n = 0; /* half loaded: load again next time */
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (rc == 0) {
			id->keys_mtime = st.st_mtim;
			id->keys_settled = now.tv_sec - st.st_mtim.tv_sec >= 2;
		}
	}
	if (rc == 0)
		*out = id->keys;
	pthread_mutex_unlock(&id->keys_lock);
	return rc;
}

void identity__isotime(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

int identity__issue(struct identity *id, const struct token *t, char **text, struct st_err *err)
{
	struct fernet_keys keys;
	if (current_keys(id, &keys, err) < 0)
		return -1;
	return token__encode(t, &keys.keys[0], (uint64_t)time(NULL), text, err);
}

static int unauthorized(struct st_err *err)
{
	return err__fail_class(err, ENOENT, "The request you have made requires authentication.");
}

/* The user, and the project or domain of the scope, exist and are enabled. */
static int still_valid(struct identity *id, const struct token *t, struct st_err *err)
{
	json_t *obj;
	if (identity_db__get(id->db, IDENTITY_USER, t->user_id, &obj, NULL) < 0)
		return unauthorized(err);
	int ok = json_is_true(json_object_get(obj, "enabled"));
	json_decref(obj);
	const char *target = t->scope == TOKEN_DOMAIN ? t->domain_id
			     : t->scope == TOKEN_PROJECT || t->scope == TOKEN_APP_CRED ? t->project_id
										       : NULL;
	enum identity_kind kind = t->scope == TOKEN_DOMAIN ? IDENTITY_DOMAIN : IDENTITY_PROJECT;
	if (ok && target) {
		if (identity_db__get(id->db, kind, target, &obj, NULL) < 0)
			return unauthorized(err);
		ok = json_is_true(json_object_get(obj, "enabled"));
		json_decref(obj);
	}
	if (ok && t->scope == TOKEN_APP_CRED) {
		/* The credential still exists and its user still has one of
		 * its roles: identity__token_roles says both. */
		json_t *roles;
		if (identity__token_roles(id, t, &roles, err) < 0)
			return -1;
		ok = json_array_size(roles) > 0;
		json_decref(roles);
	}
	return ok ? 0 : unauthorized(err);
}

int identity__validate(struct identity *id, const char *text, struct token *out,
		       struct st_err *err)
{
	struct fernet_keys keys;
	if (current_keys(id, &keys, err) < 0)
		return -1;
	if (token__decode(keys.keys, keys.n, text, (uint64_t)time(NULL), out, NULL) < 0)
		return unauthorized(err);
	for (size_t i = 0; i < out->n_audit_ids; i++) {
		int r = identity_db__is_revoked(id->db, out->audit_ids[i], NULL, NULL,
						(long long)out->issued_at, err);
		if (r < 0)
			return -1;
		if (r)
			return unauthorized(err);
	}
	int r = identity_db__is_revoked(id->db, NULL, out->user_id, NULL, (long long)out->issued_at, err);
	if (r != 0)
		return r < 0 ? -1 : unauthorized(err);
	return still_valid(id, out, err);
}

int identity__revoke(struct identity *id, const struct token *t, struct st_err *err)
{
	/* Keystone revokes by the token's own audit id: its re-scoped
	 * descendants carry it as their second one. */
	return identity_db__revoke(id->db, t->audit_ids[0], NULL, NULL, (long long)time(NULL), err);
}

/* An application credential's roles that its user still has on its
 * project (none once it is deleted or has expired). */
static int app_cred_roles(struct identity *id, const struct token *t, json_t **out,
			  struct st_err *err)
{
	json_t *acs, *have, *r;
	if (identity_db__app_creds(id->db, t->user_id, t->app_cred_id, NULL, &acs, err) < 0)
		return -1;
	if (identity_db__effective_roles(id->db, t->user_id, t->project_id, 0, &have, err) < 0) {
		json_decref(acs);
		return -1;
	}
	json_t *ac = json_array_get(acs, 0), *exp = json_object_get(ac, "expires_at"), *mine;
	bool expired = json_is_integer(exp) && json_integer_value(exp) <= (json_int_t)time(NULL);
	*out = json_array();
	size_t i, j;
	json_array_foreach(have, i, r)
		json_array_foreach(expired ? NULL : json_object_get(ac, "roles"), j, mine)
			if (json_equal(mine, json_object_get(r, "id")))
				json_array_append(*out, r);
	json_decref(acs);
	json_decref(have);
	return 0;
}

int identity__token_roles(struct identity *id, const struct token *t, json_t **out,
			  struct st_err *err)
{
	switch (t->scope) {
	case TOKEN_PROJECT:
		return identity_db__effective_roles(id->db, t->user_id, t->project_id, 0, out, err);
	case TOKEN_APP_CRED:
		return app_cred_roles(id, t, out, err);
	case TOKEN_DOMAIN:
		return identity_db__effective_roles(id->db, t->user_id, t->domain_id, 0, out, err);
	case TOKEN_SYSTEM:
		return identity_db__effective_roles(id->db, t->user_id, "system", 1, out, err);
	default:
		*out = json_array();
		return 0;
	}
}

/* {"id", "name", "domain": {"id", "name"}} of a project or user row. */
static json_t *with_domain(struct identity *id, json_t *row)
{
	const char *did = json_string_value(json_object_get(row, "domain_id"));
	json_t *dom = NULL;
	json_t *out = json_pack("{s:O,s:O}", "id", json_object_get(row, "id"), "name",
				json_object_get(row, "name"));
	if (did && identity_db__get(id->db, IDENTITY_DOMAIN, did, &dom, NULL) == 0) {
		json_object_set_new(out, "domain", json_pack("{s:s,s:O}", "id", did, "name",
							     json_object_get(dom, "name")));
		json_decref(dom);
	}
	return out;
}

static json_t *method_names(uint64_t methods)
{
	static const char *const names[] = {"external", "password", "token", "oauth1", "mapped",
					     "application_credential"};
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (methods & (1u << i))
			json_array_append_new(list, json_string(names[i]));
	return list;
}

static int add_scope(struct identity *id, const struct token *t, json_t *body, struct st_err *err)
{
	json_t *row;
	if (t->scope == TOKEN_PROJECT || t->scope == TOKEN_APP_CRED) {
		if (identity_db__get(id->db, IDENTITY_PROJECT, t->project_id, &row, err) < 0)
			return -1;
		json_object_set_new(body, "project", with_domain(id, row));
		json_decref(row);
	} else if (t->scope == TOKEN_DOMAIN) {
		if (identity_db__get(id->db, IDENTITY_DOMAIN, t->domain_id, &row, err) < 0)
			return -1;
		json_object_set_new(body, "domain", json_pack("{s:O,s:O}", "id", json_object_get(row, "id"),
							      "name", json_object_get(row, "name")));
		json_decref(row);
	} else if (t->scope == TOKEN_SYSTEM) {
		json_object_set_new(body, "system", json_pack("{s:b}", "all", 1));
	}
	json_t *acs;
	if (t->scope == TOKEN_APP_CRED &&
	    identity_db__app_creds(id->db, t->user_id, t->app_cred_id, NULL, &acs, err) == 0) {
		json_t *ac = json_array_get(acs, 0);
		json_object_set_new(body, "application_credential",
				    json_pack("{s:s,s:O?,s:b}", "id", t->app_cred_id, "name",
					      json_object_get(ac, "name"), "restricted",
					      !json_is_true(json_object_get(ac, "unrestricted"))));
		json_decref(acs);
	}
	return 0;
}

int identity__token_body(struct identity *id, const struct token *t, int with_catalog,
			 json_t **out, struct st_err *err)
{
	json_t *user;
	if (identity_db__get(id->db, IDENTITY_USER, t->user_id, &user, err) < 0)
		return -1;
	char issued[32], expires[32];
	identity__isotime((int64_t)t->issued_at, issued);
	identity__isotime(t->expires_at, expires);
	json_t *audit = json_array();
	for (size_t i = 0; i < t->n_audit_ids; i++)
		json_array_append_new(audit, json_string(t->audit_ids[i]));
	json_t *body = json_pack("{s:o,s:o,s:o,s:s,s:s,s:b}", "methods", method_names(t->methods),
				 "user", with_domain(id, user), "audit_ids", audit, "issued_at", issued,
				 "expires_at", expires, "is_domain", 0);
	json_decref(user);
	json_object_set_new(json_object_get(body, "user"), "password_expires_at", json_null());
	json_t *roles = NULL, *catalog = NULL;
	if (add_scope(id, t, body, err) < 0 || identity__token_roles(id, t, &roles, err) < 0)
		goto fail;
	if (t->scope != TOKEN_UNSCOPED) {
		json_object_set_new(body, "roles", roles);
		roles = NULL;
		if (with_catalog) {
			if (identity_db__catalog(id->db, &catalog, err) < 0)
				goto fail;
			json_object_set_new(body, "catalog", catalog);
		}
	}
	json_decref(roles);
	*out = json_pack("{s:o}", "token", body);
	return 0;
fail:
	json_decref(roles);
	json_decref(body);
	return -1;
}
