/* Keypairs: per user, generated (the private key is returned once and never
 * stored) or imported; Nova's fingerprint; the key_pairs quota. */
#include "cloud/compute/compute.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/sshkey.h"

static const struct compute_col cols[] = {
	{"name", COL_TEXT}, {"public_key", COL_TEXT}, {"fingerprint", COL_TEXT},
	{"type", COL_TEXT}, {"user_id", COL_TEXT}, {"created_at", COL_TIME}, {"id", COL_INT},
};

static const char select_cols[] =
	"SELECT name, public_key, fingerprint, type, user_id, created_at, id FROM compute_keypair";

/* The user whose keypairs are meant: user_id (2.10, admins) or the caller. */
static int target_user(const struct compute_caller *c, const char *user_id, const char *rule,
		       const char **out, struct st_err *err)
{
	if (user_id && c->mv < 10)
		user_id = NULL;
	*out = user_id ? user_id : c->user_id;
	return compute_policy__check(c, rule, *out, err);
}

/* Nova's shape: type from 2.2 on; the list shows name, public_key,
 * fingerprint (and type). */
static void shape(const struct compute_caller *c, json_t *k, bool full)
{
	if (c->mv < 2)
		json_object_del(k, "type");
	if (!full) {
		json_object_del(k, "user_id");
		json_object_del(k, "created_at");
		json_object_del(k, "id");
		return;
	}
	json_object_set_new(k, "deleted", json_false());
	json_object_set_new(k, "deleted_at", json_null());
	json_object_set_new(k, "updated_at", json_null());
}

static int find(struct db *db, const char *user, const char *name, json_t **out,
		struct st_err *err)
{
	char sql[256], msg[600];
	snprintf(sql, sizeof(sql), "%s WHERE user_id = ? AND name = ?", select_cols);
	snprintf(msg, sizeof(msg), "Keypair %.255s not found for user %.64s", name, user);
	return compute_db__object(db, sql, (const char *[]){user, name}, 2, cols, ST_ARRAY_SIZE(cols),
				  out, msg, err);
}

int compute__keypair_get(struct db *db, const struct compute_caller *c, const char *name,
			 const struct compute_query *q, json_t **out, struct st_err *err)
{
	const char *user;
	if (target_user(c, compute_valid__query(q, "user_id"), "os_compute_api:os-keypairs:show",
			&user, err) < 0 ||
	    find(db, user, name, out, err) < 0)
		return -1;
	shape(c, *out, true);
	return 0;
}

int compute__keypair_list(struct db *db, const struct compute_caller *c,
			  const struct compute_query *q, json_t **out, struct st_err *err)
{
	const char *user;
	char sql[256];
	if (target_user(c, compute_valid__query(q, "user_id"), "os_compute_api:os-keypairs:index",
			&user, err) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "%s WHERE user_id = ? ORDER BY id", select_cols);
	/* paging from 2.35 */
	struct compute_db_list l = {sql, &user, 1, cols, ST_ARRAY_SIZE(cols),
				    c->mv >= 35 ? "name" : NULL, shape, false};
	return compute_db__list(db, c, q, &l, out, err);
}

int compute__keypair_delete(struct db *db, const struct compute_caller *c, const char *name,
			    const struct compute_query *q, struct st_err *err)
{
	const char *user;
	if (target_user(c, compute_valid__query(q, "user_id"), "os_compute_api:os-keypairs:delete",
			&user, err) < 0)
		return -1;
	int n = db__exec(db, "DELETE FROM compute_keypair WHERE user_id = ? AND name = ?",
			 (const char *[]){user, name}, 2, err);
	if (n == 0)
		return err__fail_class(err, ENOENT, "Keypair %.255s not found for user %.64s", name, user);
	return n < 0 ? -1 : 0;
}

/* --- create --- */

struct new_keypair {
	const char *project, *user, *name, *type, *public_key;
	char fingerprint[SSHKEY_FINGERPRINT_LEN + 1];
};

static int insert_keypair(struct db *db, void *arg, struct st_err *err)
{
	struct new_keypair *k = arg;
	long long count, limit;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_keypair WHERE user_id = ?", &k->user,
			      1, &count, err) < 0 ||
	    compute__quota_limit(db, k->project, "key_pairs", &limit, err) < 0)
		return -1;
	if (limit >= 0 && count >= limit)
		return err__fail_class(err, EPERM, "Quota exceeded, too many key pairs.");
	char id[24], now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (compute_db__next_id(db, "compute_keypair", "id", id, err) < 0)
		return -1;
	const char *p[] = {id, k->user, k->name, k->type, k->public_key, k->fingerprint, now};
	if (db__exec(db, "INSERT INTO compute_keypair (id, user_id, name, type, public_key,"
		     " fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7, err) < 0) {
		if (err->errnum == EEXIST)
			return err__fail_class(err, EEXIST, "Key pair '%s' already exists.", k->name);
		return -1;
	}
	return 0;
}

static int parse_keypair(const struct compute_caller *c, json_t *body, struct new_keypair *k,
			 struct st_err *err)
{
	static const char *const keys[] = {"name", "public_key", "type", "user_id", NULL};
	json_t *kp;
	const char *user_id = NULL;
	if (compute_valid__member(body, "keypair", &kp, err) < 0)
		return -1;
	/* type from 2.2, user_id from 2.10: unexpected before */
	const char *const *allowed = keys;
	const char *const v2_1[] = {"name", "public_key", NULL}, *const v2_2[] = {"name", "public_key", "type", NULL};
	if (c->mv < 2)
		allowed = v2_1;
	else if (c->mv < 10)
		allowed = v2_2;
	if (compute_valid__keys(kp, allowed, err) < 0 ||
	    compute_valid__string(kp, "name", true, 1, 255, false, &k->name, err) < 0 ||
	    compute_valid__string(kp, "public_key", false, 1, 65535, false, &k->public_key, err) < 0 ||
	    compute_valid__string(kp, "type", false, 1, 16, false, &k->type, err) < 0 ||
	    compute_valid__string(kp, "user_id", false, 1, 255, false, &user_id, err) < 0)
		return -1;
	/* Nova's keypair name before 2.92: ^(?! )[a-zA-Z0-9. _-]+(?<! )$ */
	if (!compute_valid__chars(k->name, ". _-", true) || k->name[0] == ' ' ||
	    k->name[strlen(k->name) - 1] == ' ')
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute name. Value: "
				       "%.255s. It may hold only letters, digits, '.', ' ', '_' and "
				       "'-', and neither start nor end with a space", k->name);
	if (!k->type)
		k->type = "ssh";
	if (strcmp(k->type, "ssh") && strcmp(k->type, "x509"))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute type. Value: "
				       "%.16s. It is not one of ['ssh', 'x509']", k->type);
	if (!strcmp(k->type, "x509"))
		return err__fail_class(err, EINVAL, "Keypair data is invalid: x509 keypairs are not "
				       "supported by this cloud; use ssh");
	return target_user(c, user_id, "os_compute_api:os-keypairs:create", &k->user, err);
}

int compute__keypair_create(struct db *db, const struct compute_caller *c, json_t *body,
			    json_t **out, struct st_err *err)
{
	struct new_keypair k = {.project = c->project_id};
	cleanup_free char *private_pem = NULL, *made_public = NULL;
	if (parse_keypair(c, body, &k, err) < 0)
		return -1;
	if (!k.public_key) {
		if (sshkey__generate(&private_pem, &made_public, err) < 0)
			return -1;
		k.public_key = made_public;
	}
	if (sshkey__fingerprint(k.public_key, k.fingerprint, err) < 0 ||
	    compute_db__tx(db, insert_keypair, &k, err) < 0)
		return -1;
	*out = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", k.name, "public_key", k.public_key,
			 "fingerprint", k.fingerprint, "user_id", k.user, "type", k.type);
	if (private_pem)
		json_object_set_new(*out, "private_key", json_string(private_pem));
	if (c->mv < 2)
		json_object_del(*out, "type");
	return 0;
}
