/* Group membership (/v3/groups/{g}/users[/{u}], /v3/users/{u}/groups): the
 * group_member table and its API operations. A member's tokens carry the
 * group's roles from then on: roles are read when a token is validated. */
#include "cloud/identity/identity_ops.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"

int identity_db__group_member(struct db *db, char op, const char *group_id, const char *user_id,
			      struct st_err *err)
{
	const char *p[] = {group_id, user_id};
	int n;
	if (op == 'P')
		return db__exec(db, "INSERT INTO group_member (group_id, user_id) VALUES (?, ?)"
				    " ON CONFLICT DO NOTHING", p, 2, err) < 0 ? -1 : 0;
	if (op == 'D')
		n = db__exec(db, "DELETE FROM group_member WHERE group_id = ? AND user_id = ?", p, 2, err);
	else {
		cleanup_rows struct db_rows *rows = NULL;
		if (db__query(db, "SELECT 1 FROM group_member WHERE group_id = ? AND user_id = ?", p, 2,
			      &rows, err) < 0)
			return -1;
		n = (int)rows->nrows;
	}
	if (n < 0)
		return -1;
	return n ? 0 : err__fail_class(err, ENOENT, "User %s is not a member of group %s.", user_id,
				       group_id);
}

int identity_db__group_user_ids(struct db *db, const char *group_id, json_t **out,
				struct st_err *err)
{
	const char *p[] = {group_id};
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT user_id FROM group_member WHERE group_id = ? ORDER BY user_id", p, 1,
		      &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t r = 0; r < rows->nrows; r++)
		json_array_append_new(*out, json_string(db_rows__get(rows, r, 0)));
	return 0;
}

/* The rows (kind USER or GROUP) on the other side of group_member. */
static int members(struct db *db, enum identity_kind kind, const char *oid, json_t **out,
		   struct st_err *err)
{
	const char *p[] = {oid};
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, kind == IDENTITY_USER
				  ? "SELECT user_id FROM group_member WHERE group_id = ? ORDER BY user_id"
				  : "SELECT group_id FROM group_member WHERE user_id = ? ORDER BY group_id",
		      p, 1, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t r = 0; r < rows->nrows; r++) {
		json_t *row;
		if (identity_db__get(db, kind, db_rows__get(rows, r, 0), &row, NULL) < 0)
			continue;
		identity_ops__decorate(kind, row);
		if (kind == IDENTITY_GROUP) /* Keystone's expiring (federated) memberships */
			json_object_set_new(row, "membership_expires_at", json_null());
		json_array_append_new(*out, row);
	}
	return 0;
}

/* Keystone's target: {"target": {"group": row, "user": row}} and the URL's
 * ids; the first missing row goes to missing. */
static json_t *target_of(struct identity *id, const char *group_id, const char *user_id,
			 struct st_err *missing)
{
	json_t *t = json_object(), *row;
	if (group_id) {
		if (identity_db__get(id->db, IDENTITY_GROUP, group_id, &row, missing) == 0)
			json_object_set_new(t, "group", row);
	}
	if (user_id) {
		if (identity_db__get(id->db, IDENTITY_USER, user_id, &row, missing->errnum ? NULL : missing) == 0)
			json_object_set_new(t, "user", row);
	}
	json_t *target = json_pack("{s:o}", "target", t);
	if (group_id)
		json_object_set_new(target, "group_id", json_string(group_id));
	if (user_id)
		json_object_set_new(target, "user_id", json_string(user_id));
	return target;
}

/* The rule on the target, then 404 for what is missing. */
static int authorize(struct identity *id, const struct identity_caller *c, const char *rule,
		     const char *group_id, const char *user_id, struct st_err *err)
{
	struct st_err missing = {0};
	json_t *target = target_of(id, group_id, user_id, &missing);
	int rc = identity__authorize(id, c, rule, target, err);
	json_decref(target);
	if (rc == 0 && missing.errnum) {
		if (err)
			*err = missing;
		rc = -1;
	}
	return rc;
}

int identity_ops__group_member(struct identity *id, const struct identity_caller *c, char op,
			       const char *group_id, const char *user_id, struct st_err *err)
{
	const char *rule = op == 'P'   ? "identity:add_user_to_group"
			   : op == 'D' ? "identity:remove_user_from_group"
				       : "identity:check_user_in_group";
	if (authorize(id, c, rule, group_id, user_id, err) < 0)
		return -1;
	return identity_db__group_member(id->db, op, group_id, user_id, err);
}

int identity_ops__group_users(struct identity *id, const struct identity_caller *c,
			      const char *group_id, json_t **out, struct st_err *err)
{
	if (authorize(id, c, "identity:list_users_in_group", group_id, NULL, err) < 0)
		return -1;
	return members(id->db, IDENTITY_USER, group_id, out, err);
}

int identity_ops__user_groups(struct identity *id, const struct identity_caller *c,
			      const char *user_id, json_t **out, struct st_err *err)
{
	if (authorize(id, c, "identity:list_groups_for_user", NULL, user_id, err) < 0)
		return -1;
	return members(id->db, IDENTITY_GROUP, user_id, out, err);
}
