/* Host aggregates with metadata; an aggregate's "availability_zone"
 * metadata makes its hosts an availability zone (a host is in one zone at
 * most), as in Nova. The scheduler reads a host's merged metadata. */
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
#include "cloud/compute/hosts.h"

#define AZ_KEY "availability_zone"

static const struct compute_col cols[] = {
	{"id", COL_INT}, {"uuid", COL_TEXT}, {"name", COL_TEXT}, {"created_at", COL_TIME},
	{"updated_at", COL_TIME},
};

static const char select_cols[] = "SELECT id, uuid, name, created_at, updated_at FROM compute_aggregate";

/* Nova's aggregate: hosts, metadata, availability_zone, the deleted
 * fields; uuid from 2.41. */
static int shape(struct db *db, const struct compute_caller *c, json_t *a, bool brief,
		 struct st_err *err)
{
	char id[24];
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(a, "id")));
	const char *p = id;
	json_t *meta, *hosts;
	static const struct compute_col hcols[] = {{"host", COL_TEXT}};
	if (compute_db__pairs(db, "SELECT meta_key, meta_value FROM compute_aggregate_metadata"
			      " WHERE aggregate_id = ? ORDER BY meta_key", &p, 1, &meta, err) < 0)
		return -1;
	if (compute_db__objects(db, "SELECT host FROM compute_aggregate_host WHERE aggregate_id = ?"
				" ORDER BY host", &p, 1, hcols, 1, &hosts, err) < 0) {
		json_decref(meta);
		return -1;
	}
	json_t *az = json_object_get(meta, AZ_KEY);
	json_object_set_new(a, "availability_zone", az ? json_incref(az) : json_null());
	json_t *names = json_array();
	size_t i;
	json_t *h;
	json_array_foreach(hosts, i, h)
		json_array_append(names, json_object_get(h, "host"));
	json_decref(hosts);
	json_object_set_new(a, "deleted", json_false());
	json_object_set_new(a, "deleted_at", json_null());
	if (c->mv < 41)
		json_object_del(a, "uuid");
	if (brief) { /* create answers without them */
		json_decref(names);
		json_decref(meta);
		return 0;
	}
	json_object_set_new(a, "hosts", names);
	json_object_set_new(a, "metadata", meta);
	return 0;
}

/* The row; a non-integer id is no aggregate. */
static int find(struct db *db, const char *id, json_t **out, struct st_err *err)
{
	char sql[256], msg[320];
	snprintf(msg, sizeof(msg), "Aggregate %.256s could not be found.", id);
	if (!*id || !compute_valid__chars(id, "", true) || strlen(id) > 18 ||
	    strspn(id, "0123456789") != strlen(id))
		return err__fail_class(err, ENOENT, "%s", msg);
	snprintf(sql, sizeof(sql), "%s WHERE id = ?", select_cols);
	return compute_db__object(db, sql, &id, 1, cols, ST_ARRAY_SIZE(cols), out, msg, err);
}

static int reply_full(struct db *db, const struct compute_caller *c, const char *id, json_t **out,
		      struct st_err *err)
{
	if (find(db, id, out, err) < 0)
		return -1;
	if (shape(db, c, *out, false, err) < 0) {
		json_decref(*out);
		return -1;
	}
	return 0;
}

int compute__aggregate_get(struct db *db, const struct compute_caller *c, const char *id,
			   json_t **out, struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-aggregates:show", NULL, err) < 0)
		return -1;
	return reply_full(db, c, id, out, err);
}

int compute__aggregate_list(struct db *db, const struct compute_caller *c, json_t **out,
			    struct st_err *err)
{
	char sql[256];
	json_t *list, *a;
	size_t i;
	if (compute_policy__check(c, "os_compute_api:os-aggregates:index", NULL, err) < 0)
		return -1;
	snprintf(sql, sizeof(sql), "%s ORDER BY id", select_cols);
	if (compute_db__objects(db, sql, NULL, 0, cols, ST_ARRAY_SIZE(cols), &list, err) < 0)
		return -1;
	json_array_foreach(list, i, a) {
		if (shape(db, c, a, false, err) < 0) {
			json_decref(list);
			return -1;
		}
	}
	*out = list;
	return 0;
}

/* --- writes --- */

/* The zones other than az that the hosts (those of aggregate id, or the one
 * host) have through other aggregates: "" when none. */
static int zone_conflict(struct db *db, const char *id, const char *host, const char *az,
			 char *zones, size_t size, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	char sql[512];
	zones[0] = 0;
	if (!az)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT DISTINCT m.meta_value FROM compute_aggregate_metadata m"
		 " JOIN compute_aggregate_host h ON h.aggregate_id = m.aggregate_id"
		 " WHERE m.meta_key = 'availability_zone' AND m.aggregate_id <> ? AND %s ORDER BY 1",
		 host ? "h.host = ?"
		      : "h.host IN (SELECT host FROM compute_aggregate_host WHERE aggregate_id = ?)");
	if (db__query(db, sql, (const char *[]){id, host ? host : id}, 2, &rows, err) < 0)
		return -1;
	size_t n = 0;
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *z = db_rows__get(rows, r, 0);
		if (strcmp(z, az))
			n += (size_t)snprintf(zones + n, n < size ? size - n : 0, "%s'%s'", n ? ", " : "", z);
		if (n >= size)
			break;
	}
	return 0;
}

struct agg_write {
	const char *id, *name, *az, *host;
	json_t *metadata; /* set_metadata: {k: v or null} */
	bool set_az;      /* az (maybe NULL) replaces the zone */
	char op;          /* 'c' create, 'u' update, 'a' add_host, 'r' remove_host, 'm' metadata */
	char new_id[24];
};

static int set_meta(struct db *db, const char *id, const char *key, const char *value,
		    struct st_err *err)
{
	const char *p[] = {id, key, value};
	if (db__exec(db, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ? AND meta_key = ?",
		     p, 2, err) < 0)
		return -1;
	if (!value)
		return 0;
	return db__exec(db, "INSERT INTO compute_aggregate_metadata (aggregate_id, meta_key, meta_value)"
			" VALUES (?, ?, ?)", p, 3, err);
}

static int name_free(struct db *db, const char *name, const char *id, struct st_err *err)
{
	long long n;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_aggregate WHERE name = ? AND id <> ?",
			      (const char *[]){name, id ? id : "0"}, 2, &n, err) < 0)
		return -1;
	return n ? err__fail_class(err, EEXIST, "Aggregate %s already exists.", name) : 0;
}

static int create_tx(struct db *db, struct agg_write *w, struct st_err *err)
{
	char uuid[37], now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (name_free(db, w->name, NULL, err) < 0 ||
	    compute_db__next_id(db, "compute_aggregate", "id", w->new_id, err) < 0 ||
	    util__uuid4(uuid, err) < 0 ||
	    db__exec(db, "INSERT INTO compute_aggregate (id, uuid, name, created_at) VALUES (?, ?, ?, ?)",
		     (const char *[]){w->new_id, uuid, w->name, now}, 4, err) < 0)
		return -1;
	return w->az ? set_meta(db, w->new_id, AZ_KEY, w->az, err) : 0;
}

/* A new zone for the aggregate's hosts must not split any of them. */
static int check_zone(struct db *db, const char *id, const char *az, const char *verb,
		      int cls, struct st_err *err)
{
	char zones[512];
	if (zone_conflict(db, id, NULL, az, zones, sizeof(zones), err) < 0)
		return -1;
	if (zones[0])
		return err__fail_class(err, cls, "Cannot %s aggregate %s. Reason: One or more hosts "
				       "already in availability zone(s) [%s].", verb, id, zones);
	return 0;
}

static int host_tx(struct db *db, struct agg_write *w, struct st_err *err)
{
	const char *p[] = {w->id, w->host};
	if (w->op == 'r') {
		int n = db__exec(db, "DELETE FROM compute_aggregate_host WHERE aggregate_id = ? AND host = ?",
				 p, 2, err);
		if (n == 0)
			return err__fail_class(err, ENOENT, "Cannot remove host from aggregate %s. "
					       "Reason: Aggregate %s has no host %s.", w->id, w->id, w->host);
		return n;
	}
	char zones[512];
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT meta_value FROM compute_aggregate_metadata WHERE aggregate_id = ?"
		      " AND meta_key = 'availability_zone'", &w->id, 1, &rows, err) < 0 ||
	    zone_conflict(db, w->id, w->host, rows->nrows ? db_rows__get(rows, 0, 0) : NULL, zones,
			  sizeof(zones), err) < 0)
		return -1;
	if (zones[0])
		return err__fail_class(err, EEXIST, "Cannot add host to aggregate %s. Reason: One or "
				       "more hosts already in availability zone(s) [%s].", w->id, zones);
	if (db__exec(db, "INSERT INTO compute_aggregate_host (aggregate_id, host) VALUES (?, ?)", p, 2,
		     err) < 0) {
		if (err->errnum == EEXIST)
			return err__fail_class(err, EEXIST, "Aggregate %s already has host %s.", w->id,
					       w->host);
		return -1;
	}
	return 0;
}

static int write_tx(struct db *db, void *arg, struct st_err *err)
{
	struct agg_write *w = arg;
	json_t *row;
	char now[24];
	if (w->op == 'c')
		return create_tx(db, w, err);
	if (find(db, w->id, &row, err) < 0)
		return -1;
	json_decref(row);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (db__exec(db, "UPDATE compute_aggregate SET updated_at = ? WHERE id = ?",
		     (const char *[]){now, w->id}, 2, err) < 0)
		return -1;
	if (w->op == 'a' || w->op == 'r')
		return host_tx(db, w, err);
	if (w->name && (name_free(db, w->name, w->id, err) < 0 ||
			db__exec(db, "UPDATE compute_aggregate SET name = ? WHERE id = ?",
				 (const char *[]){w->name, w->id}, 2, err) < 0))
		return -1;
	if (w->metadata) {
		json_t *az = json_object_get(w->metadata, AZ_KEY);
		if (az && check_zone(db, w->id, json_string_value(az), "update metadata of", EINVAL, err) < 0)
			return -1;
		const char *key;
		json_t *v;
		json_object_foreach(w->metadata, key, v)
			if (set_meta(db, w->id, key, json_string_value(v), err) < 0)
				return -1;
	}
	if (w->set_az && (check_zone(db, w->id, w->az, "update", EINVAL, err) < 0 ||
			  set_meta(db, w->id, AZ_KEY, w->az, err) < 0))
		return -1;
	return 0;
}

/* name and availability_zone of a create or update body. */
static int parse_aggregate(json_t *body, struct agg_write *w, bool update, struct st_err *err)
{
	static const char *const keys[] = {"name", "availability_zone", NULL};
	json_t *a;
	if (compute_valid__member(body, "aggregate", &a, err) < 0 || compute_valid__keys(a, keys, err) < 0 ||
	    compute_valid__string(a, "name", !update, 1, 255, true, &w->name, err) < 0)
		return -1;
	if (update && !json_object_size(a))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute aggregate. "
				       "It does not have enough properties");
	json_t *az = json_object_get(a, "availability_zone");
	w->set_az = az != NULL;
	if (az && !json_is_null(az) &&
	    compute_valid__string(a, "availability_zone", true, 1, 255, true, &w->az, err) < 0)
		return -1;
	return 0;
}

int compute__aggregate_create(struct db *db, const struct compute_caller *c, json_t *body,
			      json_t **out, struct st_err *err)
{
	struct agg_write w = {.op = 'c'};
	if (compute_policy__check(c, "os_compute_api:os-aggregates:create", NULL, err) < 0 ||
	    parse_aggregate(body, &w, false, err) < 0 || compute_db__tx(db, write_tx, &w, err) < 0 ||
	    find(db, w.new_id, out, err) < 0)
		return -1;
	if (shape(db, c, *out, true, err) < 0) {
		json_decref(*out);
		return -1;
	}
	return 0;
}

int compute__aggregate_update(struct db *db, const struct compute_caller *c, const char *id,
			      json_t *body, json_t **out, struct st_err *err)
{
	struct agg_write w = {.op = 'u', .id = id};
	if (compute_policy__check(c, "os_compute_api:os-aggregates:update", NULL, err) < 0 ||
	    parse_aggregate(body, &w, true, err) < 0 || compute_db__tx(db, write_tx, &w, err) < 0)
		return -1;
	return reply_full(db, c, id, out, err);
}

static int delete_tx(struct db *db, void *arg, struct st_err *err)
{
	const char *id = arg;
	json_t *row;
	long long hosts;
	if (find(db, id, &row, err) < 0)
		return -1;
	json_decref(row);
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_aggregate_host WHERE aggregate_id = ?",
			      &id, 1, &hosts, err) < 0)
		return -1;
	if (hosts)
		return err__fail_class(err, EINVAL, "Cannot remove aggregate %s. Reason: Host aggregate "
				       "is not empty.", id);
	return db__exec(db, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id = ?", &id, 1,
			err) < 0 ||
	       db__exec(db, "DELETE FROM compute_aggregate WHERE id = ?", &id, 1, err) < 0 ? -1 : 0;
}

int compute__aggregate_delete(struct db *db, const struct compute_caller *c, const char *id,
			      struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-aggregates:delete", NULL, err) < 0)
		return -1;
	return compute_db__tx(db, delete_tx, (void *)id, err) < 0 ? -1 : 0;
}

/* set_metadata's {"metadata": {key: string or null}}: keys 1-255, values
 * at most 255 characters. */
static int parse_metadata(json_t *args, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"metadata", NULL};
	json_t *meta, *v;
	const char *key;
	if (compute_valid__keys(args, keys, err) < 0 ||
	    json_util__object(args, "set_metadata", "metadata", true, &meta, err) < 0)
		return err__class(err, EINVAL, -1);
	if (!json_is_object(meta))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute metadata. It is "
				       "not of type 'object'");
	json_object_foreach(meta, key, v) {
		if (!*key || strlen(key) > 255 || (!json_is_null(v) && (!json_is_string(v) ||
		    json_string_length(v) > 255 || strlen(json_string_value(v)) != json_string_length(v))))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute metadata. "
					       "Key %.255s: keys have 1 to 255 characters, values are "
					       "strings of at most 255 characters or null", key);
		if (!strcmp(key, AZ_KEY) && json_is_string(v) && !json_string_length(v))
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute metadata. "
					       "The availability zone must not be empty");
	}
	*out = meta;
	return 0;
}

int compute__aggregate_action(struct db *db, const struct compute_caller *c, const char *id,
			      json_t *body, json_t **out, struct st_err *err)
{
	static const struct {
		const char *action, *rule;
		char op;
	} actions[] = {
		{"add_host", "os_compute_api:os-aggregates:add_host", 'a'},
		{"remove_host", "os_compute_api:os-aggregates:remove_host", 'r'},
		{"set_metadata", "os_compute_api:os-aggregates:set_metadata", 'm'},
	};
	struct agg_write w = {.id = id};
	json_t *args = NULL;
	size_t i;
	for (i = 0; i < ST_ARRAY_SIZE(actions) && !args; i++)
		args = json_object_get(body, actions[i].action);
	if (!args || json_object_size(body) != 1) {
		const char *first = json_is_object(body) ? json_object_iter_key(json_object_iter(body)) : NULL;
		return err__fail_class(err, EINVAL, "There is no such action: %.100s", first ? first : "None");
	}
	i--;
	w.op = actions[i].op;
	if (compute_policy__check(c, actions[i].rule, NULL, err) < 0)
		return -1;
	if (!json_is_object(args))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. It is not of "
				       "type 'object'", actions[i].action);
	if (w.op == 'm' ? parse_metadata(args, &w.metadata, err) < 0
			: compute_valid__keys(args, (const char *const[]){"host", NULL}, err) < 0 ||
			  compute_valid__string(args, "host", true, 1, 255, true, &w.host, err) < 0)
		return -1;
	if (compute_db__tx(db, write_tx, &w, err) < 0)
		return -1;
	return reply_full(db, c, id, out, err);
}

/* --- what others read --- */

int compute__host_aggregate_metadata(struct db *db, const char *host, json_t **out,
				     struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT DISTINCT m.meta_key, m.meta_value FROM compute_aggregate_metadata m"
		      " JOIN compute_aggregate_host h ON h.aggregate_id = m.aggregate_id"
		      " WHERE h.host = ? ORDER BY 1, 2", &host, 1, &rows, err) < 0)
		return -1;
	json_t *meta = json_object();
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *key = db_rows__get(rows, r, 0);
		json_t *values = json_object_get(meta, key);
		if (!values)
			json_object_set_new(meta, key, values = json_array());
		json_array_append_new(values, json_string(db_rows__get(rows, r, 1)));
	}
	*out = meta;
	return 0;
}

/* Zone, host, up, enabled, heartbeat: the registered hosts (the first
 * parameter is the oldest heartbeat that still counts as up), then the
 * aggregates' hosts that are not registered. */
static const char zone_rows[] =
	"SELECT COALESCE(z.zone, '" COMPUTE_DEFAULT_AZ "'), h.host,"
	" CASE WHEN h.forced_down = 0 AND h.last_seen_up >= ? THEN 1 ELSE 0 END,"
	" 1 - h.disabled, h.last_seen_up FROM compute_host h LEFT JOIN"
	" (SELECT ah.host, MIN(m.meta_value) AS zone FROM compute_aggregate_metadata m"
	"  JOIN compute_aggregate_host ah ON ah.aggregate_id = m.aggregate_id"
	"  WHERE m.meta_key = 'availability_zone' GROUP BY ah.host) z ON z.host = h.host"
	" UNION ALL SELECT DISTINCT m.meta_value, ah.host, 0, 0, CAST(NULL AS BIGINT) FROM compute_aggregate_metadata m"
	" JOIN compute_aggregate_host ah ON ah.aggregate_id = m.aggregate_id"
	" WHERE m.meta_key = 'availability_zone'"
	" AND ah.host NOT IN (SELECT host FROM compute_host) ORDER BY 1, 2";

int compute__availability_zones(struct db *db, const struct compute_caller *c,
				const struct hosts_config *hosts, bool detail, json_t **out,
				struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	char since[24];
	const char *p = since;
	unsigned down = hosts && hosts->service_down_s ? hosts->service_down_s : HOSTS_SERVICE_DOWN_DEFAULT;
	snprintf(since, sizeof(since), "%lld", (long long)time(NULL) - (long long)down);
	if (compute_policy__check(c, detail ? "os_compute_api:os-availability-zone:detail"
					    : "os_compute_api:os-availability-zone:list", NULL, err) < 0 ||
	    db__query(db, zone_rows, &p, 1, &rows, err) < 0)
		return -1;
	json_t *zones = json_array(), *zone = NULL;
	for (size_t r = 0; r < rows->nrows; r++) {
		const char *name = db_rows__get(rows, r, 0), *host = db_rows__get(rows, r, 1);
		bool up = !strcmp(db_rows__get(rows, r, 2), "1"), enabled = !strcmp(db_rows__get(rows, r, 3), "1");
		if (!zone || strcmp(json_string_value(json_object_get(zone, "zoneName")), name)) {
			zone = json_pack("{s:s,s:{s:b},s:n}", "zoneName", name, "zoneState", "available", 0,
					 "hosts");
			json_array_append_new(zones, zone);
			if (detail)
				json_object_set_new(zone, "hosts", json_object());
		}
		if (enabled)
			json_object_set_new(json_object_get(zone, "zoneState"), "available", json_true());
		if (!detail)
			continue;
		const char *seen = db_rows__get(rows, r, 4);
		char t[32];
		if (seen)
			compute_db__isotime(strtoll(seen, NULL, 10), t);
		json_object_set_new(json_object_get(zone, "hosts"), host,
				    json_pack("{s:{s:b,s:b,s:o}}", "nova-compute", "available", up, "active",
					      enabled, "updated_at", seen ? json_string(t) : json_null()));
	}
	*out = zones;
	return 0;
}
