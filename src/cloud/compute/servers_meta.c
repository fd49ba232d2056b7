/* A server's name, metadata and tags. Metadata lives in the server row
 * (a JSON object, as the create stored it): a change reads it FOR UPDATE,
 * checks the lock and state on that same row, and writes it back in one
 * transaction, so two changes never lose one another's keys. Tags are
 * rows of compute_server_tag. */
#include "cloud/compute/servers_meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_db.h"

/* Nova's instance states in which metadata may change (update_instance_metadata). */
static const char *const META_STATES[] = {"active", "paused", "suspended", "stopped", NULL};

int servers_meta__update(struct servers *s, const struct compute_caller *c, const char *id,
			 json_t *body, struct st_err *err)
{
	static const char *const keys[] = {"name", "description", "accessIPv4", "accessIPv6",
					   "OS-DCF:diskConfig", NULL};
	cleanup_json json_t *row = NULL;
	json_t *server;
	const char *name, *desc, *v4, *v6;
	if (servers__find(s, c, id, "os_compute_api:servers:update", &row, err) < 0 ||
	    compute_valid__member(body, "server", &server, err) < 0 ||
	    compute_valid__keys(server, keys, err) < 0 ||
	    compute_valid__string(server, "name", false, 1, 255, true, &name, err) < 0 ||
	    compute_valid__string(server, "accessIPv4", false, 0, 64, false, &v4, err) < 0 ||
	    compute_valid__string(server, "accessIPv6", false, 0, 64, false, &v6, err) < 0)
		return -1;
	json_t *d = json_object_get(server, "description");
	if (d && c->mv < 19)
		return err__fail_class(err, EINVAL, "Additional properties are not allowed ('description' was unexpected)");
	if (d && !json_is_null(d) &&
	    compute_valid__string(server, "description", false, 0, 255, false, &desc, err) < 0)
		return -1;
	const char *p[] = {name ? name : json_string_value(json_object_get(row, "name")),
			   d && json_is_string(d) ? json_string_value(d) : NULL,
			   v4 ? v4 : json_string_value(json_object_get(row, "access_ipv4")),
			   v6 ? v6 : json_string_value(json_object_get(row, "access_ipv6")), id};
	const char *set = d ? "name = ?, description = ?, access_ipv4 = ?, access_ipv6 = ?"
			    : "name = ?, access_ipv4 = ?, access_ipv6 = ?";
	if (!d)
		p[1] = p[2], p[2] = p[3], p[3] = p[4];
	if (servers_db__update(s->db, set, p, d ? 5 : 4, err) < 0)
		return -1;
	return 0;
}

static bool meta_key_ok(const char *k)
{
	return *k && strlen(k) <= 255 && compute_valid__chars(k, "-_:. ", true);
}

int servers_meta__check(struct db *db, const char *project, const json_t *meta,
			const char *field, struct st_err *err)
{
	if (!json_is_object(meta))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. It is not of "
				       "type 'object'", field);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)meta, k, v) {
		if (!meta_key_ok(k))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. Value: "
					       "%.64s. Keys must be 1 to 255 characters of [a-zA-Z0-9-_:. ]",
					       field, k);
		if (!json_is_string(v) || json_string_length(v) > 255)
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. Value of "
					       "%.64s must be a string of at most 255 characters", field, k);
	}
	long long limit;
	if (compute__quota_limit(db, project, "metadata_items", &limit, err) < 0)
		return -1;
	if (limit >= 0 && (long long)json_object_size(meta) > limit)
		return err__fail_class(err, EPERM, "Maximum number of metadata items exceeds %lld", limit);
	return 0;
}

int servers_meta__metadata_get(struct servers *s, const struct compute_caller *c, const char *id,
			       const char *key, json_t **out, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	if (servers__find(s, c, id, key ? "os_compute_api:server-metadata:show" :
			  "os_compute_api:server-metadata:index", &row, err) < 0)
		return -1;
	json_t *meta = json_object_get(row, "metadata");
	if (!key) {
		*out = json_pack("{s:O}", "metadata", meta);
		return 0;
	}
	json_t *v = json_object_get(meta, key);
	if (!v)
		return err__fail_class(err, ENOENT, "Metadata item was not found");
	*out = json_pack("{s:{s:O}}", "meta", key, v);
	return 0;
}

/* One metadata change in its transaction: the row read FOR UPDATE, then
 * checked, changed by fn and written. */
struct meta_tx {
	const struct compute_caller *c;
	const char *id, *method;
	json_t *meta; /* the row's, changed in place */
	int (*fn)(struct meta_tx *t, struct st_err *err);
	const char *key;
	json_t *arg;
	bool replace;
};

static int drop(struct meta_tx *t, struct st_err *err);

static int meta_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct meta_tx *t = arg;
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query_for_update(db, "SELECT metadata FROM compute_server WHERE uuid = ? AND deleted = 0",
				 &t->id, 1, &rows, err) < 0)
		return -1;
	cleanup_json json_t *row = NULL;
	if (servers_db__get(db, t->id, &row, err) < 0)
		return -1;
	/* an absent key is a 404 whatever the state (Nova looks first) */
	if (t->fn == drop && !json_object_get(json_object_get(row, "metadata"), t->key))
		return err__fail_class(err, ENOENT, "Metadata item was not found");
	struct servers_actions_guard g = {t->method, META_STATES, NULL, false, false, false};
	if (servers_actions__check(t->c, row, &g, err) < 0)
		return -1;
	t->meta = json_incref(json_object_get(row, "metadata"));
	if (t->fn(t, err) < 0 ||
	    servers_meta__check(db, json_string_value(json_object_get(row, "project_id")), t->meta,
				"metadata", err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(t->meta, JSON_COMPACT | JSON_SORT_KEYS);
	const char *p[] = {text, t->id};
	return servers_db__update(db, "metadata = ?", p, 2, err);
}

static int merge(struct meta_tx *t, struct st_err *err)
{
	(void)err;
	if (t->replace)
		json_object_clear(t->meta);
	if (t->key)
		return json_object_set(t->meta, t->key, json_object_get(t->arg, t->key));
	return json_object_update(t->meta, t->arg);
}

static int drop(struct meta_tx *t, struct st_err *err)
{
	if (json_object_del(t->meta, t->key) < 0)
		return err__fail_class(err, ENOENT, "Metadata item was not found");
	return 0;
}

static int run_meta(struct servers *s, struct meta_tx *t, const char *rule, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	int rc = -1;
	if (servers__find(s, t->c, t->id, rule, &row, err) == 0)
		rc = compute_db__tx(s->db, meta_in_tx, t, err);
	return rc < 0 ? -1 : 0;
}

int servers_meta__metadata_set(struct servers *s, const struct compute_caller *c, const char *id,
			       const char *key, bool replace, json_t *body, json_t **out,
			       struct st_err *err)
{
	/* PUT .../metadata/{key} sets that one key */
	struct meta_tx t = {.c = c, .id = id, .method = "update metadata", .fn = merge, .key = key,
			    .replace = replace && !key};
	const char *member = key ? "meta" : "metadata";
	const char *rule = key ? "os_compute_api:server-metadata:update" : replace ?
			   "os_compute_api:server-metadata:update_all" : "os_compute_api:server-metadata:create";
	if (!json_is_object(body) || !json_object_get(body, member))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. '%s' is a "
				       "required property", member, member);
	t.arg = json_object_get(body, member);
	if (json_object_size(body) != 1)
		return err__fail_class(err, EINVAL, "Additional properties are not allowed");
	if (servers_meta__check(s->db, c->project_id, t.arg, member, err) < 0)
		return -1;
	if (key && json_object_size(t.arg) != 1)
		return err__fail_class(err, EINVAL, "Request body contains too many items");
	if (key && !json_object_get(t.arg, key))
		return err__fail_class(err, EINVAL, "Request body and URI mismatch");
	int rc = run_meta(s, &t, rule, err);
	if (rc == 0)
		*out = key ? json_pack("{s:O}", "meta", t.arg) : json_pack("{s:O}", "metadata", t.meta);
	json_decref(t.meta);
	return rc;
}

int servers_meta__metadata_delete(struct servers *s, const struct compute_caller *c,
				  const char *id, const char *key, struct st_err *err)
{
	struct meta_tx t = {.c = c, .id = id, .method = "delete metadata", .fn = drop, .key = key};
	int rc = run_meta(s, &t, "os_compute_api:server-metadata:delete", err);
	json_decref(t.meta);
	return rc;
}
