/* POST /servers: Nova's request schema and checks (each a 400 with Nova's
 * message, or 403 for quotas, and nothing created), then the rows in BUILD
 * in one transaction that counts the project's quota usage, then the
 * worker (servers_worker.c) schedules and builds them. */
#include "cloud/compute/servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_meta.h"
#include "cloud/compute/servers_nics.h"
#include "cloud/compute/servers_worker.h"

#define SERVERS_MAX_COUNT 100 /* instances one request may ask for */

/* What a create asks for, checked. */
struct new_servers {
	const struct compute_caller *c;
	const char *controller; /* this controller's id: its worker builds them */
	const char *name, *description, *key_name, *user_data, *az, *ipv4, *ipv6;
	json_t *flavor;   /* Nova 2.47's embedded flavor, with "id" */
	json_t *image;    /* {"id", "disk_format", "os_hash_value", "size", "properties"} */
	json_t *metadata; /* borrowed */
	json_t *spec;     /* the scheduling request */
	char *key_data;
	long long min_count, max_count, count;
	long long vcpus, ram, disk;
	char reservation[16];
	json_t *uuids; /* made by insert */
};

static int bad(struct st_err *err, const char *fmt, const char *arg)
{
	return err__fail_class(err, EINVAL, fmt, arg);
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

/* flavorRef: an id, or a URL whose last segment is one (Nova's). */
static int load_flavor(struct db *db, struct new_servers *n, json_t *ref, struct st_err *err)
{
	char buf[64];
	const char *id;
	if (json_is_integer(ref)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(ref));
		id = buf;
	} else if (json_is_string(ref) && json_string_length(ref)) {
		id = json_string_value(ref);
		const char *slash = strrchr(id, '/');
		id = slash ? slash + 1 : id;
	} else {
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute flavorRef. "
				       "It must be a non-empty string or an integer");
	}
	static const struct compute_col cols[] = {
		{"id", COL_TEXT}, {"original_name", COL_TEXT}, {"ram", COL_INT}, {"vcpus", COL_INT},
		{"disk", COL_INT}, {"ephemeral", COL_INT}, {"swap", COL_INT},
	};
	char msg[128];
	snprintf(msg, sizeof(msg), "Flavor %.64s could not be found.", id);
	const char *p[] = {id, n->c->admin ? "1" : "0", n->c->project_id};
	if (compute_db__object(db, "SELECT flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap"
			       " FROM compute_flavor f WHERE flavorid = ? AND (is_public = 1 OR ? = '1'"
			       " OR EXISTS (SELECT 1 FROM compute_flavor_access a WHERE a.flavorid ="
			       " f.flavorid AND a.project_id = ?))", p, 3, cols, ST_ARRAY_SIZE(cols),
			       &n->flavor, msg, err) < 0) {
		if (err->errnum == ENOENT)
			err->errnum = EINVAL; /* Nova: FlavorNotFound on create is a 400 */
		return -1;
	}
	json_t *specs;
	if (compute__flavor_extra_specs(db, id, &specs, err) < 0)
		return -1;
	json_object_set_new(n->flavor, "extra_specs", specs);
	n->vcpus = json_integer_value(json_object_get(n->flavor, "vcpus"));
	n->ram = json_integer_value(json_object_get(n->flavor, "ram"));
	n->disk = json_integer_value(json_object_get(n->flavor, "disk")) +
		  json_integer_value(json_object_get(n->flavor, "ephemeral")) +
		  (json_integer_value(json_object_get(n->flavor, "swap")) + 1023) / 1024;
	return 0;
}

/* imageRef: a visible, active image the flavor is big enough for. */
static int load_image(struct servers *s, struct new_servers *n, json_t *server, struct st_err *err)
{
	const char *ref;
	if (compute_valid__string(server, "imageRef", false, 0, 2048, false, &ref, err) < 0)
		return -1;
	if (!ref || !*ref)
		return bad(err, "%s", "Can not find requested image"); /* no volume boot here */
	const char *slash = strrchr(ref, '/');
	const char *id = slash ? slash + 1 : ref;
	struct images_caller ic = {.admin = n->c->admin, .member = n->c->member || n->c->admin};
	snprintf(ic.user_id, sizeof(ic.user_id), "%s", n->c->user_id);
	snprintf(ic.project_id, sizeof(ic.project_id), "%s", n->c->project_id);
	cleanup_json json_t *rec = NULL;
	if (images__visible(s->images, &ic, id, &rec, err) < 0) {
		if (err->errnum == ENOENT)
			return bad(err, "%s", "Can not find requested image");
		return -1;
	}
	const char *status = json_string_value(json_object_get(rec, "status"));
	if (!status || strcmp(status, "active"))
		return bad(err, "Image %.64s is not active.", id);
	long long min_ram = json_integer_value(json_object_get(rec, "min_ram"));
	long long min_disk = json_integer_value(json_object_get(rec, "min_disk"));
	long long size = json_integer_value(json_object_get(rec, "size"));
	long long root = json_integer_value(json_object_get(n->flavor, "disk"));
	if (min_ram > n->ram)
		return bad(err, "%s", "Flavor's memory is too small for requested image.");
	if (root && (min_disk > root || size > root * 1024 * 1024 * 1024))
		return bad(err, "%s", "Flavor's disk is too small for requested image.");
	n->image = json_pack("{s:s, s:O, s:O, s:O, s:O}", "id", id, "disk_format",
			     json_object_get(rec, "disk_format"), "os_hash_value",
			     json_object_get(rec, "os_hash_value"), "size", json_object_get(rec, "size"),
			     "properties", json_object_get(rec, "properties"));
	return n->image ? 0 : err__fail(err, ENOMEM, "out of memory");
}

static int check_metadata(struct db *db, struct new_servers *n, json_t *server, struct st_err *err)
{
	n->metadata = json_object_get(server, "metadata");
	return n->metadata ? servers_meta__check(db, n->c->project_id, n->metadata, "metadata", err) : 0;
}

static int check_user_data(struct new_servers *n, json_t *server, struct st_err *err)
{
	if (compute_valid__string(server, "user_data", false, 0, 65535, false, &n->user_data, err) < 0)
		return -1;
	if (!n->user_data)
		return 0;
	size_t len = strlen(n->user_data);
	cleanup_free unsigned char *dec = malloc(len / 4 * 3 + 3);
	if (!dec)
		return err__fail(err, ENOMEM, "out of memory");
	if (len % 4 || EVP_DecodeBlock(dec, (const unsigned char *)n->user_data, (int)len) < 0)
		return bad(err, "%s", "User data needs to be valid base 64.");
	return 0;
}

static int check_key(struct db *db, struct new_servers *n, json_t *server, struct st_err *err)
{
	if (compute_valid__string(server, "key_name", false, 1, 255, false, &n->key_name, err) < 0)
		return -1;
	if (!n->key_name)
		return 0;
	cleanup_rows struct db_rows *rows = NULL;
	const char *p[] = {n->c->user_id, n->key_name};
	if (db__query(db, "SELECT public_key FROM compute_keypair WHERE user_id = ? AND name = ?", p, 2,
		      &rows, err) < 0)
		return -1;
	if (!rows->nrows)
		return bad(err, "%s", "Invalid key_name provided.");
	n->key_data = strdup(db_rows__get(rows, 0, 0));
	return n->key_data ? 0 : err__fail(err, ENOMEM, "out of memory");
}

static int check_zone(struct servers *s, struct db *db, struct new_servers *n, json_t *server,
		      struct st_err *err)
{
	if (compute_valid__string(server, "availability_zone", false, 1, 255, false, &n->az, err) < 0)
		return -1;
	if (!n->az || !strcmp(n->az, s->sched->default_availability_zone))
		return 0;
	long long found;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_aggregate_metadata WHERE"
			      " meta_key = 'availability_zone' AND meta_value = ?", &n->az, 1, &found, err) < 0)
		return -1;
	return found ? 0 : bad(err, "%s", "The requested availability zone is not available");
}

/* A hint naming instances: a uuid or a list of them. */
static int hint_uuids(json_t *hints, const char *key, json_t *spec, struct st_err *err)
{
	json_t *v = json_object_get(hints, key);
	if (!v)
		return 0;
	json_t *list = json_is_array(v) ? json_incref(v) : json_pack("[O]", v);
	size_t i;
	json_t *u;
	json_array_foreach(list, i, u) {
		if (!json_is_string(u) || !is_uuid(json_string_value(u))) {
			json_decref(list);
			return bad(err, "Invalid input for field/attribute %s. It must be a uuid or a list "
				   "of uuids", key);
		}
	}
	json_object_set_new(spec, key, list);
	return 0;
}

static int check_hints(struct db *db, struct new_servers *n, json_t *body, struct st_err *err)
{
	json_t *hints = json_object_get(body, "os:scheduler_hints");
	if (!hints)
		hints = json_object_get(body, "OS-SCH-HNT:scheduler_hints");
	if (!hints)
		return 0;
	if (!json_is_object(hints))
		return bad(err, "%s", "Invalid input for field/attribute os:scheduler_hints. It is not of type 'object'");
	if (hint_uuids(hints, "same_host", n->spec, err) < 0 ||
	    hint_uuids(hints, "different_host", n->spec, err) < 0)
		return -1;
	json_t *g = json_object_get(hints, "group");
	if (!g)
		return 0;
	if (!json_is_string(g) || !is_uuid(json_string_value(g)))
		return bad(err, "%s", "Invalid input for field/attribute group. It is not a 'uuid'");
	const char *p[] = {json_string_value(g), n->c->project_id};
	long long found;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_server_group WHERE uuid = ? AND"
			      " project_id = ?", p, 2, &found, err) < 0)
		return -1;
	if (!found)
		return bad(err, "Instance group %.64s could not be found.", p[0]);
	json_object_set(n->spec, "group", g);
	return 0;
}

static int check_ip(json_t *server, const char *key, int family, const char **out,
		    struct st_err *err)
{
	unsigned char buf[16];
	if (compute_valid__string(server, key, false, 0, 64, false, out, err) < 0)
		return -1;
	if (*out && **out && inet_pton(family, *out, buf) != 1)
		return bad(err, "Invalid input for field/attribute %s. It is not a valid IP address", key);
	return 0;
}

static int check_body(struct servers *s, struct new_servers *n, json_t *body, struct st_err *err)
{
	static const char *const top[] = {"server", "os:scheduler_hints", "OS-SCH-HNT:scheduler_hints", NULL};
	static const char *const keys[] = {"name", "imageRef", "flavorRef", "adminPass", "metadata",
		"networks", "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "personality", "user_data",
		"key_name", "availability_zone", "security_groups", "min_count", "max_count",
		"return_reservation_id", "config_drive", "description", NULL};
	json_t *server;
	struct db *db = s->db;
	if (compute_valid__keys(body, top, err) < 0 || compute_valid__member(body, "server", &server, err) < 0)
		return -1;
	/* description from 2.19: below it, one more unexpected key */
	if (n->c->mv < 19 && json_object_get(server, "description"))
		return bad(err, "%s", "Invalid input for field/attribute server. Additional properties are "
			   "not allowed ('description' was unexpected)");
	if (compute_valid__keys(server, keys, err) < 0 ||
	    compute_valid__string(server, "name", true, 1, 255, true, &n->name, err) < 0 ||
	    compute_valid__string(server, "description", false, 0, 255, false, &n->description, err) < 0 ||
	    compute_valid__int(server, "min_count", false, 1, SERVERS_MAX_COUNT, 1, &n->min_count, err) < 0 ||
	    compute_valid__int(server, "max_count", false, 1, SERVERS_MAX_COUNT, n->min_count,
				&n->max_count, err) < 0 ||
	    check_ip(server, "accessIPv4", AF_INET, &n->ipv4, err) < 0 ||
	    check_ip(server, "accessIPv6", AF_INET6, &n->ipv6, err) < 0)
		return -1;
	if (n->min_count > n->max_count)
		return bad(err, "%s", "min_count must be <= max_count");
	json_t *ref = json_object_get(server, "flavorRef");
	if (!ref)
		return bad(err, "%s", "Invalid input for field/attribute server. 'flavorRef' is a required property");
	if (servers_nics__check(db, n->c, server, n->max_count, n->spec, err) < 0 ||
	    check_user_data(n, server, err) < 0 ||
	    load_flavor(db, n, ref, err) < 0 || load_image(s, n, server, err) < 0 ||
	    check_metadata(db, n, server, err) < 0 || check_key(db, n, server, err) < 0 ||
	    check_zone(s, db, n, server, err) < 0 || check_hints(db, n, body, err) < 0)
		return -1;
	return 0;
}

/* Nova's quota check: as many as the limits allow, at least min_count. */
static int quota_count(struct db *db, struct new_servers *n, struct st_err *err)
{
	static const char *const res[] = {"instances", "cores", "ram"};
	const long long per[] = {1, n->vcpus, n->ram};
	long long used[3], limit[3];
	cleanup_rows struct db_rows *rows = NULL;
	const char *project = n->c->project_id;
	if (db__query(db, "SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mb), 0)"
		      " FROM compute_server WHERE project_id = ? AND deleted = 0", &project, 1, &rows, err) < 0)
		return -1;
	long long allowed = n->max_count;
	char overs[64] = "";
	for (int i = 0; i < 3; i++) {
		used[i] = strtoll(db_rows__get(rows, 0, (size_t)i), NULL, 10);
		if (compute__quota_limit(db, project, res[i], &limit[i], err) < 0)
			return -1;
		if (limit[i] < 0 || !per[i])
			continue;
		long long room = (limit[i] - used[i]) / per[i];
		if (room < n->min_count)
			snprintf(overs + strlen(overs), sizeof(overs) - strlen(overs), "%s%s",
				 *overs ? ", " : "", res[i]);
		if (room < allowed)
			allowed = room;
	}
	if (*overs) {
		int i = !strncmp(overs, "instances", 9) ? 0 : !strncmp(overs, "cores", 5) ? 1 : 2;
		return err__fail_class(err, EPERM, "Quota exceeded for %s: Requested %lld, but already used "
				       "%lld of %lld %s", overs, per[i] * n->min_count, used[i], limit[i], overs);
	}
	n->count = allowed;
	return 0;
}

static int insert_one(struct db *db, struct new_servers *n, long long index, struct st_err *err)
{
	char uuid[37], id[24], idx[24], now[24], vc[24], ram[24], disk[24], name[300];
	cleanup_free char *flavor = json_dumps(n->flavor, JSON_COMPACT);
	cleanup_free char *meta = n->metadata ? json_dumps(n->metadata, JSON_COMPACT) : strdup("{}");
	cleanup_free char *spec = json_dumps(n->spec, JSON_COMPACT);
	if (!flavor || !meta || !spec)
		return err__fail(err, ENOMEM, "out of memory");
	if (util__uuid4(uuid, err) < 0 ||
	    compute_db__next_id(db, "compute_server", "id", id, err) < 0)
		return -1;
	/* Nova's multi_instance_display_name_template: NAME-1, NAME-2 ... */
	if (n->count > 1)
		snprintf(name, sizeof(name), "%s-%lld", n->name, index + 1);
	else
		snprintf(name, sizeof(name), "%s", n->name);
	snprintf(idx, sizeof(idx), "%lld", index);
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	snprintf(vc, sizeof(vc), "%lld", n->vcpus);
	snprintf(ram, sizeof(ram), "%lld", n->ram);
	snprintf(disk, sizeof(disk), "%lld", n->disk);
	const char *p[] = {uuid, id, name, n->c->project_id, n->c->user_id, n->reservation, idx, flavor,
			   vc, ram, disk, n->description, json_string_value(json_object_get(n->image, "id")),
			   n->key_name, n->key_data, n->az, meta, n->user_data, n->ipv4, n->ipv6, spec,
			   now, now, n->controller};
	if (db__exec(db, "INSERT INTO compute_server (uuid, id, name, project_id, user_id, reservation_id,"
		     " launch_index, flavor, vcpus, memory_mb, disk_gb, description, image_ref, key_name,"
		     " key_data, availability_zone, metadata, user_data, access_ipv4, access_ipv6,"
		     " request_spec, vm_state, task_state, created_at, updated_at, controller) VALUES (?, ?,"
		     " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'building', 'scheduling', ?, ?,"
		     " ?)",
		     p, ST_ARRAY_SIZE(p), err) < 0)
		return -1;
	const char *group = json_string_value(json_object_get(n->spec, "group"));
	const char *m[] = {group, uuid};
	if (group && db__exec(db, "INSERT INTO compute_server_group_member (group_uuid, instance_uuid)"
			      " VALUES (?, ?)", m, 2, err) < 0)
		return -1;
	json_array_append_new(n->uuids, json_string(uuid));
	return 0;
}

static int insert_all(struct db *db, void *arg, struct st_err *err)
{
	struct new_servers *n = arg;
	cleanup_rows struct db_rows *rows = NULL;
	const char *project = n->c->project_id;
	/* the project's lock row: creates of one project count their quota one
	 * at a time, on any cloud node */
	if (db__exec(db, "INSERT INTO compute_project_lock (project_id) VALUES (?) ON CONFLICT"
		     " (project_id) DO NOTHING", &project, 1, err) < 0 ||
	    db__query_for_update(db, "SELECT project_id FROM compute_project_lock WHERE project_id = ?",
				 &project, 1, &rows, err) < 0 ||
	    quota_count(db, n, err) < 0)
		return -1;
	json_object_set_new(n->spec, "num_instances", json_integer(n->count));
	for (long long i = 0; i < n->count; i++)
		if (insert_one(db, n, i, err) < 0)
			return -1;
	return 0;
}

static void reservation_id(char out[16])
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[8] = {0};
	RAND_bytes(r, sizeof(r));
	out[0] = 'r';
	out[1] = '-';
	for (int i = 0; i < 8; i++)
		out[2 + i] = abc[r[i] % (sizeof(abc) - 1)];
	out[10] = 0;
}

/* Nova's generate_password: 12 of letters and digits. */
static void admin_pass(char out[13])
{
	static const char abc[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char r[12] = {0};
	RAND_bytes(r, sizeof(r));
	for (int i = 0; i < 12; i++)
		out[i] = abc[r[i] % (sizeof(abc) - 1)];
	out[12] = 0;
}

int servers__create(struct servers *s, const struct compute_caller *c, json_t *body,
		    json_t **out, struct st_err *err)
{
	struct new_servers n = {.c = c, .controller = s->controller, .spec = json_object(),
				.uuids = json_array()};
	int rc = -1;
	bool rid;
	if (compute_policy__check(c, "os_compute_api:servers:create", NULL, err) < 0)
		goto done;
	if (!c->project_id[0]) {
		err__fail_class(err, EPERM, "A server belongs to a project: use a project-scoped token");
		goto done;
	}
	if (check_body(s, &n, body, err) < 0 ||
	    compute_valid__bool(json_object_get(body, "server"), "return_reservation_id", false, &rid,
				err) < 0)
		goto done;
	reservation_id(n.reservation);
	json_object_set(n.spec, "image", n.image);
	if (n.az)
		json_object_set_new(n.spec, "availability_zone", json_string(n.az));
	bool drive;
	if (compute_valid__bool(json_object_get(body, "server"), "config_drive", false, &drive, err) < 0)
		goto done;
	if (drive)
		json_object_set_new(n.spec, "config_drive", json_true());
	if (compute_db__tx(s->db, insert_all, &n, err) < 0)
		goto done;
	char pass[13];
	admin_pass(pass);
	if (rid)
		*out = json_pack("{s:s}", "reservation_id", n.reservation);
	else
		*out = json_pack("{s:{s:O, s:s, s:[{s:s}], s:s}}", "server", "id",
				 json_array_get(n.uuids, 0), "OS-DCF:diskConfig", "MANUAL",
				 "security_groups", "name", "default", "adminPass", pass);
	size_t i;
	json_t *u;
	json_array_foreach(n.uuids, i, u) {
		long long aid;
		struct st_err lost = {0};
		/* the servers are made: a lost record is logged, not their failure */
		if (servers_actions__record(s->db, c, json_string_value(u), "create", NULL, &aid, &lost) < 0)
			log__error("server %s: recording its create: %s", json_string_value(u), lost.msg);
		else
			servers_actions__event(s->db, aid, SERVERS_BUILD_EVENT, NULL, NULL);
	}
	servers_worker__build(s, n.uuids);
	rc = 0;
done:
	json_decref(n.flavor);
	json_decref(n.image);
	json_decref(n.spec);
	json_decref(n.uuids);
	free(n.key_data);
	return rc;
}
