/* The identity API's CRUD operations and their policy: one table of what
 * each kind takes, filters on and shows. */
#include "cloud/identity/identity_ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "cloud/identity/password.h"

struct kind_info {
	const char *member, *collection;
	const char *const fields[8];  /* what a create or update may set */
	const char *const filters[4]; /* list query parameters = columns */
	size_t name_max;              /* 0: no name */
	bool in_domain;               /* domain_id defaults to "default" */
};

static const struct kind_info kinds[IDENTITY_KIND_COUNT] = {
	[IDENTITY_DOMAIN] = {"domain", "domains", {"name", "description", "enabled"},
			     {"name", "enabled"}, 64, false},
	[IDENTITY_PROJECT] = {"project", "projects",
			      {"name", "domain_id", "parent_id", "description", "enabled"},
			      {"name", "domain_id", "parent_id", "enabled"}, 64, true},
	[IDENTITY_USER] = {"user", "users",
			   {"name", "domain_id", "password", "default_project_id", "description",
			    "email", "enabled"},
			   {"name", "domain_id", "enabled"}, 255, true},
	[IDENTITY_GROUP] = {"group", "groups", {"name", "domain_id", "description"},
			    {"name", "domain_id"}, 64, true},
	[IDENTITY_ROLE] = {"role", "roles", {"name", "description"}, {"name"}, 255, false},
	[IDENTITY_REGION] = {"region", "regions", {"id", "description", "parent_region_id"},
			     {"parent_region_id"}, 0, false},
	[IDENTITY_SERVICE] = {"service", "services", {"type", "name", "description", "enabled"},
			      {"type", "name"}, 0, false},
	[IDENTITY_ENDPOINT] = {"endpoint", "endpoints",
			       {"service_id", "interface", "url", "region_id", "enabled"},
			       {"service_id", "interface", "region_id"}, 0, false},
};

const char *identity_ops__collection(enum identity_kind kind)
{
	return kinds[kind].collection;
}

const char *identity_ops__member(enum identity_kind kind)
{
	return kinds[kind].member;
}

static int forbidden(struct st_err *err)
{
	return err__fail_class(err, EPERM, "You are not authorized to perform the requested action.");
}

int identity_ops__caller(struct identity *id, const char *auth_token,
			 struct identity_caller *out, struct st_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!auth_token || !*auth_token)
		return err__fail_class(err, EACCES, "The request you have made requires authentication.");
	if (identity__validate(id, auth_token, &out->token, err) < 0)
		return err__fail_class(err, EACCES, "The request you have made requires authentication.");
	json_t *roles, *r;
	size_t i;
	if (identity__token_roles(id, &out->token, &roles, err) < 0)
		return -1;
	json_array_foreach(roles, i, r) {
		out->reader = true;
		if (!strcmp(json_string_value(json_object_get(r, "name")), "admin"))
			out->admin = true;
	}
	json_decref(roles);
	return 0;
}

/* Reading: admins, system-scoped readers, and anyone about themselves or
 * the project their token is scoped to. */
static bool may_read(const struct identity_caller *c, enum identity_kind kind, const char *oid)
{
	if (c->admin || (c->reader && c->token.scope == TOKEN_SYSTEM))
		return true;
	if (kind == IDENTITY_USER && oid)
		return !strcmp(oid, c->token.user_id);
	if (kind == IDENTITY_PROJECT && oid)
		return c->token.scope == TOKEN_PROJECT && !strcmp(oid, c->token.project_id);
	/* the catalog's parts are no secret to a token holder (Keystone too) */
	return kind == IDENTITY_SERVICE || kind == IDENTITY_ENDPOINT || kind == IDENTITY_REGION ||
	       kind == IDENTITY_ROLE;
}

/* Keystone's extra fields, and nothing it would not show. */
static void decorate(enum identity_kind kind, json_t *obj)
{
	switch (kind) {
	case IDENTITY_PROJECT:
		if (json_is_null(json_object_get(obj, "parent_id")))
			json_object_set(obj, "parent_id", json_object_get(obj, "domain_id"));
		json_object_set_new(obj, "is_domain", json_false());
		json_object_set_new(obj, "tags", json_array());
		json_object_set_new(obj, "options", json_object());
		break;
	case IDENTITY_USER:
		json_object_del(obj, "created_at");
		if (json_is_null(json_object_get(obj, "email")))
			json_object_del(obj, "email");
		if (json_is_null(json_object_get(obj, "default_project_id")))
			json_object_del(obj, "default_project_id");
		json_object_set_new(obj, "password_expires_at", json_null());
		json_object_set_new(obj, "options", json_object());
		break;
	case IDENTITY_DOMAIN:
		json_object_set_new(obj, "tags", json_array());
		json_object_set_new(obj, "options", json_object());
		break;
	case IDENTITY_ROLE:
		json_object_set_new(obj, "domain_id", json_null());
		json_object_set_new(obj, "options", json_object());
		break;
	case IDENTITY_ENDPOINT:
		json_object_set(obj, "region", json_object_get(obj, "region_id"));
		break;
	default:
		break;
	}
}

/* body's member object, checked: known fields only are kept (Keystone lets
 * others through; they are not stored), name present and not too long. */
static int member_fields(enum identity_kind kind, json_t *body, bool creating, json_t **out,
			 struct st_err *err)
{
	const struct kind_info *k = &kinds[kind];
	json_t *in = json_object_get(body, k->member);
	if (!json_is_object(in))
		return err__fail_class(err, EINVAL, "Expecting to find %s in request body.", k->member);
	json_t *fields = json_object();
	for (size_t i = 0; i < 8 && k->fields[i]; i++) {
		json_t *v = json_object_get(in, k->fields[i]);
		if (v)
			json_object_set(fields, k->fields[i], v);
	}
	json_t *name = json_object_get(fields, "name");
	if (k->name_max && (creating || name)) {
		const char *s = json_string_value(name);
		if (!s || !*s || strlen(s) > k->name_max) {
			json_decref(fields);
			return err__fail_class(err, EINVAL, "Invalid input for field 'name': must be a string of"
				       " 1 to %zu characters.", k->name_max);
		}
	}
	*out = fields;
	return 0;
}

/* Columns a create sets beyond what the caller sent. */
static int complete_create(enum identity_kind kind, json_t *fields, struct st_err *err)
{
	char oid[33];
	if (!json_object_get(fields, "id")) {
		if (identity_db__new_id(oid, err) < 0)
			return -1;
		json_object_set_new(fields, "id", json_string(oid));
	}
	if (kinds[kind].in_domain && !json_object_get(fields, "domain_id"))
		json_object_set_new(fields, "domain_id", json_string(IDENTITY_DEFAULT_DOMAIN));
	if (kind == IDENTITY_USER)
		json_object_set_new(fields, "created_at", json_integer((json_int_t)time(NULL)));
	if (kind == IDENTITY_ENDPOINT && !json_object_get(fields, "url"))
		return err__fail_class(err, EINVAL, "Expecting to find url in endpoint.");
	if (kind == IDENTITY_SERVICE && !json_object_get(fields, "type"))
		return err__fail_class(err, EINVAL, "Expecting to find type in service.");
	return 0;
}

/* A user's "password" becomes its hash. */
static int hash_password(json_t *fields, struct st_err *err)
{
	json_t *pw = json_object_get(fields, "password");
	if (!pw)
		return 0;
	if (!json_is_string(pw) && !json_is_null(pw))
		return err__fail_class(err, EINVAL, "Invalid input for field 'password'.");
	char hash[PASSWORD_HASH_MAX];
	if (json_is_string(pw) && password__hash(json_string_value(pw), hash, err) < 0)
		return -1;
	json_object_set_new(fields, "password_hash", json_is_string(pw) ? json_string(hash) : json_null());
	json_object_del(fields, "password");
	return 0;
}

int identity_ops__get(struct identity *id, const struct identity_caller *c,
		      enum identity_kind kind, const char *oid, json_t **out, struct st_err *err)
{
	if (!may_read(c, kind, oid))
		return forbidden(err);
	if (identity_db__get(id->db, kind, oid, out, err) < 0)
		return -1;
	decorate(kind, *out);
	return 0;
}

int identity_ops__create(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, json_t *body, json_t **out, struct st_err *err)
{
	if (!c->admin)
		return forbidden(err);
	json_t *fields;
	if (member_fields(kind, body, true, &fields, err) < 0)
		return -1;
	int rc = complete_create(kind, fields, err);
	if (rc == 0 && kind == IDENTITY_USER)
		rc = hash_password(fields, err);
	if (rc == 0)
		rc = identity_db__insert(id->db, kind, fields, err);
	if (rc == 0)
		rc = identity_db__get(id->db, kind, json_string_value(json_object_get(fields, "id")), out, err);
	json_decref(fields);
	if (rc == 0)
		decorate(kind, *out);
	return rc;
}

int identity_ops__list(struct identity *id, const struct identity_caller *c,
		       enum identity_kind kind, identity_query_fn query, void *qctx, json_t **out,
		       struct st_err *err)
{
	if (!may_read(c, kind, NULL))
		return forbidden(err);
	const char *filters[9] = {0};
	size_t n = 0;
	for (size_t i = 0; i < 4 && kinds[kind].filters[i]; i++) {
		const char *v = query ? query(qctx, kinds[kind].filters[i]) : NULL;
		if (!v)
			continue;
		if (!strcmp(kinds[kind].filters[i], "enabled"))
			v = !strcasecmp(v, "false") || !strcmp(v, "0") ? "0" : "1";
		filters[n++] = kinds[kind].filters[i];
		filters[n++] = v;
	}
	if (identity_db__list(id->db, kind, filters, out, err) < 0)
		return -1;
	size_t i;
	json_t *obj;
	json_array_foreach(*out, i, obj)
		decorate(kind, obj);
	return 0;
}

int identity_ops__update(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, const char *oid, json_t *body, json_t **out,
			 struct st_err *err)
{
	if (!c->admin)
		return forbidden(err);
	json_t *fields;
	if (member_fields(kind, body, false, &fields, err) < 0)
		return -1;
	json_object_del(fields, "id");
	int rc = kind == IDENTITY_USER ? hash_password(fields, err) : 0;
	if (rc == 0)
		rc = identity_db__update(id->db, kind, oid, fields, err);
	json_decref(fields);
	return rc < 0 ? -1 : identity_ops__get(id, c, kind, oid, out, err);
}

int identity_ops__delete(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, const char *oid, struct st_err *err)
{
	if (!c->admin)
		return forbidden(err);
	if (kind == IDENTITY_DOMAIN) {
		json_t *dom;
		if (identity_db__get(id->db, kind, oid, &dom, err) < 0)
			return -1;
		bool enabled = json_is_true(json_object_get(dom, "enabled"));
		json_decref(dom);
		if (enabled)
			return err__fail_class(err, EPERM, "Cannot delete a domain that is enabled, please"
				       " disable it first.");
	}
	return identity_db__delete(id->db, kind, oid, err);
}
