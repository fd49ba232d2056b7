/* The reconciliation thread, the controllers' leases and the takeover of
 * tasks whose controller died (servers_reconcile.h); the hosts' side of a
 * pass is servers_reconcile_host.c. */
#include "cloud/compute/servers_reconcile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "cloud/compute/periodic.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_nics.h"
#include "cloud/compute/servers_reconcile_host.h"
#include "cloud/compute/servers_worker.h"

/* A lease row dead this many lease times is removed (it owns nothing). */
#define FORGET_AFTER_LEASES 10

struct servers_reconcile {
	struct servers *s;
	unsigned interval_s, lease_s;
	int lock_fd; /* the state directory's lock: held while this controller lives */
	char name[PATH_MAX + 300];
	struct periodic *thread;
};

static void epoch_text(long long t, char out[24])
{
	snprintf(out, 24, "%lld", t);
}

/* The lease renewed; a row that was removed (taken for dead) is made again. */
static void renew(struct servers_reconcile *r)
{
	struct st_err err = {0};
	char now[24];
	epoch_text((long long)time(NULL), now);
	const char *p[] = {now, r->s->controller};
	int n = db__exec(r->s->db, "UPDATE compute_controller SET heartbeat_at = ? WHERE id = ?", p, 2, &err);
	if (n == 0) {
		log__warn("controller %s: its lease was gone (taken for dead): recording it again", r->name);
		const char *q[] = {r->s->controller, r->name, now, now};
		n = db__exec(r->s->db, "INSERT INTO compute_controller (id, name, started_at, heartbeat_at)"
			     " VALUES (?, ?, ?, ?)", q, 4, &err);
	}
	if (n < 0)
		log__error("controller %s: renewing its lease: %s", r->name, err.msg);
}

/* The name: this machine and the state directory. With the directory's
 * lock, no other live controller has this name: rows of it are earlier
 * selves, dead. Without (another serve on this directory holds it), the
 * name is made unique and only the lease's expiry tells death. */
static int register_lease(struct servers_reconcile *r, const char *state_dir, struct st_err *err)
{
	char host[256] = "localhost", real[PATH_MAX], lock_path[PATH_MAX + 32];
	gethostname(host, sizeof(host) - 1);
	if (!realpath(state_dir, real))
		snprintf(real, sizeof(real), "%s", state_dir);
	snprintf(lock_path, sizeof(lock_path), "%s/controller.lock", real);
	r->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	bool mine = r->lock_fd >= 0 && flock(r->lock_fd, LOCK_EX | LOCK_NB) == 0;
	snprintf(r->name, sizeof(r->name), "%s:%s%s%s", host, real, mine ? "" : "#", mine ? "" : r->s->controller);
	char now[24];
	epoch_text((long long)time(NULL), now);
	const char *p[] = {r->s->controller, r->name, now, now};
	if (mine) {
		const char *earlier[] = {r->name};
		int n = db__exec(r->s->db, "DELETE FROM compute_controller WHERE name = ?", earlier, 1, err);
		if (n < 0)
			return -1;
		if (n > 0)
			log__warn("controller %s: restarted; its earlier self's tasks are taken over now", r->name);
	}
	return db__exec(r->s->db, "INSERT INTO compute_controller (id, name, started_at, heartbeat_at)"
			" VALUES (?, ?, ?, ?)", p, 4, err) < 0 ? -1 : 0;
}

/* An interrupted build: what it made on its host removed, its claim
 * released, ERROR with the fault (Nova's _init_instance sets a building
 * instance ERROR at its compute service's start). */
static void end_build(struct servers *s, json_t *row, const char *dead)
{
	struct st_err err = {0};
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *host = json_string_value(json_object_get(row, "host"));
	char msg[512], details[1024] = "";
	snprintf(msg, sizeof(msg), "Build of instance %s was interrupted: the controller that drove it (%s) "
		 "stopped. Instance failed to spawn.", uuid, dead);
	if (host) {
		struct servers_hosts hs;
		const struct servers_host *h = NULL;
		if (servers_nics__load(s, row, &err) < 0)
			log__warn("server %s: its NICs: %s", uuid, err.msg);
		err = (struct st_err){0};
		if (servers_hosts__load(s->db, s->hosts, &hs, &err) == 0)
			h = servers_hosts__find(s->db, &hs, host);
		if (h && servers_stratad__clean(h, row, &err) == 0)
			snprintf(details, sizeof(details), "host %s: what the build made was removed", host);
		else
			snprintf(details, sizeof(details), "host %s: what the build made could not be removed "
				 "yet (%s); the host's reconciliation removes it", host, err.msg[0] ? err.msg : "host unknown");
		servers_hosts__free(&hs);
	}
	const char *reset[] = {uuid};
	err = (struct st_err){0};
	if (servers_db__release(s->db, uuid, &err) < 0)
		log__error("server %s: releasing its claim: %s", uuid, err.msg);
	if (servers_db__update(s->db, "host = NULL, node = NULL", reset, 1, &err) == 0 ||
	    servers_worker__error(s->db, uuid, msg, details[0] ? details : NULL) == 0)
		servers_worker__finish_delete(s, uuid);
}

/* Any other task: ended (rebuild's half-made disk: ERROR); the power sync
 * then records where the guest is. */
static void end_task(struct servers *s, const json_t *row, const char *dead)
{
	struct st_err err = {0};
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *task = json_string_value(json_object_get(row, "task_state"));
	char msg[512];
	snprintf(msg, sizeof(msg), "Task %s of instance %s was interrupted: the controller that drove it (%s) "
		 "stopped.", task, uuid, dead);
	const char *p[] = {uuid};
	if (!strncmp(task, "rebuild", 7))
		servers_worker__error(s->db, uuid, msg, NULL);
	else if (servers_db__update(s->db, "task_state = NULL", p, 1, &err) < 0)
		log__error("server %s: ending its task: %s", uuid, err.msg);
	log__warn("server %s: %s", uuid, msg);
}

/* One server whose task's controller is dead: taken (compare-and-set on
 * its controller: one live controller wins) and its task ended. */
static void take_over(struct servers *s, const char *uuid, const char *dead)
{
	struct st_err err = {0};
	const char *p[] = {s->controller, uuid, dead ? dead : ""};
	int n = db__exec(s->db, "UPDATE compute_server SET controller = ? WHERE uuid = ? AND deleted = 0"
			 " AND COALESCE(controller, '') = ?", p, 3, &err);
	if (n <= 0) {
		if (n < 0)
			log__error("server %s: taking its task over: %s", uuid, err.msg);
		return;
	}
	cleanup_json json_t *row = NULL;
	if (servers_db__select(s->db, "uuid = ? AND deleted = 0", &uuid, 1, &row, &err) < 0 ||
	    !json_array_size(row))
		return;
	json_t *r = json_array_get(row, 0);
	const char *task = json_string_value(json_object_get(r, "task_state"));
	const char *vm = json_string_value(json_object_get(r, "vm_state"));
	log__warn("server %s: its controller %s is gone (task %s, vm_state %s): taken over", uuid,
		  dead ? dead : "(none)", task ? task : "none", vm);
	if (task && !strcmp(task, "deleting"))
		servers_worker__finish_delete(s, uuid);
	else if (!strcmp(vm, "building"))
		end_build(s, r, dead ? dead : "(none)");
	else if (task)
		end_task(s, r, dead ? dead : "(none)");
}

static void take_over_dead(struct servers *s, unsigned lease_s)
{
	struct st_err err = {0};
	char alive[24];
	epoch_text((long long)time(NULL) - lease_s, alive);
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(s->db, "SELECT uuid, controller FROM compute_server WHERE deleted = 0 AND"
		      " (task_state IS NOT NULL OR vm_state = 'building') AND (controller IS NULL OR"
		      " controller NOT IN (SELECT id FROM compute_controller WHERE heartbeat_at >="
		      " CAST(? AS BIGINT))) ORDER BY created_at", (const char *[]){alive}, 1, &rows, &err) < 0) {
		log__error("reconciliation: the tasks of dead controllers: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < rows->nrows; i++)
		take_over(s, db_rows__get(rows, i, 0), db_rows__get(rows, i, 1));
}

static void forget_dead(struct servers *s, unsigned lease_s)
{
	struct st_err err = {0};
	char before[24];
	epoch_text((long long)time(NULL) - (long long)lease_s * FORGET_AFTER_LEASES, before);
	if (db__exec(s->db, "DELETE FROM compute_controller WHERE heartbeat_at < CAST(? AS BIGINT)",
		     (const char *[]){before}, 1, &err) < 0)
		log__error("reconciliation: forgetting dead controllers: %s", err.msg);
}

static void pass(void *arg, struct periodic *p)
{
	struct servers_reconcile *r = arg;
	struct servers *s = r->s;
	struct st_err err = {0};
	renew(r);
	take_over_dead(s, r->lease_s);
	forget_dead(s, r->lease_s);
	struct servers_hosts hs;
	if (servers_hosts__load(s->db, s->hosts, &hs, &err) < 0) {
		log__error("reconciliation: the hosts: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < hs.st.n && !periodic__stopping(p); i++) {
		/* a down host cannot be asked; its servers say so (host_status) */
		if (!hs.st.hosts[i].up)
			continue;
		struct st_err herr = {0};
		const struct servers_host *h = servers_hosts__at(s->db, &hs, i, &herr);
		if (!h) {
			log__warn("reconciliation: host %s: %s", hs.st.hosts[i].name, herr.msg);
			continue;
		}
		servers_reconcile_host__sync(s, h);
		renew(r); /* a slow host must not let the lease run out */
	}
	servers_hosts__free(&hs);
}

int servers_reconcile__start(struct servers *s, const char *state_dir, unsigned interval_s,
			     struct servers_reconcile **out, struct st_err *err)
{
	struct servers_reconcile *r = calloc(1, sizeof(*r));
	if (!r)
		return err__fail(err, ENOMEM, "out of memory");
	r->s = s;
	r->interval_s = interval_s ? interval_s : HOSTS_POLL_INTERVAL_DEFAULT;
	r->lease_s = s->hosts && s->hosts->service_down_s ? s->hosts->service_down_s : HOSTS_SERVICE_DOWN_DEFAULT;
	if (register_lease(r, state_dir, err) < 0) {
		if (r->lock_fd >= 0)
			close(r->lock_fd);
		free(r);
		return err__prefix(err, "recording this controller's lease");
	}
	if (periodic__start(pass, r, r->interval_s, &r->thread, err) < 0) {
		if (r->lock_fd >= 0)
			close(r->lock_fd);
		free(r);
		return err__prefix(err, "the reconciliation");
	}
	log__info("controller %s (%s): reconciling every %u s, lease %u s", r->name, s->controller,
		  r->interval_s, r->lease_s);
	*out = r;
	return 0;
}

void servers_reconcile__stop(struct servers_reconcile *r)
{
	if (!r)
		return;
	periodic__stop(r->thread);
	if (r->lock_fd >= 0)
		close(r->lock_fd);
	free(r);
}
