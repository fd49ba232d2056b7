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
	const char *const filters[5]; /* list query parameters = columns */
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

const char *const *identity_ops__filters(enum identity_kind kind)
{
	return kinds[kind].filters;
}

const char *identity_ops__member(enum identity_kind kind)
{
	return kinds[kind].member;
}

/* Keystone's policy target of one object: {"target": {"user": obj}} and
 * the URL's "user_id" (Keystone adds the view's arguments). */
static json_t *target_of(enum identity_kind kind, const char *oid, json_t *obj)
{
	json_t *target = json_pack("{s:{s:O}}", "target", kinds[kind].member, obj);
	char key[32];
	snprintf(key, sizeof(key), "%s_id", kinds[kind].member);
	if (oid)
		json_object_set_new(target, key, json_string(oid));
	return target;
}

/* identity:VERB_MEMBER on obj. */
static int authorize(struct identity *id, const struct identity_caller *c, const char *verb,
		     enum identity_kind kind, const char *oid, json_t *obj, struct st_err *err)
{
	char rule[64];
	snprintf(rule, sizeof(rule), "identity:%s_%s", verb, kinds[kind].member);
	json_t *empty = obj ? NULL : json_object();
	json_t *target = target_of(kind, oid, obj ? obj : empty);
	int rc = identity__authorize(id, c, rule, target, err);
	json_decref(target);
	json_decref(empty);
	return rc;
}

/* Keystone's extra fields, and nothing it would not show. */
void identity_ops__decorate(enum identity_kind kind, json_t *obj)
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
		if (json_is_null(json_object_get(obj, "description")))
			json_object_del(obj, "description");
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
	case IDENTITY_SERVICE:
		if (json_is_null(json_object_get(obj, "description")))
			json_object_del(obj, "description");
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

/* The rule for an existing object (its row in the target), then 404 if
 * there is none. */
static int authorize_existing(struct identity *id, const struct identity_caller *c,
			      const char *verb, enum identity_kind kind, const char *oid,
			      struct st_err *err)
{
	json_t *row = NULL;
	struct st_err missing = {0};
	if (identity_db__get(id->db, kind, oid, &row, &missing) == 0)
		identity_ops__decorate(kind, row);
	int rc = authorize(id, c, verb, kind, oid, row, err);
	json_decref(row);
	if (rc == 0 && !row) {
		if (err)
			*err = missing;
		rc = -1;
	}
	return rc;
}

int identity_ops__get(struct identity *id, const struct identity_caller *c,
		      enum identity_kind kind, const char *oid, json_t **out, struct st_err *err)
{
	/* A caller the rule refuses learns nothing of whether oid exists. */
	struct st_err missing = {0};
	if (identity_db__get(id->db, kind, oid, out, &missing) < 0)
		*out = NULL;
	else
		identity_ops__decorate(kind, *out);
	if (authorize(id, c, "get", kind, oid, *out, err) < 0) {
		json_decref(*out);
		return -1;
	}
	if (!*out) {
		if (err)
			*err = missing;
		return -1;
	}
	return 0;
}

int identity_ops__create(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, json_t *body, json_t **out, struct st_err *err)
{
	json_t *fields;
	if (member_fields(kind, body, true, &fields, err) < 0)
		return -1;
	if (authorize(id, c, "create", kind, NULL, fields, err) < 0) {
		json_decref(fields);
		return -1;
	}
	int rc = complete_create(kind, fields, err);
	if (rc == 0 && kind == IDENTITY_USER)
		rc = hash_password(fields, err);
	if (rc == 0)
		rc = identity_db__insert(id->db, kind, fields, err);
	if (rc == 0)
		rc = identity_db__get(id->db, kind, json_string_value(json_object_get(fields, "id")), out, err);
	json_decref(fields);
	if (rc == 0)
		identity_ops__decorate(kind, *out);
	return rc;
}

int identity_ops__list(struct identity *id, const struct identity_caller *c,
		       enum identity_kind kind, identity_query_fn query, void *qctx,
		       struct identity_page *page, json_t **out, struct st_err *err)
{
	/* Keystone's list target: the query's filters, and a domain-scoped
	 * token's domain (whose lists hold that domain's objects only). */
	const char *dom = c->token.scope == TOKEN_DOMAIN ? c->token.domain_id : NULL;
	json_t *target = json_pack("{s:{}}", "target");
	const char *filters[11] = {0};
	size_t n = 0;
	for (size_t i = 0; i < 4 && kinds[kind].filters[i]; i++) {
		const char *v = query ? query(qctx, kinds[kind].filters[i]) : NULL;
		if (!v || (dom && kinds[kind].in_domain && !strcmp(kinds[kind].filters[i], "domain_id")))
			continue;
		json_object_set_new(target, kinds[kind].filters[i], json_string(v));
		if (!strcmp(kinds[kind].filters[i], "enabled"))
			v = !strcasecmp(v, "false") || !strcmp(v, "0") ? "0" : "1";
		filters[n++] = kinds[kind].filters[i];
		filters[n++] = v;
	}
	if (dom) {
		json_t *t = json_object_get(target, "target");
		json_object_set_new(t, "domain_id", json_string(dom));
		json_object_set_new(t, "group", json_pack("{s:s}", "domain_id", dom));
		const char *asked = query ? query(qctx, "domain_id") : NULL;
		if (kinds[kind].in_domain) {
			filters[n++] = "domain_id";
			/* another domain's objects are not this token's to list */
			filters[n++] = asked && strcmp(asked, dom) ? "" : dom;
		}
	}
	char rule[64];
	snprintf(rule, sizeof(rule), "identity:list_%s", kinds[kind].collection);
	int rc = identity__authorize(id, c, rule, target, err);
	json_decref(target);
	if (rc < 0 || identity_db__list_page(id->db, kind, filters, page, out, err) < 0)
		return -1;
	size_t i;
	json_t *obj;
	json_array_foreach(*out, i, obj)
		identity_ops__decorate(kind, obj);
	return 0;
}

int identity_ops__update(struct identity *id, const struct identity_caller *c,
			 enum identity_kind kind, const char *oid, json_t *body, json_t **out,
			 struct st_err *err)
{
	if (authorize_existing(id, c, "update", kind, oid, err) < 0)
		return -1;
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
	if (authorize_existing(id, c, "delete", kind, oid, err) < 0)
		return -1;
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
