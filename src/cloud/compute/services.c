/* os-services and os-hypervisors: one row of compute_host is both. */
#include "cloud/compute/services.h"

#include <ctype.h>
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

#define BINARY "nova-compute"

/* Every host with its claims' sums, its state (the first parameter is the
 * oldest heartbeat that still counts as up) and its availability zone. */
static const char select_hosts[] =
	"SELECT h.id, h.service_uuid, h.hypervisor_uuid, h.host, h.host_ip, h.disabled,"
	" h.disabled_reason, h.forced_down, h.last_seen_up, h.vcpus, h.memory_mb, h.local_gb,"
	" h.disk_available_gb, h.cpu_info, h.hypervisor_version, COALESCE(c.n, 0),"
	" COALESCE(c.vcpus, 0), COALESCE(c.mem, 0), COALESCE(c.disk, 0),"
	" CASE WHEN h.forced_down = 0 AND h.last_seen_up >= ? THEN 'up' ELSE 'down' END,"
	" (SELECT MIN(m.meta_value) FROM compute_aggregate_metadata m JOIN compute_aggregate_host ah"
	"  ON ah.aggregate_id = m.aggregate_id WHERE ah.host = h.host"
	"  AND m.meta_key = 'availability_zone'),"
	" h.last_error"
	" FROM compute_host h LEFT JOIN (SELECT host, COUNT(*) AS n, SUM(vcpus) AS vcpus,"
	" SUM(memory_mb) AS mem, SUM(disk_gb) AS disk FROM compute_claim GROUP BY host) c"
	" ON c.host = h.host";

static const struct compute_col cols[] = {
	{"id", COL_INT}, {"service_uuid", COL_TEXT}, {"hypervisor_uuid", COL_TEXT},
	{"host", COL_TEXT}, {"host_ip", COL_TEXT}, {"disabled", COL_BOOL},
	{"disabled_reason", COL_TEXT}, {"forced_down", COL_BOOL}, {"updated_at", COL_TIME},
	{"vcpus", COL_INT}, {"memory_mb", COL_INT}, {"local_gb", COL_INT},
	{"disk_available_least", COL_INT}, {"cpu_info", COL_TEXT}, {"hypervisor_version", COL_INT},
	{"running_vms", COL_INT}, {"vcpus_used", COL_INT}, {"memory_mb_used", COL_INT},
	{"local_gb_used", COL_INT}, {"state", COL_TEXT}, {"zone", COL_TEXT}, {"last_error", COL_TEXT},
};

static void up_since(const struct hosts_config *cfg, char out[24])
{
	unsigned down = cfg && cfg->service_down_s ? cfg->service_down_s : HOSTS_SERVICE_DOWN_DEFAULT;
	snprintf(out, 24, "%lld", (long long)time(NULL) - (long long)down);
}

/* Moves key from one object to another (null when absent). */
static void move(json_t *to, const char *to_key, json_t *from, const char *key)
{
	json_t *v = json_object_get(from, key);
	json_object_set(to, to_key, v ? v : json_null());
}

/* A host row as Nova's service. */
static void service_shape(const struct compute_caller *c, json_t *h, bool detail)
{
	(void)detail;
	json_t *s = json_object();
	move(s, "id", h, c->mv >= 53 ? "service_uuid" : "id");
	json_object_set_new(s, "binary", json_string(BINARY));
	move(s, "host", h, "host");
	json_t *zone = json_object_get(h, "zone");
	json_object_set_new(s, "zone", json_is_string(zone) ? json_incref(zone) : json_string(COMPUTE_DEFAULT_AZ));
	json_object_set_new(s, "status", json_string(json_is_true(json_object_get(h, "disabled")) ? "disabled"
											 : "enabled"));
	move(s, "state", h, "state");
	move(s, "updated_at", h, "updated_at");
	move(s, "disabled_reason", h, "disabled_reason");
	if (c->mv >= 11)
		move(s, "forced_down", h, "forced_down");
	json_object_clear(h);
	json_object_update(h, s);
	json_decref(s);
}

/* A host row as Nova's hypervisor: the list's four fields, or its detail. */
static void hypervisor_shape(const struct compute_caller *c, json_t *h, bool detail)
{
	json_t *v = json_object();
	move(v, "id", h, c->mv >= 53 ? "hypervisor_uuid" : "id");
	move(v, "hypervisor_hostname", h, "host");
	move(v, "state", h, "state");
	json_object_set_new(v, "status", json_string(json_is_true(json_object_get(h, "disabled")) ? "disabled"
											  : "enabled"));
	if (detail) {
		static const char *const same[] = {"vcpus", "memory_mb", "local_gb", "vcpus_used",
						   "memory_mb_used", "local_gb_used", "hypervisor_version",
						   "running_vms", "disk_available_least", "host_ip"};
		for (size_t i = 0; i < ST_ARRAY_SIZE(same); i++)
			move(v, same[i], h, same[i]);
		json_object_set_new(v, "hypervisor_type", json_string("strata-vm"));
		long long mem = json_integer_value(json_object_get(h, "memory_mb"));
		long long disk = json_integer_value(json_object_get(h, "local_gb"));
		json_object_set_new(v, "free_ram_mb", json_integer(mem - json_integer_value(json_object_get(h, "memory_mb_used"))));
		json_object_set_new(v, "free_disk_gb", json_integer(disk - json_integer_value(json_object_get(h, "local_gb_used"))));
		json_object_set_new(v, "current_workload", json_integer(0));
		/* a JSON text before 2.28, an object from 2.28 on */
		const char *cpu = json_string_value(json_object_get(h, "cpu_info"));
		json_t *cpu_obj = cpu ? json_loads(cpu, 0, NULL) : NULL;
		if (c->mv >= 28)
			json_object_set_new(v, "cpu_info", cpu_obj ? cpu_obj : json_object());
		else {
			json_object_set_new(v, "cpu_info", json_string(cpu ? cpu : "{}"));
			json_decref(cpu_obj);
		}
		json_object_set_new(v, "service",
				    json_pack("{s:O,s:O,s:O}", "host", json_object_get(h, "host"), "id",
					      json_object_get(h, c->mv >= 53 ? "service_uuid" : "id"),
					      "disabled_reason", json_object_get(h, "disabled_reason")));
	}
	json_object_clear(h);
	json_object_update(h, v);
	json_decref(v);
}

/* The rows matching where (with its parameters after the up threshold). */
static int rows(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
		const struct compute_query *q, const char *where, const char *const *wparams,
		size_t nw, const char *page_key, void (*shape)(const struct compute_caller *, json_t *, bool),
		bool detail, json_t **out, struct st_err *err)
{
	char since[24], sql[2048];
	const char *params[4] = {since};
	up_since(cfg, since);
	for (size_t i = 0; i < nw && i < 3; i++)
		params[1 + i] = wparams[i];
	snprintf(sql, sizeof(sql), "%s%s ORDER BY h.id", select_hosts, where ? where : "");
	struct compute_db_list l = {sql, params, 1 + nw, cols, ST_ARRAY_SIZE(cols), page_key, shape, detail};
	return compute_db__list(db, c, q, &l, out, err);
}

int services__list(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
		   const struct compute_query *q, json_t **out, struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-services:list", NULL, err) < 0)
		return -1;
	const char *host = compute_valid__query(q, "host"), *binary = compute_valid__query(q, "binary");
	if (binary && strcmp(binary, BINARY)) {
		*out = json_array(); /* this cloud runs no other binary per host */
		return 0;
	}
	return rows(db, cfg, c, q, host ? " WHERE h.host = ?" : NULL, &host, host ? 1 : 0, NULL,
		    service_shape, false, out, err);
}

static bool is_uuid(const char *s)
{
	size_t n = strlen(s);
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* The host of a service or hypervisor id at the caller's microversion. */
static int find_id(struct db *db, const struct compute_caller *c, const char *id, bool hypervisor,
		   char host[HOSTS_NAME_MAX], struct st_err *err)
{
	const char *what = hypervisor ? "Hypervisor with ID" : "Service";
	bool ok = c->mv >= 53 ? is_uuid(id)
			      : *id && strspn(id, "0123456789") == strlen(id) && strlen(id) <= 18;
	/* Nova: a malformed hypervisor id is not found, a malformed service id a bad request */
	if (!ok && hypervisor)
		return err__fail_class(err, ENOENT, "%s %.64s could not be found.", what, id);
	if (!ok)
		return err__fail_class(err, EINVAL, "Invalid uuid %.64s", id);
	const char *sql = c->mv >= 53 ? (hypervisor ? "SELECT host FROM compute_host WHERE hypervisor_uuid = ?"
						  : "SELECT host FROM compute_host WHERE service_uuid = ?")
				      : "SELECT host FROM compute_host WHERE id = ?";
	cleanup_rows struct db_rows *r = NULL;
	if (db__query(db, sql, &id, 1, &r, err) < 0)
		return -1;
	if (!r->nrows)
		return err__fail_class(err, ENOENT, "%s %.64s could not be found.", what, id);
	snprintf(host, HOSTS_NAME_MAX, "%s", db_rows__get(r, 0, 0));
	return 0;
}

/* One host's row, shaped. */
static int one(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
	       const char *host, void (*shape)(const struct compute_caller *, json_t *, bool),
	       json_t **out, struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (rows(db, cfg, c, NULL, " WHERE h.host = ?", &host, 1, NULL, shape, true, &list, err) < 0)
		return -1;
	if (!json_array_size(list))
		return err__fail_class(err, ENOENT, "Compute host %s could not be found.", host);
	*out = json_incref(json_array_get(list, 0));
	return 0;
}

/* Sets status/forced_down of host: status NULL or "enabled"/"disabled";
 * forced -1 leaves it. */
static int set_state(struct db *db, const char *host, const char *status, const char *reason,
		     int forced, struct st_err *err)
{
	char t[24];
	snprintf(t, sizeof(t), "%lld", (long long)time(NULL));
	if (status) {
		const char *p[] = {strcmp(status, "disabled") ? "0" : "1",
				   strcmp(status, "disabled") ? NULL : reason, t, host};
		if (db__exec(db, "UPDATE compute_host SET disabled = ?, disabled_reason = ?, updated_at = ?"
			     " WHERE host = ?", p, 4, err) < 0)
			return -1;
	}
	if (forced >= 0) {
		const char *p[] = {forced ? "1" : "0", t, host};
		if (db__exec(db, "UPDATE compute_host SET forced_down = ?, updated_at = ? WHERE host = ?",
			     p, 3, err) < 0)
			return -1;
	}
	return 0;
}

int services__update(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
		     const char *id, json_t *body, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"status", "disabled_reason", "forced_down", NULL};
	char host[HOSTS_NAME_MAX];
	const char *status = NULL, *reason = NULL;
	bool forced = false;
	if (compute_policy__check(c, "os_compute_api:os-services:update", NULL, err) < 0 ||
	    compute_valid__keys(body, keys, err) < 0 ||
	    compute_valid__string(body, "status", false, 1, 255, false, &status, err) < 0 ||
	    compute_valid__string(body, "disabled_reason", false, 1, 255, false, &reason, err) < 0 ||
	    compute_valid__bool(body, "forced_down", false, &forced, err) < 0)
		return -1;
	if (status && strcmp(status, "enabled") && strcmp(status, "disabled"))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute status. Value: %.64s. "
				       "'%.64s' is not one of ['enabled', 'disabled']", status, status);
	bool has_forced = json_object_get(body, "forced_down") != NULL;
	if (!status && !has_forced)
		return err__fail_class(err, EINVAL, "At least one of 'status' or 'forced_down' should be "
				       "specified.");
	if (reason && (!status || strcmp(status, "disabled")))
		return err__fail_class(err, EINVAL, "Specifying 'disabled_reason' with status '%s' is "
				       "invalid.", status ? status : "null");
	if (find_id(db, c, id, false, host, err) < 0 ||
	    set_state(db, host, status, reason, has_forced ? forced : -1, err) < 0)
		return -1;
	return one(db, cfg, c, host, service_shape, out, err);
}

int services__action(struct db *db, const struct compute_caller *c, const char *action,
		     json_t *body, json_t **out, struct st_err *err)
{
	static const char *const actions[] = {"enable", "disable", "disable-log-reason", "force-down"};
	size_t a = 0;
	while (a < ST_ARRAY_SIZE(actions) && strcmp(actions[a], action))
		a++;
	if (a == ST_ARRAY_SIZE(actions) || (a == 3 && c->mv < 11))
		return err__fail_class(err, ENOENT, "Unknown action");
	static const char *const keys[] = {"host", "binary", "disabled_reason", "forced_down", NULL};
	const char *host = NULL, *binary = NULL, *reason = NULL;
	bool forced = false;
	if (compute_policy__check(c, "os_compute_api:os-services:update", NULL, err) < 0 ||
	    compute_valid__keys(body, keys, err) < 0 ||
	    compute_valid__string(body, "host", true, 1, 255, false, &host, err) < 0 ||
	    compute_valid__string(body, "binary", true, 1, 255, false, &binary, err) < 0 ||
	    compute_valid__string(body, "disabled_reason", a == 2, 1, 255, false, &reason, err) < 0 ||
	    compute_valid__bool(body, "forced_down", false, &forced, err) < 0)
		return -1;
	long long n = 0;
	if (!strcmp(binary, BINARY) &&
	    compute_db__count(db, "SELECT COUNT(*) FROM compute_host WHERE host = ?", &host, 1, &n, err) < 0)
		return -1;
	if (!n)
		return err__fail_class(err, ENOENT, "Service %.255s on host %.255s could not be found.",
				       binary, host);
	if (set_state(db, host, a == 0 ? "enabled" : a < 3 ? "disabled" : NULL, reason,
		      a == 3 ? forced : -1, err) < 0)
		return -1;
	*out = json_pack("{s:s,s:s}", "host", host, "binary", binary);
	if (a < 3)
		json_object_set_new(*out, "status", json_string(a == 0 ? "enabled" : "disabled"));
	if (a == 2)
		json_object_set_new(*out, "disabled_reason", json_string(reason));
	if (a == 3)
		json_object_set_new(*out, "forced_down", json_boolean(forced));
	return 0;
}

int services__delete(struct db *db, const struct compute_caller *c, const char *id,
		     struct st_err *err)
{
	char host[HOSTS_NAME_MAX];
	long long claims;
	const char *h = host;
	if (compute_policy__check(c, "os_compute_api:os-services:delete", NULL, err) < 0 ||
	    find_id(db, c, id, false, host, err) < 0 ||
	    compute_db__count(db, "SELECT COUNT(*) FROM compute_claim WHERE host = ?", &h, 1, &claims, err) < 0)
		return -1;
	if (claims)
		return err__fail_class(err, EEXIST, "Unable to delete compute service that is hosting "
				       "instances. Migrate or delete the instances first.");
	if (db__begin(db, err) < 0)
		return -1;
	if (db__exec(db, "DELETE FROM compute_aggregate_host WHERE host = ?", &h, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM compute_host WHERE host = ?", &h, 1, err) < 0) {
		db__rollback(db);
		return -1;
	}
	return db__commit(db, err);
}

int services__hypervisor_list(struct db *db, const struct hosts_config *cfg,
			      const struct compute_caller *c, const struct compute_query *q,
			      bool detail, json_t **out, struct st_err *err)
{
	if (compute_policy__check(c, detail ? "os_compute_api:os-hypervisors:list-detail"
					    : "os_compute_api:os-hypervisors:list", NULL, err) < 0)
		return -1;
	const char *pattern = c->mv >= 53 ? compute_valid__query(q, "hypervisor_hostname_pattern") : NULL;
	if (pattern && (compute_valid__query(q, "limit") || compute_valid__query(q, "marker")))
		return err__fail_class(err, EINVAL, "Paging over hypervisors with the "
				       "hypervisor_hostname_pattern query parameter is not supported.");
	cleanup_free char *like = NULL;
	if (pattern && asprintf(&like, "%%%s%%", pattern) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	/* paged (2.33) on the id shown: the integer before 2.53, then the UUID */
	const char *page_key = c->mv >= 33 ? (c->mv >= 53 ? "hypervisor_uuid" : "id") : NULL;
	const char *p = like;
	json_t *list;
	if (rows(db, cfg, c, q, pattern ? " WHERE h.host LIKE ?" : NULL, &p, pattern ? 1 : 0, page_key,
		 hypervisor_shape, detail, &list, err) < 0)
		return -1;
	if (pattern && !json_array_size(list)) {
		json_decref(list);
		return err__fail_class(err, ENOENT, "Hypervisor %.255s could not be found.", pattern);
	}
	*out = list;
	return 0;
}

int services__hypervisor_get(struct db *db, const struct hosts_config *cfg,
			     const struct compute_caller *c, const char *id, json_t **out,
			     struct st_err *err)
{
	char host[HOSTS_NAME_MAX];
	if (compute_policy__check(c, "os_compute_api:os-hypervisors:show", NULL, err) < 0 ||
	    find_id(db, c, id, true, host, err) < 0)
		return -1;
	return one(db, cfg, c, host, hypervisor_shape, out, err);
}

int services__hypervisor_search(struct db *db, const struct hosts_config *cfg,
				const struct compute_caller *c, const char *pattern, json_t **out,
				struct st_err *err)
{
	if (compute_policy__check(c, "os_compute_api:os-hypervisors:search", NULL, err) < 0)
		return -1;
	cleanup_free char *like = NULL;
	if (asprintf(&like, "%%%s%%", pattern) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	const char *p = like;
	if (rows(db, cfg, c, NULL, " WHERE h.host LIKE ?", &p, 1, NULL, hypervisor_shape, false, out,
		 err) < 0)
		return -1;
	if (json_array_size(*out))
		return 0;
	json_decref(*out);
	*out = NULL;
	return err__fail_class(err, ENOENT, "No hypervisor matching '%.255s' could be found.", pattern);
}

int services__hypervisor_statistics(struct db *db, const struct hosts_config *cfg,
				    const struct compute_caller *c, json_t **out,
				    struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (compute_policy__check(c, "os_compute_api:os-hypervisors:statistics", NULL, err) < 0 ||
	    rows(db, cfg, c, NULL, NULL, NULL, 0, NULL, hypervisor_shape, true, &list, err) < 0)
		return -1;
	static const char *const sums[] = {"vcpus", "memory_mb", "local_gb", "vcpus_used",
					   "memory_mb_used", "local_gb_used", "free_ram_mb",
					   "free_disk_gb", "current_workload", "running_vms",
					   "disk_available_least"};
	*out = json_pack("{s:I}", "count", (json_int_t)json_array_size(list));
	for (size_t k = 0; k < ST_ARRAY_SIZE(sums); k++) {
		long long total = 0;
		size_t i;
		json_t *h;
		json_array_foreach(list, i, h)
			total += json_integer_value(json_object_get(h, sums[k]));
		json_object_set_new(*out, sums[k], json_integer(total));
	}
	return 0;
}
