/* keystone-manage bootstrap: everything ensured, nothing duplicated. */
#include "cloud/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "cloud/identity/identity_db.h"
#include "cloud/identity/password.h"

/* The id of the row of kind whose filter column equals value; a new row from
 * fields (plus a fresh id) when there is none. */
static int ensure(struct db *db, enum identity_kind kind, const char *const *filters,
		  json_t *fields, char id[65], struct st_err *err)
{
	json_t *list;
	if (identity_db__list(db, kind, filters, &list, err) < 0) {
		json_decref(fields);
		return -1;
	}
	int rc = 0;
	if (json_array_size(list)) {
		snprintf(id, 65, "%s", json_string_value(json_object_get(json_array_get(list, 0), "id")));
	} else {
		json_t *idv = json_object_get(fields, "id");
		if (idv)
			snprintf(id, 65, "%s", json_string_value(idv));
		else if ((rc = identity_db__new_id(id, err)) == 0)
			json_object_set_new(fields, "id", json_string(id));
		if (rc == 0)
			rc = identity_db__insert(db, kind, fields, err);
	}
	json_decref(list);
	json_decref(fields);
	return rc;
}

/* identity_db__update with a new reference, dropped after. */
static int update_new(struct db *db, enum identity_kind kind, const char *id, json_t *changes,
		      struct st_err *err)
{
	int rc = identity_db__update(db, kind, id, changes, err);
	json_decref(changes);
	return rc;
}

static int ensure_roles(struct db *db, char admin[65], struct st_err *err)
{
	char member[65], reader[65];
	if (ensure(db, IDENTITY_ROLE, (const char *[]){"name", "admin", NULL},
		   json_pack("{s:s}", "name", "admin"), admin, err) < 0 ||
	    ensure(db, IDENTITY_ROLE, (const char *[]){"name", "member", NULL},
		   json_pack("{s:s}", "name", "member"), member, err) < 0 ||
	    ensure(db, IDENTITY_ROLE, (const char *[]){"name", "reader", NULL},
		   json_pack("{s:s}", "name", "reader"), reader, err) < 0)
		return -1;
	if (identity_db__imply(db, admin, member, err) < 0 ||
	    identity_db__imply(db, member, reader, err) < 0)
		return -1;
	return 0;
}

/* The services of the catalog: type, name, path under the public URL. */
static const struct {
	const char *type, *name, *path;
} catalog[] = {
	{"identity", "keystone", "/identity"},
	{"compute", "nova", "/compute/v2.1"},
	{"image", "glance", "/image"},
	{"network", "neutron", "/networking"},
};

static int ensure_service(struct db *db, const char *region, const char *base, size_t i,
			  struct st_err *err)
{
	char sid[65], eid[65], url[2048];
	if (ensure(db, IDENTITY_SERVICE, (const char *[]){"type", catalog[i].type, NULL},
		   json_pack("{s:s,s:s}", "type", catalog[i].type, "name", catalog[i].name), sid,
		   err) < 0)
		return -1;
	snprintf(url, sizeof(url), "%s%s", base, catalog[i].path);
	static const char *const interfaces[] = {"public", "internal", "admin"};
	for (size_t k = 0; k < 3; k++) {
		/* An endpoint per interface; a changed URL is updated in place. */
		const char *f[] = {"service_id", sid, "interface", interfaces[k], NULL};
		if (ensure(db, IDENTITY_ENDPOINT, f,
			   json_pack("{s:s,s:s,s:s,s:s}", "service_id", sid, "interface", interfaces[k],
				     "url", url, "region_id", region), eid, err) < 0 ||
		    update_new(db, IDENTITY_ENDPOINT, eid,
					json_pack("{s:s,s:s}", "url", url, "region_id", region), err) < 0)
			return -1;
	}
	return 0;
}

static int ensure_catalog(struct db *db, const struct identity_bootstrap *b, struct st_err *err)
{
	const char *region = b->region ? b->region : "RegionOne";
	char rid[65], base[2048];
	if (ensure(db, IDENTITY_REGION, (const char *[]){"id", region, NULL},
		   json_pack("{s:s}", "id", region), rid, err) < 0)
		return -1;
	size_t len = strlen(b->public_url);
	while (len && b->public_url[len - 1] == '/')
		len--;
	snprintf(base, sizeof(base), "%.*s", (int)len, b->public_url);
	for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++)
		if (ensure_service(db, region, base, i, err) < 0)
			return -1;
	return 0;
}

static int bootstrap_tx(struct identity *id, const struct identity_bootstrap *b,
			struct st_err *err)
{
	struct db *db = id->db;
	char dom[65], project[65], user[65], admin[65];
	char hash[PASSWORD_HASH_MAX];
	if (password__hash(b->admin_password, hash, err) < 0)
		return -1;
	if (ensure(db, IDENTITY_DOMAIN, (const char *[]){"id", IDENTITY_DEFAULT_DOMAIN, NULL},
		   json_pack("{s:s,s:s,s:s}", "id", IDENTITY_DEFAULT_DOMAIN, "name", "Default",
			     "description", "The default domain"), dom, err) < 0 ||
	    ensure(db, IDENTITY_PROJECT, (const char *[]){"domain_id", dom, "name", "admin", NULL},
		   json_pack("{s:s,s:s,s:s}", "name", "admin", "domain_id", dom, "description",
			     "Bootstrap project for initializing the cloud."), project, err) < 0 ||
	    ensure(db, IDENTITY_USER, (const char *[]){"domain_id", dom, "name", "admin", NULL},
		   json_pack("{s:s,s:s,s:I}", "name", "admin", "domain_id", dom, "created_at",
			     (json_int_t)time(NULL)), user, err) < 0 ||
	    update_new(db, IDENTITY_USER, user,
				json_pack("{s:s,s:b}", "password_hash", hash, "enabled", 1), err) < 0 ||
	    identity_db__user_failed_logins(db, user, 0, err) < 0 ||
	    ensure_roles(db, admin, err) < 0 ||
	    identity_db__assign(db, ASSIGN_USER_PROJECT, user, project, admin, err) < 0 ||
	    identity_db__assign(db, ASSIGN_USER_SYSTEM, user, "system", admin, err) < 0)
		return -1;
	return ensure_catalog(db, b, err);
}

int identity__bootstrap(struct identity *id, const struct identity_bootstrap *b,
			struct st_err *err)
{
	if (db__begin(id->db, err) < 0)
		return -1;
	if (bootstrap_tx(id, b, err) < 0) {
		db__rollback(id->db);
		return err__prefix(err, "bootstrap");
	}
	return db__commit(id->db, err);
}
