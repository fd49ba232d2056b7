/* The caller of an API request and its policy check: the token validated,
 * its effective roles, and oslo.policy's credentials built from them. */
#include "cloud/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cloud/identity/identity_db.h"

/* The domain_id of a user or project row into out ("" when gone). */
static void domain_of(struct identity *id, enum identity_kind kind, const char *oid,
		      char out[TOKEN_ID_MAX + 1])
{
	json_t *row;
	out[0] = '\0';
	if (!*oid || identity_db__get(id->db, kind, oid, &row, NULL) < 0)
		return;
	snprintf(out, TOKEN_ID_MAX + 1, "%s", json_string_value(json_object_get(row, "domain_id")));
	json_decref(row);
}

int identity__caller(struct identity *id, const char *auth_token, struct identity_caller *out,
		     struct st_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!auth_token || !*auth_token ||
	    identity__validate(id, auth_token, &out->token, NULL) < 0)
		return err__fail_class(err, EACCES, "The request you have made requires authentication.");
	json_t *roles, *r;
	size_t i;
	if (identity__token_roles(id, &out->token, &roles, err) < 0)
		return -1;
	json_array_foreach(roles, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		out->reader = true;
		if (!strcmp(name, "admin"))
			out->admin = true;
		if (out->n_roles < IDENTITY_ROLES_MAX)
			snprintf(out->roles[out->n_roles++], TOKEN_ID_MAX + 1, "%s", name);
	}
	json_decref(roles);
	json_t *acs;
	if (out->token.scope == TOKEN_APP_CRED &&
	    identity_db__app_creds(id->db, out->token.user_id, out->token.app_cred_id, NULL, &acs,
				   NULL) == 0) {
		out->app_cred_unrestricted =
			json_is_true(json_object_get(json_array_get(acs, 0), "unrestricted"));
		json_decref(acs);
	}
	domain_of(id, IDENTITY_USER, out->token.user_id, out->user_domain_id);
	domain_of(id, IDENTITY_PROJECT, out->token.project_id, out->project_domain_id);
	return 0;
}

static json_t *string_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

json_t *identity__credentials(const struct identity_caller *c)
{
	const struct token *t = &c->token;
	json_t *roles = json_array();
	for (size_t i = 0; i < c->n_roles; i++)
		json_array_append_new(roles, json_string(c->roles[i]));
	json_t *token = json_pack("{s:{s:s,s:{s:o}}}", "user", "id", t->user_id, "domain", "id",
				  string_or_null(c->user_domain_id));
	json_t *creds = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "user_id", t->user_id,
				  "user_domain_id", string_or_null(c->user_domain_id), "project_id",
				  string_or_null(t->project_id), "project_domain_id",
				  string_or_null(c->project_domain_id), "domain_id",
				  string_or_null(t->domain_id), "system_scope",
				  string_or_null(t->scope == TOKEN_SYSTEM ? t->system : NULL), "roles",
				  roles, "token", token);
	if (*t->project_id)
		json_object_set_new(token, "project",
				    json_pack("{s:s,s:{s:o}}", "id", t->project_id, "domain", "id",
					      string_or_null(c->project_domain_id)));
	if (*t->domain_id)
		json_object_set_new(token, "domain", json_pack("{s:s}", "id", t->domain_id));
	if (t->scope == TOKEN_SYSTEM)
		json_object_set_new(token, "system", json_pack("{s:b}", "all", 1));
	return creds;
}

int identity__authorize(struct identity *id, const struct identity_caller *c, const char *rule,
			json_t *target, struct st_err *err)
{
	json_t *creds = identity__credentials(c);
	int rc = policy__enforce(id->policy, rule, creds, target, err);
	json_decref(creds);
	return rc;
}
