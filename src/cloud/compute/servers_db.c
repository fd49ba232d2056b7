/* Server rows and the claims on hosts. A claim is one transaction: the
 * host's totals row is made if missing, then a conditional UPDATE adds the
 * claim only if the result stays within the host's capacity. On PostgreSQL
 * the UPDATE takes the row's lock and re-checks its WHERE against the
 * newest committed row, so two transactions (threads or cloud nodes) can
 * never both pass on the last room; SQLite's transactions are serialized
 * (BEGIN IMMEDIATE). The parameters are text: the CASTs make SQLite
 * compare numbers (an integer is less than any text there, so without
 * them every claim would pass). */
#include "cloud/compute/servers_db.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"

static const char *const columns[] = {
	"uuid", "id", "name", "project_id", "user_id", "reservation_id", "launch_index", "flavor",
	"vcpus", "memory_mb", "disk_gb", "description",
	"image_ref", "key_name", "key_data", "availability_zone", "metadata", "user_data",
	"access_ipv4", "access_ipv6", "request_spec", "vm_state", "task_state", "power_state",
	"host", "node", "attempts", "fault_code", "fault_message", "fault_details", "fault_created",
	"launched_at", "terminated_at", "created_at", "updated_at", "deleted", "locked", "locked_by",
};

static bool is_int(const char *col)
{
	static const char *const ints[] = {"id", "launch_index", "vcpus", "memory_mb", "disk_gb", "power_state", "attempts",
		"fault_code", "fault_created", "launched_at", "terminated_at", "created_at",
		"updated_at", "deleted", "locked"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(ints); i++)
		if (!strcmp(col, ints[i]))
			return true;
	return false;
}

static bool is_json(const char *col)
{
	return !strcmp(col, "flavor") || !strcmp(col, "metadata") || !strcmp(col, "request_spec");
}

static json_t *cell(const char *col, const char *v)
{
	if (!v)
		return json_null();
	if (is_int(col))
		return json_integer(strtoll(v, NULL, 10));
	if (is_json(col)) {
		json_t *j = json_loads(v, 0, NULL);
		return j ? j : json_object();
	}
	return json_string(v);
}

int servers_db__select(struct db *db, const char *where, const char *const *params,
		       size_t nparams, json_t **out, struct st_err *err)
{
	char sql[1024];
	size_t off = (size_t)snprintf(sql, sizeof(sql), "SELECT ");
	for (size_t i = 0; i < ST_ARRAY_SIZE(columns); i++)
		off += (size_t)snprintf(sql + off, sizeof(sql) - off, "%s%s", i ? ", " : "", columns[i]);
	snprintf(sql + off, sizeof(sql) - off, " FROM compute_server WHERE %s"
		 " ORDER BY created_at DESC, id DESC", where);
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, sql, params, nparams, &rows, err) < 0)
		return -1;
	json_t *list = json_array();
	for (size_t r = 0; r < rows->nrows; r++) {
		json_t *o = json_object();
		for (size_t c = 0; c < ST_ARRAY_SIZE(columns); c++)
			json_object_set_new(o, columns[c], cell(columns[c], db_rows__get(rows, r, c)));
		json_array_append_new(list, o);
	}
	*out = list;
	return 0;
}

int servers_db__get(struct db *db, const char *uuid, json_t **out, struct st_err *err)
{
	json_t *list;
	if (servers_db__select(db, "uuid = ? AND deleted = 0", &uuid, 1, &list, err) < 0)
		return -1;
	if (!json_array_size(list)) {
		json_decref(list);
		return err__fail_class(err, ENOENT, "Instance %.64s could not be found.", uuid);
	}
	*out = json_incref(json_array_get(list, 0));
	json_decref(list);
	return 0;
}

int servers_db__update(struct db *db, const char *set, const char *const *params,
		       size_t nparams, struct st_err *err)
{
	char sql[1024];
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(sql, sizeof(sql), "UPDATE compute_server SET %s, updated_at = %s WHERE uuid = ?"
		 " AND deleted = 0 AND (task_state IS NULL OR task_state != 'deleting')", set, now);
	return db__exec(db, sql, params, nparams, err);
}

/* (total - reserved) * ratio, Nova's capacity; ratio 0: the configuration's. */
static int64_t capacity(int64_t total, int64_t reserved, double ratio, double dflt)
{
	return (int64_t)floor((double)(total - reserved) * (ratio > 0 ? ratio : dflt));
}

struct claim_tx {
	const struct servers_claim *cl;
	const struct scheduler_host *h;
	const struct scheduler_config *cfg;
};

static int claim_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct claim_tx *t = arg;
	const struct servers_claim *cl = t->cl;
	const struct scheduler_host *h = t->h;
	char v[24], m[24], d[24], cv[24], cm[24], cd[24], now[24];
	snprintf(v, sizeof(v), "%lld", (long long)cl->vcpus);
	snprintf(m, sizeof(m), "%lld", (long long)cl->memory_mb);
	snprintf(d, sizeof(d), "%lld", (long long)cl->disk_gb);
	snprintf(cv, sizeof(cv), "%lld", (long long)capacity(h->vcpus_total, h->vcpus_reserved,
		 h->cpu_allocation_ratio, t->cfg->cpu_allocation_ratio));
	snprintf(cm, sizeof(cm), "%lld", (long long)capacity(h->ram_total_mb, h->ram_reserved_mb,
		 h->ram_allocation_ratio, t->cfg->ram_allocation_ratio));
	snprintf(cd, sizeof(cd), "%lld", (long long)capacity(h->disk_total_gb, h->disk_reserved_gb,
		 h->disk_allocation_ratio, t->cfg->disk_allocation_ratio));
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (db__exec(db, "INSERT INTO compute_claim_total (host, vcpus, memory_mb, disk_gb, instances)"
		     " VALUES (?, 0, 0, 0, 0) ON CONFLICT (host) DO NOTHING", &cl->host, 1, err) < 0)
		return -1;
	const char *p[] = {v, m, d, cl->host, v, cv, m, cm, d, cd};
	int n = db__exec(db, "UPDATE compute_claim_total SET vcpus = vcpus + ?, memory_mb = memory_mb + ?,"
			 " disk_gb = disk_gb + ?, instances = instances + 1 WHERE host = ?"
			 " AND vcpus + CAST(? AS BIGINT) <= CAST(? AS BIGINT)"
			 " AND memory_mb + CAST(? AS BIGINT) <= CAST(? AS BIGINT)"
			 " AND disk_gb + CAST(? AS BIGINT) <= CAST(? AS BIGINT)", p, 10, err);
	if (n <= 0)
		return n;
	const char *c[] = {cl->instance, cl->host, v, m, d, now};
	if (db__exec(db, "INSERT INTO compute_claim (instance_uuid, host, vcpus, memory_mb, disk_gb,"
		     " created_at) VALUES (?, ?, ?, ?, ?, ?)", c, 6, err) < 0)
		return -1;
	if (cl->no_server)
		return 1;
	const char *s[] = {cl->host, cl->host, cl->instance};
	int changed = servers_db__update(db, "host = ?, node = ?, attempts = attempts + 1", s, 3, err);
	if (changed < 0)
		return -1;
	/* a delete came first: the transaction rolls back, nothing is held */
	if (!changed)
		return err__fail_class(err, ECANCELED, "server %s is being deleted", cl->instance);
	return 1;
}

int servers_db__claim(struct db *db, const struct servers_claim *cl,
		      const struct scheduler_host *h, const struct scheduler_config *cfg,
		      struct st_err *err)
{
	struct claim_tx t = {cl, h, cfg};
	return compute_db__tx(db, claim_in_tx, &t, err);
}

static int release_in_tx(struct db *db, void *arg, struct st_err *err)
{
	const char *instance = arg;
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query_for_update(db, "SELECT host, vcpus, memory_mb, disk_gb FROM compute_claim"
				 " WHERE instance_uuid = ?", &instance, 1, &rows, err) < 0)
		return -1;
	if (!rows->nrows)
		return 0;
	const char *p[] = {db_rows__get(rows, 0, 1), db_rows__get(rows, 0, 2),
			   db_rows__get(rows, 0, 3), db_rows__get(rows, 0, 0)};
	if (db__exec(db, "UPDATE compute_claim_total SET vcpus = vcpus - ?, memory_mb = memory_mb - ?,"
		     " disk_gb = disk_gb - ?, instances = instances - 1 WHERE host = ?", p, 4, err) < 0)
		return -1;
	return db__exec(db, "DELETE FROM compute_claim WHERE instance_uuid = ?", &instance, 1, err);
}

int servers_db__release(struct db *db, const char *instance, struct st_err *err)
{
	return compute_db__tx(db, release_in_tx, (void *)instance, err);
}
