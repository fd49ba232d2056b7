/* One host's reconciliation. The servers placed on the host are read
 * before and after its domains and volumes are listed: a build defines its
 * domain only after its claim put the host in its row, so a domain listed
 * is judged against the rows read after the listing (a server-like domain
 * that no row on this host owns is an orphan: its server is deleted, gone,
 * or was moved off after a failed attempt); a server's power state is
 * judged only when its row stayed the same across the listing with no task
 * in flight (a worker changes the host before it changes the row), and the
 * UPDATE is a compare-and-set on that row, so an action begun meanwhile
 * wins. Nova's _sync_instance_power_state decides the transitions; where
 * Nova only logs that an active (paused, suspended) instance's guest is
 * not found, the server here is ERROR with a fault saying so. */
#include "cloud/compute/servers_reconcile_host.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/servers_worker.h"

/* Nova's power states. */
enum { POWER_NOSTATE = 0, POWER_RUNNING = 1, POWER_PAUSED = 3, POWER_SHUTDOWN = 4 };

/* Columns of the rows read around the listing. */
enum { C_UUID, C_VM, C_TASK, C_POWER, C_UPDATED, C_ID, C_N };

static int rows_on(struct db *db, const char *host, struct db_rows **out, struct st_err *err)
{
	return db__query(db, "SELECT uuid, vm_state, COALESCE(task_state, ''), power_state, updated_at, id"
			 " FROM compute_server WHERE host = ? AND deleted = 0", &host, 1, out, err);
}

static long find_row(const struct db_rows *rows, const char *uuid)
{
	for (size_t i = 0; i < rows->nrows; i++)
		if (uuid && !strcasecmp(db_rows__get(rows, i, C_UUID), uuid))
			return (long)i;
	return -1;
}

static bool same_row(const struct db_rows *a, long i, const struct db_rows *b, long j)
{
	for (size_t c = 0; c < C_N; c++) {
		const char *x = db_rows__get(a, (size_t)i, c), *y = db_rows__get(b, (size_t)j, c);
		if (!x != !y || (x && strcmp(x, y)))
			return false;
	}
	return true;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* instance-XXXXXXXX: what the compute code names a server's domain. */
static bool server_like_domain(const char *name)
{
	return name && strlen(name) == 17 && !strncmp(name, "instance-", 9) && all_hex(name + 9, 8);
}

/* <uuid>-disk, -config, -kernel, -ramdisk: a server's volumes; the uuid into out. */
static bool server_like_volume(const char *name, char out[37])
{
	static const char *const kinds[] = {"disk", "config", "kernel", "ramdisk"};
	if (!name || strlen(name) < 38 || name[36] != '-')
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? name[i] != '-' : !isxdigit((unsigned char)name[i]))
			return false;
	}
	for (size_t k = 0; k < ST_ARRAY_SIZE(kinds); k++)
		if (!strcmp(name + 37, kinds[k])) {
			snprintf(out, 37, "%.36s", name);
			return true;
		}
	return false;
}

static int host_call(const struct servers_host *h, const char *method, const char *api, json_t **out,
		     struct st_err *err)
{
	struct http_client_target t;
	hosts__target(&h->ep, &t);
	json_t *ignored = NULL;
	int rc = http_client__json(&t, method, api, NULL, out ? out : &ignored, err);
	json_decref(ignored);
	return rc;
}

static void reap_domain(const struct servers_host *h, const char *name, const char *uuid)
{
	struct st_err err = {0};
	cleanup_json json_t *row = json_pack("{s:I, s:s}", "id", (json_int_t)strtoll(name + 9, NULL, 16), "uuid",
					     uuid ? uuid : "");
	log__warn("host %s: domain %s (uuid %s) belongs to no server on this host: reaping it", h->name, name,
		  uuid ? uuid : "none");
	if (servers_stratad__clean(h, row, &err) < 0)
		log__warn("host %s: reaping %s: %s", h->name, name, err.msg);
}

static void reap_volume(const struct servers_host *h, const char *name)
{
	struct st_err err = {0};
	char api[256];
	log__warn("host %s: volume %s belongs to no server on this host: removing it", h->name, name);
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s", h->pool, name);
	if (host_call(h, "DELETE", api, NULL, &err) < 0 && err.errnum != 404)
		log__warn("host %s: removing volume %s: %s", h->name, name, err.msg);
}

/* The power state a domain's state is (no domain: NOSTATE). */
static int power_of(const json_t *dom)
{
	const char *st = dom ? json_string_value(json_object_get(dom, "state")) : NULL;
	if (!st)
		return POWER_NOSTATE;
	return !strcmp(st, "running") ? POWER_RUNNING : !strcmp(st, "paused") ? POWER_PAUSED : POWER_SHUTDOWN;
}

static const json_t *find_domain(const json_t *doms, const char *uuid)
{
	size_t i;
	const json_t *d;
	json_array_foreach(doms, i, d) {
		const char *u = json_string_value(json_object_get(d, "uuid"));
		if (u && !strcasecmp(u, uuid))
			return d;
	}
	return NULL;
}

/* One server at rest against its domain (Nova's _sync_instance_power_state,
 * and a server whose domain is gone from its live host is ERROR). */
static void sync_power(struct servers *s, const struct servers_host *h, const struct db_rows *rows, long i,
		       const json_t *dom)
{
	const char *uuid = db_rows__get(rows, (size_t)i, C_UUID), *vm = db_rows__get(rows, (size_t)i, C_VM);
	int power = power_of(dom), was = atoi(db_rows__get(rows, (size_t)i, C_POWER));
	bool at_rest = !strcmp(vm, "active") || !strcmp(vm, "paused") || !strcmp(vm, "suspended") ||
		       !strcmp(vm, "stopped");
	if (!at_rest || (power == was && (power != POWER_NOSTATE || !strcmp(vm, "stopped"))))
		return;
	const char *to = vm;
	char msg[512] = "";
	/* gone: a stopped server only records it (Nova); any other cannot be
	 * what it says, and nothing on the host can bring it back */
	if (power == POWER_NOSTATE && strcmp(vm, "stopped"))
		to = "error";
	else if (power == POWER_SHUTDOWN && strcmp(vm, "stopped"))
		to = "stopped"; /* Nova: "Instance shutdown by itself. Calling the stop API." */
	if (!strcmp(to, "error"))
		snprintf(msg, sizeof(msg), "Instance instance-%08llx is gone from host %s: its domain is no "
			 "longer defined there (found by the power state sync)",
			 strtoll(db_rows__get(rows, (size_t)i, C_ID), NULL, 10), h->name);
	char pw[8], now[24], sql[640];
	snprintf(pw, sizeof(pw), "%d", power);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(sql, sizeof(sql), "UPDATE compute_server SET vm_state = ?, power_state = CAST(? AS INTEGER),"
		 " updated_at = CAST(? AS BIGINT)%s WHERE uuid = ? AND host = ? AND deleted = 0 AND task_state IS NULL"
		 " AND vm_state = ? AND updated_at = CAST(? AS BIGINT)",
		 msg[0] ? ", fault_code = 500, fault_message = ?, fault_details = NULL, fault_created = CAST(? AS BIGINT)"
			: "");
	const char *p[] = {to, pw, now, msg, now, uuid, h->name, vm, db_rows__get(rows, (size_t)i, C_UPDATED)};
	const char *q[] = {to, pw, now, uuid, h->name, vm, db_rows__get(rows, (size_t)i, C_UPDATED)};
	struct st_err err = {0};
	int n = msg[0] ? db__exec(s->db, sql, p, ST_ARRAY_SIZE(p), &err) : db__exec(s->db, sql, q, ST_ARRAY_SIZE(q), &err);
	if (n < 0)
		log__error("server %s: syncing its power state: %s", uuid, err.msg);
	else if (n > 0 && strcmp(to, vm))
		log__warn("server %s: host %s says %s: vm_state %s -> %s%s%s", uuid, h->name,
			  dom ? json_string_value(json_object_get(dom, "state")) : "no domain", vm, to,
			  msg[0] ? ": " : "", msg);
	else if (n > 0)
		log__info("server %s: power state %d -> %d (host %s)", uuid, was, power, h->name);
}

void servers_reconcile_host__sync(struct servers *s, const struct servers_host *h)
{
	struct st_err err = {0};
	cleanup_rows struct db_rows *before = NULL, *after = NULL;
	cleanup_json json_t *doms = NULL, *vols = NULL;
	char api[160];
	if (rows_on(s->db, h->name, &before, &err) < 0 || host_call(h, "GET", "/v1/domains", &doms, &err) < 0) {
		log__warn("reconciliation: host %s: %s", h->name, err.msg);
		return;
	}
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes", h->pool);
	if (host_call(h, "GET", api, &vols, &err) < 0)
		vols = json_array(); /* no instance pool: no volumes to judge */
	err = (struct st_err){0};
	if (rows_on(s->db, h->name, &after, &err) < 0) {
		log__warn("reconciliation: host %s: %s", h->name, err.msg);
		return;
	}
	size_t i;
	const json_t *d;
	json_array_foreach(doms, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		const char *uuid = json_string_value(json_object_get(d, "uuid"));
		if (server_like_domain(name) && find_row(after, uuid) < 0)
			reap_domain(h, name, uuid);
	}
	json_array_foreach(vols, i, d) {
		const char *name = json_string_value(json_object_get(d, "name"));
		char uuid[37];
		if (server_like_volume(name, uuid) && find_row(after, uuid) < 0)
			reap_volume(h, name);
	}
	for (size_t j = 0; j < after->nrows; j++) {
		long k = find_row(before, db_rows__get(after, j, C_UUID));
		if (k < 0 || !same_row(before, k, after, (long)j) || db_rows__get(after, j, C_TASK)[0])
			continue;
		sync_power(s, h, after, (long)j, find_domain(doms, db_rows__get(after, j, C_UUID)));
	}
}
