/* The build and delete workers. A build: the scheduler picks each
 * instance's host and alternates over the hosts' states (their used
 * resources are the claims); each host in turn is claimed in the database
 * (a full host is skipped: another request claimed it first) and asked to
 * build; a failed build is cleaned off the host, its claim released, and
 * the next alternate tried (Nova's reschedule, max_attempts in all). A
 * delete that arrives while building sets task_state deleting; the worker
 * sees it at its next state change and finishes the delete itself. */
#include "cloud/compute/servers_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_nics.h"

struct job {
	struct servers *s;
	json_t *uuids;
	bool delete;
};

static void job_done(struct servers *s)
{
	pthread_mutex_lock(&s->lock);
	s->busy--;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
}

int servers_worker__error(struct db *db, const char *uuid, const char *message, const char *details)
{
	char now[24];
	struct st_err err = {0};
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {message, details, now, uuid};
	int n = servers_db__update(db, "vm_state = 'error', task_state = NULL, fault_code = 500,"
				   " fault_message = ?, fault_details = ?, fault_created = ?", p, 4, &err);
	if (n < 0)
		log__error("server %s: recording its error: %s", uuid, err.msg);
	log__info("server %s: ERROR: %s", uuid, message);
	servers_actions__event_latest(db, uuid, "create", SERVERS_BUILD_EVENT, "Error", message);
	return n;
}

void servers_worker__finish_delete(struct servers *s, const char *uuid)
{
	struct st_err err = {0};
	cleanup_json json_t *rows = NULL;
	if (servers_db__select(s->db, "uuid = ? AND deleted = 0", &uuid, 1, &rows, &err) < 0 ||
	    !json_array_size(rows)) {
		if (err.msg[0])
			log__error("server %s: delete: %s", uuid, err.msg);
		return;
	}
	json_t *row = json_array_get(rows, 0);
	const char *host = json_string_value(json_object_get(row, "host"));
	if (servers_nics__load(s, row, &err) < 0)
		log__warn("server %s: its NICs: %s", uuid, err.msg);
	if (host) {
		struct servers_hosts hs;
		const struct servers_host *h = NULL;
		if (servers_hosts__load(s->db, s->hosts, &hs, &err) == 0)
			h = servers_hosts__find(s->db, &hs, host);
		if (!h)
			log__warn("server %s: host %s is not known: nothing removed there", uuid, host);
		else if (servers_stratad__clean(h, row, &err) < 0)
			log__warn("server %s: cleaning host %s: %s", uuid, host, err.msg);
		servers_hosts__free(&hs);
	}
	char now[24];
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {now, now, uuid};
	if (servers_db__release(s->db, uuid, &err) < 0 ||
	    db__exec(s->db, "UPDATE compute_server SET deleted = 1, vm_state = 'deleted', task_state = NULL,"
		     " terminated_at = ?, updated_at = ? WHERE uuid = ?", p, 3, &err) < 0 ||
	    db__exec(s->db, "DELETE FROM compute_server_group_member WHERE instance_uuid = ?", &uuid, 1,
		     &err) < 0)
		log__error("server %s: delete: %s", uuid, err.msg);
	else
		log__info("server %s: deleted", uuid);
	servers_nics__detach(s, uuid);
}

static enum scheduler_group_policy group_policy(const char *p)
{
	if (!p)
		return SCHEDULER_GROUP_NONE;
	return !strcmp(p, "affinity") ? SCHEDULER_GROUP_AFFINITY
	     : !strcmp(p, "anti-affinity") ? SCHEDULER_GROUP_ANTI_AFFINITY
	     : !strcmp(p, "soft-affinity") ? SCHEDULER_GROUP_SOFT_AFFINITY
	     : !strcmp(p, "soft-anti-affinity") ? SCHEDULER_GROUP_SOFT_ANTI_AFFINITY
	     : SCHEDULER_GROUP_NONE;
}

/* A JSON object's string members as scheduler_kv (pointing into obj). */
static struct scheduler_kv *kv_of(const json_t *obj, size_t *n)
{
	struct scheduler_kv *kv = calloc(json_object_size(obj) + 1, sizeof(*kv));
	const char *k;
	json_t *v;
	*n = 0;
	if (!kv)
		return NULL;
	json_object_foreach((json_t *)obj, k, v)
		if (json_is_string(v))
			kv[(*n)++] = (struct scheduler_kv){k, json_string_value(v)};
	return kv;
}

/* Strings of a JSON array (pointing into it). */
static const char **strs_of(const json_t *arr, size_t *n)
{
	const char **out = calloc(json_array_size(arr) + 1, sizeof(*out));
	size_t i;
	json_t *v;
	*n = 0;
	if (!out)
		return NULL;
	json_array_foreach(arr, i, v)
		if (json_is_string(v))
			out[(*n)++] = json_string_value(v);
	return out;
}

/* The scheduling request from the first server's row; group holds what the
 * group's pointers point into. */
struct spec {
	struct scheduler_request req;
	struct scheduler_kv *specs, *props;
	const char **members, **ghosts, **same, **diff;
	json_t *group; /* {"members": [...], "hosts": [...]} */
};

static int make_spec(struct db *db, const json_t *row, size_t num, struct spec *sp,
		     struct st_err *err)
{
	const json_t *rs = json_object_get(row, "request_spec");
	const json_t *fl = json_object_get(row, "flavor");
	struct scheduler_request *r = &sp->req;
	*sp = (struct spec){0};
	r->vcpus = json_integer_value(json_object_get(fl, "vcpus"));
	r->ram_mb = json_integer_value(json_object_get(fl, "ram"));
	r->root_gb = json_integer_value(json_object_get(fl, "disk"));
	r->ephemeral_gb = json_integer_value(json_object_get(fl, "ephemeral"));
	r->swap_mb = json_integer_value(json_object_get(fl, "swap"));
	sp->specs = kv_of(json_object_get(fl, "extra_specs"), &r->n_extra_specs);
	sp->props = kv_of(json_object_get(json_object_get(rs, "image"), "properties"),
			  &r->n_image_properties);
	r->extra_specs = sp->specs;
	r->image_properties = sp->props;
	r->availability_zone = json_string_value(json_object_get(rs, "availability_zone"));
	sp->same = strs_of(json_object_get(rs, "same_host"), &r->n_same_host);
	sp->diff = strs_of(json_object_get(rs, "different_host"), &r->n_different_host);
	r->same_host = sp->same;
	r->different_host = sp->diff;
	r->num_instances = num;
	const char *group = json_string_value(json_object_get(rs, "group"));
	if (!group)
		return 0;
	cleanup_rows struct db_rows *g = NULL, *m = NULL;
	if (db__query(db, "SELECT policy FROM compute_server_group WHERE uuid = ?", &group, 1, &g, err) < 0 ||
	    db__query(db, "SELECT m.instance_uuid, s.host FROM compute_server_group_member m LEFT JOIN"
		      " compute_server s ON s.uuid = m.instance_uuid AND s.deleted = 0 WHERE m.group_uuid = ?",
		      &group, 1, &m, err) < 0)
		return -1;
	if (!g->nrows)
		return err__fail_class(err, ENOENT, "Instance group %s could not be found.", group);
	r->group_policy = group_policy(db_rows__get(g, 0, 0));
	sp->group = json_pack("{s:[], s:[]}", "members", "hosts");
	for (size_t i = 0; i < m->nrows; i++) {
		json_array_append_new(json_object_get(sp->group, "members"), json_string(db_rows__get(m, i, 0)));
		if (db_rows__get(m, i, 1))
			json_array_append_new(json_object_get(sp->group, "hosts"),
					      json_string(db_rows__get(m, i, 1)));
	}
	sp->members = strs_of(json_object_get(sp->group, "members"), &r->n_group_members);
	sp->ghosts = strs_of(json_object_get(sp->group, "hosts"), &r->n_group_hosts);
	r->group_members = sp->members;
	r->group_hosts = sp->ghosts;
	return 0;
}

static void free_spec(struct spec *sp)
{
	free(sp->specs);
	free(sp->props);
	free(sp->members);
	free(sp->ghosts);
	free(sp->same);
	free(sp->diff);
	json_decref(sp->group);
}

/* One instance over its selected host and alternates. */
static void place_one(struct servers *s, struct servers_hosts *hs, const json_t *row,
		      const struct scheduler_selection *sel)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	struct servers_claim cl = {.instance = uuid,
				   .vcpus = json_integer_value(json_object_get(row, "vcpus")),
				   .memory_mb = json_integer_value(json_object_get(row, "memory_mb")),
				   .disk_gb = json_integer_value(json_object_get(row, "disk_gb"))};
	char last[1024] = "";
	unsigned tried = 0;
	for (size_t k = 0; k < sel->n_hosts; k++) {
		const struct scheduler_host *st = &hs->st.hosts[sel->hosts[k]];
		struct st_err err = {0};
		const struct servers_host *h = servers_hosts__at(s->db, hs, sel->hosts[k], &err);
		if (!h) {
			log__warn("server %s: host %s: %s", uuid, st->name, err.msg);
			continue;
		}
		cl.host = st->name;
		int got = servers_db__claim(s->db, &cl, st, s->sched, &err);
		if (got < 0 && err.errnum == ECANCELED) {
			servers_worker__finish_delete(s, uuid);
			return;
		}
		if (got < 0) {
			servers_worker__error(s->db, uuid, "Claiming the host's resources failed", err.msg);
			return;
		}
		if (!got) {
			log__info("server %s: host %s has no room left (claimed by another request)", uuid, st->name);
			continue;
		}
		tried++;
		const char *spawning[] = {uuid};
		servers_db__update(s->db, "task_state = 'spawning'", spawning, 1, &err);
		char fault[1024];
		if (servers_stratad__build(s, h, row, fault, sizeof(fault)) == 0) {
			char now[24];
			snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
			const char *p[] = {now, uuid};
			if (servers_db__update(s->db, "vm_state = 'active', task_state = NULL, power_state = 1,"
					       " launched_at = ?", p, 2, &err) == 0)
				servers_worker__finish_delete(s, uuid);
			else
				log__info("server %s: ACTIVE on %s", uuid, st->name);
			servers_actions__event_latest(s->db, uuid, "create", SERVERS_BUILD_EVENT, "Success", NULL);
			return;
		}
		log__warn("server %s: build on %s failed (attempt %u): %s", uuid, st->name, tried, fault);
		snprintf(last, sizeof(last), "%s", fault);
		if (servers_stratad__clean(h, row, &err) < 0)
			log__warn("server %s: cleaning host %s after the failed build: %s", uuid, st->name, err.msg);
		const char *reset[] = {uuid};
		if (servers_db__release(s->db, uuid, &err) < 0 ||
		    servers_db__update(s->db, "host = NULL, node = NULL, task_state = 'scheduling'", reset, 1,
				       &err) == 0) {
			servers_worker__finish_delete(s, uuid);
			return;
		}
	}
	char msg[1400];
	if (!tried)
		snprintf(msg, sizeof(msg), "No valid host was found. Every host chosen was claimed full "
			 "by other requests.");
	else
		snprintf(msg, sizeof(msg), "Exceeded maximum number of retries. Exhausted all hosts available "
			 "for retrying build failures for instance %s. Last failure: %s", uuid, last);
	if (servers_worker__error(s->db, uuid, msg, last) == 0)
		servers_worker__finish_delete(s, uuid);
}

static void build(struct servers *s, json_t *uuids)
{
	struct st_err err = {0};
	json_t *rows = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(uuids, i, u) {
		json_t *one;
		const char *id = json_string_value(u);
		if (servers_db__select(s->db, "uuid = ? AND deleted = 0", &id, 1, &one, &err) < 0)
			log__error("server %s: %s", id, err.msg);
		else if (json_array_size(one))
			json_array_extend(rows, one);
		json_decref(one);
	}
	size_t n = json_array_size(rows);
	struct servers_hosts hs = {0};
	struct spec sp = {0};
	struct scheduler_selection *sel = calloc(n + 1, sizeof(*sel));
	if (!n || !sel)
		goto out;
	const json_t *first = json_array_get(rows, 0);
	int rc = servers_stratad__bootable(first, &err);
	if (rc == 0)
		rc = make_spec(s->db, first, n, &sp, &err);
	if (rc == 0)
		rc = servers_hosts__load_for(s->db, s->hosts, &sp.req, &hs, &err);
	if (rc == 0)
		rc = scheduler__select(s->sched, &sp.req, hs.st.hosts, hs.st.n, sel, &err);
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *uuid = json_string_value(json_object_get(row, "uuid"));
		struct st_err nerr = {0};
		if (servers_nics__attach(s, row, &nerr) < 0 || servers_nics__load(s, row, &nerr) < 0) {
			if (servers_worker__error(s->db, uuid, nerr.msg, NULL) == 0)
				servers_worker__finish_delete(s, uuid);
			continue;
		}
		if (rc < 0) {
			if (servers_worker__error(s->db, uuid, err.msg, NULL) == 0)
				servers_worker__finish_delete(s, uuid);
			continue;
		}
		place_one(s, &hs, row, &sel[i]);
	}
out:
	free(sel);
	free_spec(&sp);
	servers_hosts__free(&hs);
	json_decref(rows);
}

static void *run(void *arg)
{
	struct job *j = arg;
	if (j->delete)
		servers_worker__finish_delete(j->s, json_string_value(json_array_get(j->uuids, 0)));
	else
		build(j->s, j->uuids);
	struct servers *s = j->s;
	json_decref(j->uuids);
	free(j);
	job_done(s);
	return NULL;
}

int servers_worker__spawn(struct servers *s, void *(*fn)(void *), void *arg)
{
	pthread_t t;
	pthread_attr_t attr;
	pthread_mutex_lock(&s->lock);
	s->busy++;
	pthread_mutex_unlock(&s->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int rc = pthread_create(&t, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc != 0)
		job_done(s);
	return rc ? -1 : 0;
}

void servers_worker__done(struct servers *s)
{
	job_done(s);
}

static void start(struct servers *s, json_t *uuids, bool delete)
{
	struct job *j = malloc(sizeof(*j));
	if (!j) {
		log__error("servers: out of memory starting a worker");
		return;
	}
	*j = (struct job){s, json_incref(uuids), delete};
	if (servers_worker__spawn(s, run, j) < 0) {
		log__error("servers: cannot start a worker thread");
		json_decref(j->uuids);
		free(j);
	}
}

void servers_worker__build(struct servers *s, json_t *uuids)
{
	start(s, uuids, false);
}

void servers_worker__delete(struct servers *s, const char *uuid)
{
	json_t *one = json_pack("[s]", uuid);
	start(s, one, true);
	json_decref(one);
}
