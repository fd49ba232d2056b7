/* Servers as Nova shows them (show, list, list detail with filters, sort
 * and paging) and the delete. The view carries no links (the HTTP layer,
 * routes_servers.c, adds them). */
#include "cloud/compute/servers.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_meta.h"
#include "cloud/compute/servers_nics.h"
#include "cloud/compute/servers_worker.h"

/* Nova's status from vm_state (nova.api.openstack.common._STATE_MAP). */
static const char *status_of(const char *vm, const char *task)
{
	static const struct {
		const char *vm, *status;
	} map[] = {
		{"building", "BUILD"}, {"active", "ACTIVE"}, {"stopped", "SHUTOFF"},
		{"paused", "PAUSED"}, {"suspended", "SUSPENDED"}, {"error", "ERROR"},
		{"deleted", "DELETED"}, {"soft-delete", "SOFT_DELETED"}, {"shelved", "SHELVED"},
		{"shelved_offloaded", "SHELVED_OFFLOADED"}, {"rescued", "RESCUE"}, {"resized", "VERIFY_RESIZE"},
	};
	if (vm && task && !strcmp(vm, "active") && !strcmp(task, "rebooting"))
		return "REBOOT";
	for (size_t i = 0; i < ST_ARRAY_SIZE(map); i++)
		if (vm && !strcmp(vm, map[i].vm))
			return map[i].status;
	return "UNKNOWN";
}

/* Nova's hostId: sha224(project_id + host), "" without a host. */
static json_t *host_id(const char *project, const char *host)
{
	if (!host)
		return json_string("");
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	char buf[512], out[2 * EVP_MAX_MD_SIZE + 1];
	snprintf(buf, sizeof(buf), "%s%s", project, host);
	EVP_Digest(buf, strlen(buf), md, &n, EVP_sha224(), NULL);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return json_string(out);
}

static json_t *iso(const json_t *epoch, bool zulu)
{
	if (!json_is_integer(epoch))
		return json_null();
	char t[40];
	time_t tt = (time_t)json_integer_value(epoch);
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(t, sizeof(t), zulu ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%dT%H:%M:%S.000000", &tm);
	return json_string(t);
}

static json_t *str_or(const json_t *row, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(row, key));
	return json_string(v ? v : dflt);
}

static void admin_fields(const struct compute_caller *c, const json_t *row, char *name, json_t *v)
{
	const char *host = json_string_value(json_object_get(row, "host"));
	json_object_set_new(v, "OS-EXT-SRV-ATTR:host", host ? json_string(host) : json_null());
	json_object_set_new(v, "OS-EXT-SRV-ATTR:hypervisor_hostname", host ? json_string(host) : json_null());
	json_object_set_new(v, "OS-EXT-SRV-ATTR:instance_name", json_string(name));
	if (c->mv < 3)
		return;
	const json_t *props = json_object_get(json_object_get(json_object_get(row, "request_spec"), "image"),
					      "properties");
	json_object_set_new(v, "OS-EXT-SRV-ATTR:reservation_id", str_or(row, "reservation_id", ""));
	json_object_set(v, "OS-EXT-SRV-ATTR:launch_index", json_object_get(row, "launch_index"));
	json_object_set_new(v, "OS-EXT-SRV-ATTR:hostname", str_or(row, "name", ""));
	json_object_set_new(v, "OS-EXT-SRV-ATTR:kernel_id", str_or(props, "kernel_id", ""));
	json_object_set_new(v, "OS-EXT-SRV-ATTR:ramdisk_id", str_or(props, "ramdisk_id", ""));
	json_object_set_new(v, "OS-EXT-SRV-ATTR:root_device_name", json_string("/dev/vda"));
	json_t *ud = json_object_get(row, "user_data");
	json_object_set(v, "OS-EXT-SRV-ATTR:user_data", ud ? ud : json_null());
	if (c->mv >= 16) {
		const char *st = json_string_value(json_object_get(row, "host_status"));
		json_object_set_new(v, "host_status", json_string(host ? (st ? st : "UNKNOWN") : ""));
	}
}

static json_t *flavor_view(const struct compute_caller *c, const json_t *row)
{
	const json_t *f = json_object_get(row, "flavor");
	if (c->mv < 47)
		return json_pack("{s:O}", "id", json_object_get(f, "id"));
	json_t *v = json_deep_copy(f);
	json_object_del(v, "id");
	return v;
}

/* Nova's detailed view of a row. */
static json_t *view(const struct compute_caller *c, const json_t *row)
{
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	const char *task = json_string_value(json_object_get(row, "task_state"));
	const char *status = status_of(vm, task);
	const char *host = json_string_value(json_object_get(row, "host"));
	const char *az = json_string_value(json_object_get(row, "availability_zone"));
	char name[32];
	snprintf(name, sizeof(name), "instance-%08llx", (long long)json_integer_value(json_object_get(row, "id")));
	json_t *v = json_pack("{s:O, s:O, s:s, s:O, s:O, s:O, s:o, s:{s:O}, s:o, s:o, s:o, s:{},"
			      " s:o, s:o, s:s, s:s, s:s, s:O?, s:o, s:o, s:o, s:O, s:[], s:[{s:s}]}",
			      "id", json_object_get(row, "uuid"), "name", json_object_get(row, "name"),
			      "status", status, "tenant_id", json_object_get(row, "project_id"),
			      "user_id", json_object_get(row, "user_id"), "metadata", json_object_get(row, "metadata"),
			      "hostId", host_id(json_string_value(json_object_get(row, "project_id")), host),
			      "image", "id", json_object_get(row, "image_ref"), "flavor", flavor_view(c, row),
			      "created", iso(json_object_get(row, "created_at"), true),
			      "updated", iso(json_object_get(row, "updated_at"), true), "addresses",
			      "accessIPv4", str_or(row, "access_ipv4", ""), "accessIPv6", str_or(row, "access_ipv6", ""),
			      "OS-DCF:diskConfig", "MANUAL", "OS-EXT-AZ:availability_zone",
			      az ? az : host ? COMPUTE_DEFAULT_AZ : "", "config_drive",
			      json_is_true(json_object_get(json_object_get(row, "request_spec"), "config_drive")) ? "True" : "",
			      "key_name", json_object_get(row, "key_name"),
			      "OS-SRV-USG:launched_at", iso(json_object_get(row, "launched_at"), false),
			      "OS-SRV-USG:terminated_at", iso(json_object_get(row, "terminated_at"), false),
			      "OS-EXT-STS:task_state", task ? json_string(task) : json_null(),
			      "OS-EXT-STS:vm_state", json_object_get(row, "vm_state"),
			      "os-extended-volumes:volumes_attached", "security_groups", "name", "default");
	json_object_set(v, "OS-EXT-STS:power_state", json_object_get(row, "power_state"));
	if (!json_object_get(v, "key_name"))
		json_object_set_new(v, "key_name", json_null());
	if (!strcmp(status, "BUILD") || !strcmp(status, "ACTIVE"))
		json_object_set_new(v, "progress", json_integer(0));
	if (c->admin)
		admin_fields(c, row, name, v);
	if (c->mv >= 9)
		json_object_set_new(v, "locked", json_boolean(json_integer_value(json_object_get(row, "locked"))));
	if (c->mv >= 19)
		json_object_set(v, "description", json_object_get(row, "description") ?
				json_object_get(row, "description") : json_null());
	if (c->mv >= 26) {
		json_t *tags = json_object_get(row, "tags");
		json_object_set_new(v, "tags", tags ? json_incref(tags) : json_array());
	}
	const json_t *code = json_object_get(row, "fault_code");
	if (json_is_integer(code) && (!strcmp(status, "ERROR") || !strcmp(status, "DELETED"))) {
		json_t *f = json_pack("{s:O, s:O, s:o}", "code", code, "message",
				      json_object_get(row, "fault_message"), "created",
				      iso(json_object_get(row, "fault_created"), true));
		/* details: admins', or any fault that is not a 500 (Nova's rule) */
		if (c->admin || json_integer_value(code) != 500)
			json_object_set_new(f, "details", str_or(row, "fault_details", ""));
		json_object_set_new(v, "fault", f);
	}
	return v;
}

/* The row's host's host_status (Nova 2.16, admins' by Nova's default
 * policy), from map (hosts__status_map) or read when map is NULL. */
static int attach_host_status(struct servers *s, const struct compute_caller *c, json_t *row,
			      json_t *map, struct st_err *err)
{
	const char *host = json_string_value(json_object_get(row, "host"));
	if (!c->admin || c->mv < 16 || !host)
		return 0;
	cleanup_json json_t *mine = NULL;
	if (!map && hosts__status_map(s->db, s->hosts, &mine, err) < 0)
		return -1;
	json_t *st = json_object_get(map ? map : mine, host);
	if (st)
		json_object_set(row, "host_status", st);
	return 0;
}

int servers__find(struct servers *s, const struct compute_caller *c, const char *id, const char *rule,
		  json_t **row, struct st_err *err)
{
	if (servers_db__get(s->db, id, row, err) < 0)
		return -1;
	const char *owner = json_string_value(json_object_get(*row, "project_id"));
	if (compute_policy__check(c, rule, owner, err) < 0) {
		json_decref(*row);
		*row = NULL;
		/* another project's server is not there for the caller, as in Nova */
		return err__fail_class(err, ENOENT, "Instance %.64s could not be found.", id);
	}
	return 0;
}

int servers__get(struct servers *s, const struct compute_caller *c, const char *id,
		 json_t **out, struct st_err *err)
{
	json_t *row;
	if (servers__find(s, c, id, "os_compute_api:servers:show", &row, err) < 0)
		return -1;
	if ((c->mv >= 26 && servers_meta__attach_tags(s->db, row, err) < 0) ||
	    attach_host_status(s, c, row, NULL, err) < 0) {
		json_decref(row);
		return -1;
	}
	*out = view(c, row);
	servers_nics__addresses(s, *out);
	json_decref(row);
	return 0;
}

int servers__delete(struct servers *s, const struct compute_caller *c, const char *id,
		    struct st_err *err)
{
	json_t *row;
	static const struct servers_actions_guard any = {"delete", NULL, NULL, true, false, false};
	if (servers__find(s, c, id, "os_compute_api:servers:delete", &row, err) < 0)
		return -1;
	int locked = servers_actions__check(c, row, &any, err);
	json_decref(row);
	if (locked < 0 || servers_actions__record(s->db, c, id, "delete", NULL, NULL, err) < 0)
		return -1;
	/* building: the build's worker finishes the delete at its next step */
	int n = db__exec(s->db, "UPDATE compute_server SET task_state = 'deleting' WHERE uuid = ? AND"
			 " deleted = 0 AND vm_state = 'building'", &id, 1, err);
	if (n < 0)
		return -1;
	if (n > 0)
		return 0;
	const char *p[] = {s->controller, id};
	n = db__exec(s->db, "UPDATE compute_server SET task_state = 'deleting', controller = ? WHERE uuid = ?"
		     " AND deleted = 0 AND vm_state != 'building' AND (task_state IS NULL OR"
		     " task_state != 'deleting')", p, 2, err);
	if (n < 0)
		return -1;
	if (n > 0)
		servers_worker__delete(s, id);
	return 0;
}

/* Nova's regexp match of ?name= (Python's re.search). */
static bool name_matches(const char *pattern, const char *name)
{
	regex_t re;
	if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
		return strstr(name, pattern) != NULL;
	bool m = regexec(&re, name, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

static bool passes(const struct compute_caller *c, const struct compute_query *q, const json_t *row,
		   json_t *v)
{
	const char *name = compute_valid__query(q, "name");
	const char *status = compute_valid__query(q, "status");
	const char *image = compute_valid__query(q, "image");
	const char *flavor = compute_valid__query(q, "flavor");
	const char *host = compute_valid__query(q, "host");
	const char *rid = compute_valid__query(q, "reservation_id");
	const char *since = compute_valid__query(q, "changes-since");
	const char *rhost = json_string_value(json_object_get(row, "host"));
	const char *fid = json_string_value(json_object_get(json_object_get(row, "flavor"), "id"));
	if (name && !name_matches(name, json_string_value(json_object_get(row, "name"))))
		return false;
	if (status && strcasecmp(status, json_string_value(json_object_get(v, "status"))))
		return false;
	if (image && strcmp(image, json_string_value(json_object_get(row, "image_ref"))))
		return false;
	if (flavor && (!fid || strcmp(flavor, fid)))
		return false;
	/* host is an admin's filter; Nova ignores it for others */
	if (host && c->admin && (!rhost || strcmp(host, rhost)))
		return false;
	if (rid && strcmp(rid, json_string_value(json_object_get(row, "reservation_id"))))
		return false;
	if (!servers_meta__tags_pass(q, json_object_get(row, "tags")))
		return false;
	if (since) {
		struct tm tm = {0};
		if (!strptime(since, "%Y-%m-%dT%H:%M:%S", &tm))
			return true;
		if ((long long)json_integer_value(json_object_get(row, "updated_at")) < (long long)timegm(&tm))
			return false;
	}
	return true;
}

int servers__list(struct servers *s, const struct compute_caller *c,
		  const struct compute_query *q, bool detail, json_t **out, struct st_err *err)
{
	struct st_err ignored = {0};
	const char *rule = detail ? "os_compute_api:servers:detail" : "os_compute_api:servers:index";
	char all_rule[96];
	snprintf(all_rule, sizeof(all_rule), "%s:get_all_tenants", rule);
	if (compute_policy__check(c, rule, c->project_id, err) < 0)
		return -1;
	const char *at = compute_valid__query(q, "all_tenants");
	bool all = at && compute_valid__bool_text(at) != 0 &&
		   compute_policy__check(c, all_rule, NULL, &ignored) == 0;
	const char *project = compute_valid__query(q, "project_id");
	if (!project)
		project = compute_valid__query(q, "tenant_id");
	if (!all || !project)
		project = all ? NULL : c->project_id;
	cleanup_json json_t *rows = NULL;
	if (servers_db__select(s->db, project ? "project_id = ? AND deleted = 0" : "deleted = 0",
			       &project, project ? 1 : 0, &rows, err) < 0)
		return -1;
	cleanup_json json_t *statuses = NULL;
	if (detail && c->admin && c->mv >= 16 && hosts__status_map(s->db, s->hosts, &statuses, err) < 0)
		return -1;
	json_t *list = json_array();
	size_t i;
	json_t *row;
	bool tags = c->mv >= 26 || servers_meta__tags_asked(q);
	json_array_foreach(rows, i, row) {
		if ((tags && servers_meta__attach_tags(s->db, row, err) < 0) ||
		    (statuses && attach_host_status(s, c, row, statuses, err) < 0)) {
			json_decref(list);
			return -1;
		}
		json_t *v = view(c, row);
		if (!passes(c, q, row, v)) {
			json_decref(v);
			continue;
		}
		if (detail)
			servers_nics__addresses(s, v);
		else {
			json_t *brief = json_pack("{s:O, s:O}", "id", json_object_get(v, "id"), "name",
						  json_object_get(v, "name"));
			json_decref(v);
			v = brief;
		}
		json_array_append_new(list, v);
	}
	if (compute_valid__page(q, list, "id", NULL, err) < 0) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}
