/* A flavor's extra specs (os-extra_specs) and a private flavor's access
 * list (os-flavor-access and the addTenantAccess/removeTenantAccess
 * actions). */
#include "cloud/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_flavor.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"

#define SPEC_MAX 255

int compute__flavor_extra_specs(struct db *db, const char *flavor, json_t **out,
				struct st_err *err)
{
	return compute_db__pairs(db, "SELECT spec_key, spec_value FROM compute_flavor_extra_spec"
				 " WHERE flavorid = ? ORDER BY spec_key", &flavor, 1, out, err);
}

/* The flavor must exist and be visible to the caller. */
static int check_flavor(struct db *db, const struct compute_caller *c, const char *flavor,
			bool *is_public, struct st_err *err)
{
	json_t *f;
	if (compute_flavor__find(db, c, flavor, &f, err) < 0)
		return -1;
	if (is_public)
		*is_public = json_is_true(json_object_get(f, "os-flavor-access:is_public"));
	json_decref(f);
	return 0;
}

int compute__extra_specs_get(struct db *db, const struct compute_caller *c, const char *flavor,
			     const char *key, json_t **out, struct st_err *err)
{
	json_t *specs;
	if (compute_policy__check(c, key ? "os_compute_api:os-flavor-extra-specs:show"
					 : "os_compute_api:os-flavor-extra-specs:index", NULL, err) < 0 ||
	    check_flavor(db, c, flavor, NULL, err) < 0 ||
	    compute__flavor_extra_specs(db, flavor, &specs, err) < 0)
		return -1;
	if (!key) {
		*out = json_pack("{s:o}", "extra_specs", specs);
		return 0;
	}
	json_t *v = json_object_get(specs, key);
	if (!v) {
		json_decref(specs);
		return err__fail_class(err, ENOENT, "Flavor %.256s has no extra specs with key %.256s.",
				       flavor, key);
	}
	*out = json_pack("{s:O}", key, v);
	json_decref(specs);
	return 0;
}

/* Nova's spec schema: keys of 1-255 of [a-zA-Z0-9-_:. ], values strings of
 * at most 255 characters, numbers or booleans (kept as their text). *out
 * the specs as strings. */
static int check_specs(json_t *specs, json_t **out, struct st_err *err)
{
	const char *key;
	json_t *v;
	cleanup_json json_t *clean = json_object();
	json_object_foreach(specs, key, v) {
		char text[64];
		const char *s = text;
		if (!*key || strlen(key) > SPEC_MAX || !compute_valid__chars(key, "-_:. ", true))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute extra_specs. "
					       "Additional properties are not allowed ('%.255s' was "
					       "unexpected)", key);
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof(text), "%.17g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(text, sizeof(text), "%s", json_is_true(v) ? "True" : "False");
		else
			s = NULL;
		if (!s || strlen(s) > SPEC_MAX || (json_is_string(v) && strlen(s) != json_string_length(v)))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute %.255s. The "
					       "value must be a string of at most %d characters, a "
					       "number or a boolean", key, SPEC_MAX);
		json_object_set_new(clean, key, json_string(s));
	}
	*out = json_incref(clean);
	return 0;
}

struct spec_write {
	const char *flavor;
	json_t *specs;
};

static int write_specs(struct db *db, void *arg, struct st_err *err)
{
	struct spec_write *w = arg;
	const char *key;
	json_t *v;
	json_object_foreach(w->specs, key, v) {
		const char *p[] = {w->flavor, key, json_string_value(v)};
		if (db__exec(db, "DELETE FROM compute_flavor_extra_spec WHERE flavorid = ? AND spec_key = ?",
			     p, 2, err) < 0 ||
		    db__exec(db, "INSERT INTO compute_flavor_extra_spec (flavorid, spec_key, spec_value)"
			     " VALUES (?, ?, ?)", p, 3, err) < 0)
			return -1;
	}
	return 0;
}

int compute__extra_specs_set(struct db *db, const struct compute_caller *c, const char *flavor,
			     const char *key, json_t *body, json_t **out, struct st_err *err)
{
	json_t *specs = body;
	if (compute_policy__check(c, key ? "os_compute_api:os-flavor-extra-specs:update"
					 : "os_compute_api:os-flavor-extra-specs:create", NULL, err) < 0)
		return -1;
	if (!key && compute_valid__member(body, "extra_specs", &specs, err) < 0)
		return -1;
	if (key && (!json_is_object(body) || json_object_size(body) != 1))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute body. The body "
				       "must be an object of exactly one key");
	if (key && !json_object_get(body, key))
		return err__fail_class(err, EINVAL, "Request body and URI mismatch");
	cleanup_json json_t *clean = NULL;
	if (check_specs(specs, &clean, err) < 0 || check_flavor(db, c, flavor, NULL, err) < 0)
		return -1;
	struct spec_write w = {flavor, clean};
	if (compute_db__tx(db, write_specs, &w, err) < 0)
		return -1;
	*out = key ? json_incref(clean) : json_pack("{s:O}", "extra_specs", clean);
	return 0;
}

int compute__extra_spec_delete(struct db *db, const struct compute_caller *c, const char *flavor,
			       const char *key, struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-flavor-extra-specs:delete", NULL, err) < 0 ||
	    check_flavor(db, c, flavor, NULL, err) < 0)
		return -1;
	int n = db__exec(db, "DELETE FROM compute_flavor_extra_spec WHERE flavorid = ? AND spec_key = ?",
			 (const char *[]){flavor, key}, 2, err);
	if (n == 0)
		return err__fail_class(err, ENOENT, "Flavor %.256s has no extra specs with key %.256s.",
				       flavor, key);
	return n < 0 ? -1 : 0;
}

/* --- access --- */

static int access_list(struct db *db, const char *flavor, json_t **out, struct st_err *err)
{
	static const struct compute_col cols[] = {{"flavor_id", COL_TEXT}, {"tenant_id", COL_TEXT}};
	return compute_db__objects(db, "SELECT flavorid, project_id FROM compute_flavor_access"
				   " WHERE flavorid = ? ORDER BY project_id", &flavor, 1, cols, 2, out,
				   err);
}

int compute__flavor_access_list(struct db *db, const struct compute_caller *c,
				const char *flavor, json_t **out, struct st_err *err)
{
	bool is_public;
	if (compute_policy__check(c, "os_compute_api:os-flavor-access", NULL, err) < 0 ||
	    check_flavor(db, c, flavor, &is_public, err) < 0)
		return -1;
	if (is_public)
		return err__fail_class(err, ENOENT, "Access list not available for public flavors.");
	return access_list(db, flavor, out, err);
}

static int access_change(struct db *db, const struct compute_caller *c, const char *flavor,
			 bool add, json_t *args, struct st_err *err)
{
	static const char *const keys[] = {"tenant", NULL};
	const char *tenant;
	bool is_public;
	if (compute_policy__check(c, add ? "os_compute_api:os-flavor-access:add_tenant_access"
					 : "os_compute_api:os-flavor-access:remove_tenant_access",
				  NULL, err) < 0)
		return -1;
	if (!json_is_object(args))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. It is not of "
				       "type 'object'", add ? "addTenantAccess" : "removeTenantAccess");
	if (compute_valid__keys(args, keys, err) < 0 ||
	    compute_valid__string(args, "tenant", true, 1, 255, false, &tenant, err) < 0 ||
	    check_flavor(db, c, flavor, &is_public, err) < 0)
		return -1;
	const char *p[] = {flavor, tenant};
	if (!add) {
		int n = db__exec(db, "DELETE FROM compute_flavor_access WHERE flavorid = ? AND project_id = ?",
				 p, 2, err);
		if (n == 0)
			return err__fail_class(err, ENOENT, "Flavor access not found for %.256s / %.256s "
					       "combination.", flavor, tenant);
		return n < 0 ? -1 : 0;
	}
	if (is_public && c->mv >= 7)
		return err__fail_class(err, EEXIST, "Can not add access to a public flavor.");
	if (db__exec(db, "INSERT INTO compute_flavor_access (flavorid, project_id) VALUES (?, ?)", p, 2,
		     err) < 0) {
		if (err->errnum == EEXIST)
			return err__fail_class(err, EEXIST, "Flavor access already exists for flavor %.256s "
					       "and project %.256s combination.", flavor, tenant);
		return -1;
	}
	return 0;
}

int compute__flavor_action(struct db *db, const struct compute_caller *c, const char *flavor,
			   json_t *body, json_t **out, struct st_err *err)
{
	json_t *add = json_object_get(body, "addTenantAccess");
	json_t *remove = json_object_get(body, "removeTenantAccess");
	if (!json_is_object(body) || json_object_size(body) != 1 || (!add && !remove)) {
		const char *first = json_is_object(body) ? json_object_iter_key(json_object_iter(body)) : NULL;
		return err__fail_class(err, EINVAL, "There is no such action: %.100s",
				       first ? first : "None");
	}
	if (access_change(db, c, flavor, add != NULL, add ? add : remove, err) < 0)
		return -1;
	return access_list(db, flavor, out, err);
}
