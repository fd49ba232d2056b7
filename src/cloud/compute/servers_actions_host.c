/* The actions' work on the host, one detached thread per action (counted
 * in servers.busy as the build's are): through stratad's /v1 API only,
 * the domain instance-XXXXXXXX is started, shut down, destroyed, rebooted,
 * suspended or resumed (stratad's suspend pauses the vCPUs: Nova's pause;
 * Nova's suspend is a managed save, which stratad has not, so a suspended
 * server here is paused in memory too), rebuilt (the domain and its
 * volumes removed, then built again from the new image) or snapshotted
 * (servers_actions_image.c). Success sets the vm_state and power_state
 * Nova's compute manager sets; a failure leaves the vm_state as it was
 * (a rebuild's: ERROR with the fault) and the event says what went wrong. */
#include "cloud/compute/servers_actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_hosts.h"
#include "cloud/compute/servers_worker.h"

/* Nova's power states. */
enum { POWER_RUNNING = 1, POWER_PAUSED = 3, POWER_SHUTDOWN = 4, POWER_SUSPENDED = 7 };

struct job {
	struct servers *s;
	char uuid[64], action[32];
	long long action_id;
	json_t *work;
};

/* What an action does on the host and where it leaves the server. */
struct step {
	const char *action, *event;
	const char *calls[3]; /* stratad's domain verbs in order ("-destroy": its failure is fine) */
	const char *vm_state;
	int power;
};

static const struct step steps[] = {
	{"start", "compute_start_instance", {"start"}, "active", POWER_RUNNING},
	{"stop", "compute_stop_instance", {"shutdown?timeout=60"}, "stopped", POWER_SHUTDOWN},
	{"reboot", "compute_reboot_instance", {"reboot"}, "active", POWER_RUNNING},
	{"pause", "compute_pause_instance", {"suspend"}, "paused", POWER_PAUSED},
	{"unpause", "compute_unpause_instance", {"resume"}, "active", POWER_RUNNING},
	{"suspend", "compute_suspend_instance", {"suspend"}, "suspended", POWER_SUSPENDED},
	{"resume", "compute_resume_instance", {"resume"}, "active", POWER_RUNNING},
	{"rebuild", "compute_rebuild_instance", {NULL}, "active", POWER_RUNNING},
	{"createImage", "compute_snapshot_instance", {NULL}, NULL, 0},
};
static const struct step hard_reboot = {"reboot", "compute_reboot_instance", {"-destroy", "start"},
					 "active", POWER_RUNNING};

int servers_actions__domain_call(const struct servers_host *h, const json_t *row, const char *verb,
				 struct st_err *err)
{
	char api[160];
	struct http_client_target t;
	cleanup_json json_t *out = NULL;
	hosts__target(&h->ep, &t);
	snprintf(api, sizeof(api), "/v1/domains/instance-%08llx/%s",
		 (long long)json_integer_value(json_object_get(row, "id")), verb);
	if (http_client__json(&t, "POST", api, NULL, &out, err) < 0)
		return err__prefix(err, "host %s: %s", h->name, verb);
	return 0;
}

static int run_calls(const struct servers_host *h, const json_t *row, const struct step *st,
		     struct st_err *err)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(st->calls) && st->calls[i]; i++) {
		struct st_err ignored = {0};
		bool may_fail = st->calls[i][0] == '-';
		if (servers_actions__domain_call(h, row, st->calls[i] + may_fail, may_fail ? &ignored : err) < 0 &&
		    !may_fail)
			return -1;
	}
	return 0;
}

/* rebuild: the new image, name and metadata into the row, then the host's
 * old domain and volumes out and the server built again there. */
static int rebuild(struct servers *s, const struct servers_host *h, json_t *row, json_t *work,
		   struct st_err *err)
{
	json_t *spec = json_object_get(row, "request_spec");
	json_object_set(spec, "image", json_object_get(work, "image"));
	cleanup_free char *text = json_dumps(spec, JSON_COMPACT);
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *name = json_string_value(json_object_get(work, "name"));
	json_t *meta = json_object_get(work, "metadata");
	cleanup_free char *meta_text = meta ? json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *p[] = {json_string_value(json_object_get(json_object_get(work, "image"), "id")), text,
			   name ? name : json_string_value(json_object_get(row, "name")),
			   meta_text ? meta_text : json_string_value(json_object_get(row, "metadata")), uuid};
	cleanup_free char *old_meta = NULL;
	if (!meta_text) {
		old_meta = json_dumps(json_object_get(row, "metadata"), JSON_COMPACT);
		p[3] = old_meta;
	}
	json_object_set(row, "image_ref", json_object_get(json_object_get(work, "image"), "id"));
	if (servers_db__update(s->db, "image_ref = ?, request_spec = ?, name = ?, metadata = ?", p, 5, err) <= 0)
		return err->msg[0] ? -1 : err__fail(err, ECANCELED, "the server is being deleted");
	if (servers_stratad__clean(h, row, err) < 0)
		return err__prefix(err, "host %s: removing the old disk", h->name);
	char fault[1024];
	if (servers_stratad__build(s, h, row, fault, sizeof(fault)) < 0)
		return err__fail(err, EIO, "%s", fault);
	return 0;
}

static void finish(struct servers *s, const struct job *j, const json_t *row, const struct step *st,
		   int rc, const char *msg)
{
	struct st_err err = {0};
	char now[24];
	const char *uuid = j->uuid;
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	servers_actions__event(s->db, j->action_id, st->event, rc < 0 ? "Error" : "Success",
			       rc < 0 ? msg : NULL);
	if (rc < 0 && !strcmp(st->action, "rebuild")) {
		const char *p[] = {msg, now, uuid};
		servers_db__update(s->db, "vm_state = 'error', task_state = NULL, fault_code = 500,"
				   " fault_message = ?, fault_details = NULL, fault_created = ?", p, 3, &err);
	} else if (rc < 0 || !st->vm_state) {
		const char *p[] = {uuid};
		servers_db__update(s->db, "task_state = NULL", p, 1, &err);
	} else {
		char power[8];
		snprintf(power, sizeof(power), "%d", st->power);
		const char *p[] = {st->vm_state, power, uuid};
		const char *relaunch[] = {st->vm_state, power, now, uuid};
		if (!strcmp(st->action, "rebuild"))
			servers_db__update(s->db, "vm_state = ?, power_state = CAST(? AS INTEGER), task_state = NULL,"
					   " launched_at = ?", relaunch, 4, &err);
		else
			servers_db__update(s->db, "vm_state = ?, power_state = CAST(? AS INTEGER), task_state = NULL",
					   p, 3, &err);
	}
	if (err.msg[0])
		log__error("server %s: %s: recording the result: %s", uuid, st->action, err.msg);
	if (rc < 0)
		log__warn("server %s: %s failed: %s", uuid, st->action, msg);
	else
		log__info("server %s: %s done", uuid, st->action);
	(void)row;
}

static void work(struct job *j)
{
	struct servers *s = j->s;
	struct st_err err = {0};
	const struct step *st = NULL;
	for (size_t i = 0; i < ST_ARRAY_SIZE(steps); i++)
		if (!strcmp(steps[i].action, j->action))
			st = &steps[i];
	if (!st)
		return;
	servers_actions__event(s->db, j->action_id, st->event, NULL, NULL);
	cleanup_json json_t *row = NULL;
	struct servers_hosts hs = {0};
	const struct servers_host *h = NULL;
	int rc = servers_db__get(s->db, j->uuid, &row, &err);
	const char *host = row ? json_string_value(json_object_get(row, "host")) : NULL;
	if (rc == 0 && servers_hosts__load(s->db, s->hosts, &hs, &err) == 0 &&
	    !(h = host ? servers_hosts__find(s->db, &hs, host) : NULL))
		rc = err__fail(&err, ENOENT, "host %s is not known", host ? host : "(none)");
	if (rc == 0 && h) {
		const char *task = json_string_value(json_object_get(row, "task_state"));
		if (!strcmp(st->action, "reboot") && task && !strcmp(task, "rebooting_hard"))
			st = &hard_reboot;
		if (!strcmp(st->action, "rebuild"))
			rc = rebuild(s, h, row, j->work, &err);
		else if (!strcmp(st->action, "createImage"))
			rc = servers_actions__snapshot(s, h, row, j->work, &err);
		else
			rc = run_calls(h, row, st, &err);
		/* a clean shutdown that did not end: Nova's stop then powers off */
		if (rc < 0 && !strcmp(st->action, "stop")) {
			struct st_err again = {0};
			if (servers_actions__domain_call(h, row, "destroy", &again) == 0)
				rc = 0;
		}
	}
	servers_hosts__free(&hs);
	finish(s, j, row, st, rc, err.msg);
}

static void free_job(struct job *j)
{
	json_decref(j->work);
	free(j);
}

static void *run(void *arg)
{
	struct job *j = arg;
	struct servers *s = j->s;
	work(j);
	free_job(j);
	servers_worker__done(s);
	return NULL;
}

void servers_actions__start_worker(struct servers *s, const char *uuid, const char *action,
				   long long action_id, json_t *args)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		log__error("server %s: out of memory starting its %s", uuid, action);
		return;
	}
	*j = (struct job){.s = s, .action_id = action_id, .work = json_incref(args)};
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	snprintf(j->action, sizeof(j->action), "%s", action);
	if (servers_worker__spawn(s, run, j) < 0) {
		/* no thread: done in the request, the task_state must not stay set */
		log__warn("server %s: no thread for its %s: done in the request", uuid, action);
		work(j);
		free_job(j);
	}
}
