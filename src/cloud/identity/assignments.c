/* Role assignments, implied roles, user secrets, the catalog and revocation
 * events: the identity tables that are not plain entities. */
#include "cloud/identity/identity_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

int identity_db__user_secret(struct db *db, const char *user_id, char **hash, int *failed_logins,
			     struct st_err *err)
{
	struct db_rows *rows;
	const char *p[] = {user_id};
	if (db__query(db, "SELECT password_hash, failed_logins FROM users WHERE id = ?", p, 1, &rows,
		      err) < 0)
		return -1;
	int rc = 0;
	if (rows->nrows == 0)
		rc = err__fail_class(err, ENOENT, "Could not find user: %s.", user_id);
	else {
		const char *h = db_rows__get(rows, 0, 0);
		*hash = h ? strdup(h) : NULL;
		*failed_logins = atoi(db_rows__get(rows, 0, 1));
	}
	db_rows__free(rows);
	return rc;
}

int identity_db__user_failed_logins(struct db *db, const char *user_id, int count,
				    struct st_err *err)
{
	char n[16];
	snprintf(n, sizeof(n), "%d", count);
	const char *p[] = {n, user_id};
	return db__exec(db, "UPDATE users SET failed_logins = ? WHERE id = ?", p, 2, err) < 0 ? -1 : 0;
}

int identity_db__assign(struct db *db, const char *type, const char *actor, const char *target,
			const char *role, struct st_err *err)
{
	const char *p[] = {type, actor, target, role};
	/* ON CONFLICT: a failed INSERT would end a PostgreSQL transaction. */
	int rc = db__exec(db, "INSERT INTO assignment (type, actor_id, target_id, role_id)"
			      " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", p, 4, err);
	if (rc < 0 && err && err->errnum == EINVAL)
		return err__fail_class(err, ENOENT, "Could not find role: %s.", role);
	return rc < 0 ? -1 : 0;
}

int identity_db__unassign(struct db *db, const char *type, const char *actor, const char *target,
			  const char *role, struct st_err *err)
{
	const char *p[] = {type, actor, target, role};
	int changed = db__exec(db, "DELETE FROM assignment WHERE type = ? AND actor_id = ? AND"
				   " target_id = ? AND role_id = ?", p, 4, err);
	if (changed < 0)
		return -1;
	return changed ? 0 : err__fail_class(err, ENOENT, "Could not find role assignment.");
}

int identity_db__assignments(struct db *db, const char *type, const char *actor,
			     const char *target, const char *role, json_t **out, struct st_err *err)
{
	/* "? IS NULL" needs a typed parameter on PostgreSQL: compare with ''. */
	const char *p[] = {type ? type : "", type ? type : "", actor ? actor : "",
			   actor ? actor : "", target ? target : "", target ? target : "",
			   role ? role : "", role ? role : ""};
	struct db_rows *rows;
	if (db__query(db, "SELECT type, actor_id, target_id, role_id FROM assignment WHERE"
			  " (? = '' OR type = ?) AND (? = '' OR actor_id = ?) AND"
			  " (? = '' OR target_id = ?) AND (? = '' OR role_id = ?)"
			  " ORDER BY type, actor_id, target_id, role_id",
		      p, 8, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s}", "type", db_rows__get(rows, r, 0),
						      "actor_id", db_rows__get(rows, r, 1), "target_id",
						      db_rows__get(rows, r, 2), "role_id",
						      db_rows__get(rows, r, 3)));
	db_rows__free(rows);
	*out = list;
	return 0;
}

int identity_db__imply(struct db *db, const char *prior, const char *implied, struct st_err *err)
{
	const char *p[] = {prior, implied};
	return db__exec(db, "INSERT INTO implied_role (prior_role_id, implied_role_id) VALUES (?, ?)"
			    " ON CONFLICT DO NOTHING", p, 2, err) < 0 ? -1 : 0;
}

int identity_db__effective_roles(struct db *db, const char *user_id, const char *target,
				 int system, json_t **out, struct st_err *err)
{
	/* Direct and group assignments, then implied roles to a fixed point
	 * (a recursive CTE: both engines have it, and it stops on cycles
	 * because UNION drops rows already seen). */
	const char *user_type = system ? ASSIGN_USER_SYSTEM : NULL;
	const char *group_type = system ? ASSIGN_GROUP_SYSTEM : NULL;
	const char *p[] = {user_id, target, user_type ? user_type : "", user_id, target,
			   group_type ? group_type : ""};
	struct db_rows *rows;
	if (db__query(db,
		      "WITH RECURSIVE r(id) AS ("
		      " SELECT role_id FROM assignment WHERE actor_id = ? AND target_id = ?"
		      "  AND (type = ? OR type IN ('UserProject', 'UserDomain'))"
		      " UNION SELECT a.role_id FROM assignment a JOIN group_member g"
		      "  ON a.actor_id = g.group_id WHERE g.user_id = ? AND a.target_id = ?"
		      "  AND (a.type = ? OR a.type IN ('GroupProject', 'GroupDomain'))"
		      " UNION SELECT i.implied_role_id FROM implied_role i JOIN r ON i.prior_role_id = r.id)"
		      " SELECT role.id, role.name FROM role JOIN r ON role.id = r.id ORDER BY role.name",
		      p, 6, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(list, json_pack("{s:s,s:s}", "id", db_rows__get(rows, r, 0), "name",
						      db_rows__get(rows, r, 1)));
	db_rows__free(rows);
	*out = list;
	return 0;
}

int identity_db__implied_closure(struct db *db, const char *role_id, json_t **out,
				 struct st_err *err)
{
	const char *p[] = {role_id, role_id};
	struct db_rows *rows;
	if (db__query(db, "WITH RECURSIVE r(id) AS (SELECT CAST(? AS TEXT) UNION SELECT"
			  " i.implied_role_id FROM implied_role i JOIN r ON i.prior_role_id = r.id)"
			  " SELECT id FROM r ORDER BY id = ? DESC, id", p, 2, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(*out, json_string(db_rows__get(rows, r, 0)));
	db_rows__free(rows);
	return 0;
}

int identity_db__catalog(struct db *db, json_t **out, struct st_err *err)
{
	struct db_rows *rows;
	if (db__query(db,
		      "SELECT s.id, s.type, s.name, e.id, e.interface, e.region_id, e.url"
		      " FROM service s JOIN endpoint e ON e.service_id = s.id"
		      " WHERE s.enabled = 1 AND e.enabled = 1 ORDER BY s.type, s.id, e.interface, e.id",
		      NULL, 0, &rows, err) < 0)
		return -1;
	json_t *catalog = json_array(), *service = NULL;
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *sid = db_rows__get(rows, r, 0);
		if (!service || strcmp(json_string_value(json_object_get(service, "id")), sid)) {
			service = json_pack("{s:s,s:s,s:s,s:[]}", "id", sid, "type", db_rows__get(rows, r, 1),
					    "name", db_rows__get(rows, r, 2), "endpoints");
			json_array_append_new(catalog, service);
		}
		const char *region = db_rows__get(rows, r, 5);
		json_t *ep = json_pack("{s:s,s:s,s:s}", "id", db_rows__get(rows, r, 3), "interface",
				       db_rows__get(rows, r, 4), "url", db_rows__get(rows, r, 6));
		json_object_set_new(ep, "region_id", region ? json_string(region) : json_null());
		json_object_set_new(ep, "region", region ? json_string(region) : json_null());
		json_array_append_new(json_object_get(service, "endpoints"), ep);
	}
	db_rows__free(rows);
	*out = catalog;
	return 0;
}

int identity_db__revoke(struct db *db, const char *audit_id, const char *user_id,
			const char *project_id, long long issued_before, struct st_err *err)
{
	char id[33], before[24], now[24];
	if (identity_db__new_id(id, err) < 0)
		return -1;
	snprintf(before, sizeof(before), "%lld", issued_before);
	snprintf(now, sizeof(now), "%lld", issued_before);
	const char *p[] = {id, audit_id, user_id, project_id, before, now};
	return db__exec(db, "INSERT INTO revocation_event (id, audit_id, user_id, project_id,"
			    " issued_before, revoked_at) VALUES (?, ?, ?, ?, ?, ?)", p, 6, err) < 0
		       ? -1
		       : 0;
}

int identity_db__is_revoked(struct db *db, const char *audit_id, const char *user_id,
			    const char *project_id, long long issued_at, struct st_err *err)
{
	char at[24];
	snprintf(at, sizeof(at), "%lld", issued_at);
	/* An event matches when every field it sets equals the token's. */
	const char *p[] = {at, audit_id ? audit_id : "", user_id ? user_id : "",
			   project_id ? project_id : ""};
	struct db_rows *rows;
	if (db__query(db, "SELECT 1 FROM revocation_event WHERE issued_before >= ?"
			  " AND (audit_id IS NULL OR audit_id = ?) AND (user_id IS NULL OR user_id = ?)"
			  " AND (project_id IS NULL OR project_id = ?) LIMIT 1",
		      p, 4, &rows, err) < 0)
		return -1;
	int revoked = rows->nrows > 0;
	db_rows__free(rows);
	return revoked;
}
