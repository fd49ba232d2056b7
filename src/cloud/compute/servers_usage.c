/* os-simple-tenant-usage as Nova's API computes it
 * (nova/api/openstack/compute/simple_tenant_usage.py): the servers whose
 * launch was before the period's end and that were not deleted before
 * its start, each charged its flavor's vCPUs, RAM and disk for the hours
 * of the period it existed in, summed per project. */
#include "cloud/compute/servers_usage.h"

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
#include "cloud/compute/servers_db.h"

/* Nova's accepted forms; absent: now. */
static int parse_time(const char *s, double *out, struct st_err *err)
{
	static const char *const forms[] = {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"};
	struct timespec now;
	if (!s) {
		clock_gettime(CLOCK_REALTIME, &now);
		*out = (double)now.tv_sec + now.tv_nsec / 1e9;
		return 0;
	}
	for (size_t i = 0; i < ST_ARRAY_SIZE(forms); i++) {
		struct tm tm = {0};
		const char *end = strptime(s, forms[i], &tm);
		if (!end)
			continue;
		double frac = 0;
		if (*end == '.') {
			char *stop;
			frac = strtod(end, &stop);
			end = stop;
		}
		if (*end == 'Z')
			end++;
		if (*end)
			continue;
		*out = (double)timegm(&tm) + frac;
		return 0;
	}
	return err__fail_class(err, EINVAL, "Datetime is in invalid format");
}

static json_t *iso(double t)
{
	char buf[40];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%06d", (int)((t - (double)tt) * 1e6));
	return json_string(buf);
}

/* Nova's _hours_for: launch to deletion, within the period. */
static double hours_for(const json_t *row, double start, double stop)
{
	double launched = (double)json_integer_value(json_object_get(row, "launched_at"));
	const json_t *t = json_object_get(row, "terminated_at");
	double ended = json_is_integer(t) ? (double)json_integer_value(t) : stop;
	double from = launched > start ? launched : start;
	double to = ended < stop ? ended : stop;
	return to > from ? (to - from) / 3600.0 : 0;
}

static json_t *server_usage(const json_t *row, double start, double stop, double now)
{
	const json_t *f = json_object_get(row, "flavor");
	const json_t *t = json_object_get(row, "terminated_at");
	double launched = (double)json_integer_value(json_object_get(row, "launched_at"));
	double ended = json_is_integer(t) ? (double)json_integer_value(t) : now;
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	json_t *u = json_pack("{s:O, s:O, s:f, s:O, s:O, s:O, s:O, s:O?, s:o, s:s, s:I}", "instance_id",
			      json_object_get(row, "uuid"), "name", json_object_get(row, "name"), "hours",
			      hours_for(row, start, stop), "memory_mb", json_object_get(row, "memory_mb"),
			      "local_gb", json_object_get(row, "disk_gb"), "vcpus", json_object_get(row, "vcpus"),
			      "tenant_id", json_object_get(row, "project_id"), "flavor",
			      json_object_get(f, json_object_get(f, "name") ? "name" : "original_name"), "started_at", iso(launched), "state",
			      json_is_integer(t) ? "terminated" : vm ? vm : "", "uptime",
			      (json_int_t)(ended - launched));
	json_object_set_new(u, "ended_at", json_is_integer(t) ? iso(ended) : json_null());
	return u;
}

/* One project's totals from its servers' usages. */
static json_t *tenant_usage(const char *tenant, json_t *servers, double start, double stop, bool detailed)
{
	double hours = 0, vcpus = 0, mem = 0, disk = 0;
	size_t i;
	json_t *u;
	json_array_foreach(servers, i, u) {
		double h = json_real_value(json_object_get(u, "hours"));
		hours += h;
		vcpus += h * (double)json_integer_value(json_object_get(u, "vcpus"));
		mem += h * (double)json_integer_value(json_object_get(u, "memory_mb"));
		disk += h * (double)json_integer_value(json_object_get(u, "local_gb"));
	}
	json_t *t = json_pack("{s:s, s:f, s:f, s:f, s:f, s:o, s:o}", "tenant_id", tenant, "total_hours", hours,
			      "total_vcpus_usage", vcpus, "total_memory_mb_usage", mem,
			      "total_local_gb_usage", disk, "start", iso(start), "stop", iso(stop));
	if (detailed)
		json_object_set(t, "server_usages", servers);
	return t;
}

int servers_usage__get(struct servers *s, const struct compute_caller *c, const char *tenant,
		       const struct compute_query *q, json_t **out, struct st_err *err)
{
	double start, stop, now;
	const char *start_text = compute_valid__query(q, "start"), *end_text = compute_valid__query(q, "end");
	if (compute_policy__check(c, tenant ? "os_compute_api:os-simple-tenant-usage:show" :
				  "os_compute_api:os-simple-tenant-usage:list", tenant, err) < 0 ||
	    parse_time(NULL, &now, err) < 0)
		return -1;
	start = stop = now; /* one reading: two could be equal in a double and fail the check below */
	if ((start_text && parse_time(start_text, &start, err) < 0) ||
	    (end_text && parse_time(end_text, &stop, err) < 0))
		return -1;
	/* neither given: Nova's two readings of now make an empty period, not an error */
	if (!(start < stop) && (start_text || end_text))
		return err__fail_class(err, EINVAL, "Invalid start time. The start time cannot occur after the end time.");
	const char *d = compute_valid__query(q, "detailed");
	bool detailed = tenant || (d && compute_valid__bool_text(d) == 1);
	char a[24], b[24];
	snprintf(a, sizeof(a), "%lld", (long long)stop);
	snprintf(b, sizeof(b), "%lld", (long long)start);
	const char *p[] = {a, b, tenant};
	cleanup_json json_t *rows = NULL;
	if (servers_db__select(s->db, tenant ? "launched_at IS NOT NULL AND launched_at < CAST(? AS BIGINT) AND"
			       " (terminated_at IS NULL OR terminated_at > CAST(? AS BIGINT)) AND project_id = ?"
			       : "launched_at IS NOT NULL AND launched_at < CAST(? AS BIGINT) AND"
			       " (terminated_at IS NULL OR terminated_at > CAST(? AS BIGINT))",
			       p, tenant ? 3 : 2, &rows, err) < 0)
		return -1;
	cleanup_json json_t *by = json_object();
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *project = json_string_value(json_object_get(row, "project_id"));
		if (!json_object_get(by, project))
			json_object_set_new(by, project, json_array());
		json_array_append_new(json_object_get(by, project), server_usage(row, start, stop, now));
	}
	const char *k;
	json_t *servers;
	if (tenant) {
		servers = json_object_get(by, tenant);
		*out = json_pack("{s:o}", "tenant_usage", servers ? tenant_usage(tenant, servers, start, stop, true)
								   : json_object());
		return 0;
	}
	json_t *list = json_array();
	json_object_foreach(by, k, servers)
		json_array_append_new(list, tenant_usage(k, servers, start, stop, detailed));
	if (c->mv >= 40 && compute_valid__page(q, list, "tenant_id", NULL, err) < 0) {
		json_decref(list);
		return -1;
	}
	*out = json_pack("{s:o}", "tenant_usages", list);
	return 0;
}
