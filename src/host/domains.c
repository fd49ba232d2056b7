#include "host/domains.h"
#include "common/cleanup.h"
#include "host/helper.h"
#include "common/log.h"
#include "common/util.h"
#include "host/domain_vmargs.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/image_cache.h"
#include "host/networks.h"
#include "host/storage.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define DESTROY_WAIT_MS 10000

/* what a domain is busy with while its VMM comes up (domains__start) */
static const char starting[] = "starting";

void domains__run_path(const struct host *h, const struct dom *d, const char *suffix, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.%s", h->run_dir, d->uuid, suffix);
}

const char *domains__state_name(const struct dom *d)
{
	static const char *const names[] = {"shutoff", "running", "paused"};
	return names[d->state];
}

struct dom *domains__find(struct host *h, const char *key, struct st_err *err)
{
	for (struct dom *d = h->doms; d; d = d->next)
		if (!strcmp(d->name, key) || !strcasecmp(d->uuid, key))
			return d;
	err__fail_class(err, ENOENT, "no domain named '%s'", key);
	return NULL;
}

static struct dom *dom__new(struct host *h, const char *uuid, const char *name, json_t *def, bool autostart)
{
	struct dom *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->uuid, sizeof(d->uuid), "%s", uuid);
	d->name = strdup(name);
	d->def = def;
	d->autostart = autostart;
	d->pidfd = -1;
	/* appended: the list keeps definition order, as listings show it */
	struct dom **tail = &h->doms;
	while (*tail)
		tail = &(*tail)->next;
	*tail = d;
	h->nr_doms++;
	return d;
}

static void dom__free(struct host *h, struct dom *d)
{
	for (struct dom **p = &h->doms; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	h->nr_doms--;
	json_decref(d->def);
	free(d->name);
	free(d);
}

static int dom__save_runtime(struct host *h, struct dom *d, struct st_err *err)
{
	struct store_runtime rt = {.vm_pid = d->proc.vm_pid, .keeper_pid = d->proc.keeper_pid,
				   .vm_start = d->proc.vm_start, .keeper_start = d->proc.keeper_start,
				   .started_at = d->started_at, .transient = d->transient};
	snprintf(rt.state, sizeof(rt.state), "%s", domains__state_name(d));
	return store__runtime_set(h->store, d->uuid, &rt, err);
}

static int dom__watch(struct host *h, struct dom *d, struct st_err *err)
{
	if (!d->gen) /* a start numbered its run before waiting for the VMM */
		d->gen = ++h->next_gen;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = d->gen};
	if (epoll_ctl(h->epfd, EPOLL_CTL_ADD, d->pidfd, &ev) < 0)
		return err__fail_errno(err, "epoll_ctl");
	return 0;
}

static void dom__unwatch(struct host *h, struct dom *d)
{
	if (d->pidfd >= 0) {
		epoll_ctl(h->epfd, EPOLL_CTL_DEL, d->pidfd, NULL);
		close(d->pidfd);
	}
	d->pidfd = -1;
	d->gen = 0;
}

static void dom__remove_run_files(struct host *h, struct dom *d)
{
	static const char *const suffixes[] = {"ctl", "console", "exit"};
	char path[512];
	for (size_t i = 0; i < ST_ARRAY_SIZE(suffixes); i++) {
		domains__run_path(h, d, suffixes[i], path, sizeof(path));
		unlink(path);
	}
}

static bool def_says_restart(const struct dom *d, const char *key)
{
	const char *v = json_string_value(json_object_get(d->def, key));
	return v && !strcmp(v, "restart");
}

/* The run has ended (the keeper exited, or both processes are gone): decide
 * why, tell the world, and start again where the definition or a reboot
 * asks for it. */
static void dom__ended(struct host *h, struct dom *d)
{
	char path[512];
	domains__run_path(h, d, "exit", path, sizeof(path));
	int code = -1, sig = -1;
	bool known = vmproc__exit_status(path, &code, &sig) == 0;
	vmproc__reap(d->proc.keeper_pid);
	dom__unwatch(h, d);
	const char *kind = "stopped";
	char reason[64];
	bool restart = d->restart;
	if (d->stop_reason) {
		snprintf(reason, sizeof(reason), "%s", d->stop_reason);
	} else if (!known) {
		snprintf(reason, sizeof(reason), "unknown (the VMM's keeper is gone)");
		kind = "crashed";
	} else if (sig >= 0) {
		snprintf(reason, sizeof(reason), "killed by signal %d", sig);
		kind = "crashed";
		restart = def_says_restart(d, "on_crash");
	} else if (code == 0) {
		snprintf(reason, sizeof(reason), d->shutting_down ? "shutdown" : "poweroff");
	} else if (code == 2) {
		snprintf(reason, sizeof(reason), "crashed");
		kind = "crashed";
		restart = def_says_restart(d, "on_crash");
	} else if (code == 3) {
		snprintf(reason, sizeof(reason), "reboot");
		restart = def_says_restart(d, "on_reboot");
	} else if (code == 1) {
		snprintf(reason, sizeof(reason), "VMM failed (exit status 1)");
		kind = "crashed";
	} else {
		snprintf(reason, sizeof(reason), "exit status %d", code);
	}
	d->state = DOM_SHUTOFF;
	d->shutting_down = false;
	d->stop_reason = NULL;
	d->restart = false;
	d->proc = (struct vmproc){0};
	snprintf(d->last_reason, sizeof(d->last_reason), "%s", reason);
	struct st_err err = {0};
	if (store__runtime_clear(h->store, d->uuid, &err) < 0)
		log__warn("%s: %s", d->name, err.msg);
	dom__remove_run_files(h, d);
	networks__taps_delete(d->uuid, json_array_size(json_object_get(d->def, "interfaces")), NULL);
	events__emit(kind, "domain", d->name, d->uuid, reason);
	log__info("domain %s %s: %s", d->name, kind, reason);
	if (restart && !h->quitting && domains__start(h, d, "reboot", &err) < 0)
		log__warn("domain %s: restart failed: %s", d->name, err.msg);
}

int domains__resolve_volume(void *ctx, const char *pool, const char *volume, char **path, const char **format,
			    struct st_err *err)
{
	json_t *info;
	if (storage__volume_info(ctx, pool, volume, &info, err) < 0)
		return -1;
	*format = strcmp(json_string_value(json_object_get(info, "format")), "qcow2") ? "raw" : "qcow2";
	json_decref(info);
	return storage__volume_path(ctx, pool, volume, path, err);
}

int domains__define(struct host *h, const json_t *input, struct dom **out, struct st_err *err)
{
	json_t *def;
	if (domdef__check(input, domains__resolve_volume, h, &def, err) < 0) {
		err->errnum = EINVAL;
		return -1;
	}
	const char *name = json_string_value(json_object_get(def, "name"));
	const char *uuid = json_string_value(json_object_get(def, "uuid"));
	for (struct dom *d = h->doms; d; d = d->next) {
		if (!strcmp(d->name, name) || !strcmp(d->uuid, uuid)) {
			err__fail_class(err, EEXIST, "domain '%s' already exists%s", d->name,
				strcmp(d->name, name) ? " with this uuid" : "");
			json_decref(def);
			return -1;
		}
	}
	if (store__domain_insert(h->store, uuid, name, def, err) < 0) {
		json_decref(def);
		return -1;
	}
	struct dom *d = dom__new(h, uuid, name, def, false);
	if (!d) {
		store__domain_delete(h->store, uuid, NULL);
		json_decref(def);
		return err__fail(err, ENOMEM, "define");
	}
	events__emit("defined", "domain", d->name, d->uuid, "created");
	*out = d;
	return 0;
}

int domains__undefine(struct host *h, struct dom *d, bool volumes, struct st_err *err)
{
	/* an operation that let go of the lock still holds d (busy first: a
	 * starting domain is running, but says why) */
	if (domains__check_idle(d, true, err) < 0)
		return -1;
	if (d->state != DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is %s: destroy or shut it down first", d->name,
			       domains__state_name(d));
	if (volumes) {
		/* only volumes of pools: a bare file path was never ours to delete */
		size_t i;
		json_t *disk;
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *pool = json_string_value(json_object_get(disk, "pool"));
			const char *vol = json_string_value(json_object_get(disk, "volume"));
			struct st_err verr = {0};
			if (pool && vol && storage__volume_delete(h, pool, vol, &verr) < 0 && verr.errnum != ENOENT)
				return err__fail(err, verr.errnum ? verr.errnum : EIO, "%s", verr.msg);
		}
	}
	if (store__domain_delete(h->store, d->uuid, err) < 0)
		return -1;
	events__emit("undefined", "domain", d->name, d->uuid, volumes ? "deleted with its volumes" : "deleted");
	dom__free(h, d);
	return 0;
}

/* A disk on a cached base is started only on a base that is what its hash
 * says, fetched again first when its file went missing (image_cache.h).
 * Checking a base may let go of h->lock: d is busy meanwhile. */
static int check_sources(struct host *h, const struct dom *d, struct st_err *err)
{
	size_t i;
	json_t *disk;
	json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
		const char *path = json_string_value(json_object_get(disk, "path"));
		const char *target = json_string_value(json_object_get(disk, "target"));
		const char *pool = json_string_value(json_object_get(disk, "pool"));
		cleanup_free char *vpath = NULL;
		/* a stopped pool's volumes stay on disk, but are not to be used (409) */
		if (pool && storage__volume_path(h, pool, json_string_value(json_object_get(disk, "volume")), &vpath,
						 err) < 0)
			return err__prefix(err, "disk %s", target);
		if (image_cache__check_disk(h, path, json_string_value(json_object_get(disk, "format")), true, err) < 0)
			return err__prefix(err, "disk %s", target);
		if (access(path, R_OK) < 0)
			return err__fail_class(err, EINVAL, "disk %s: %s: %s", target, path, strerror(errno));
	}
	const char *kernel = json_string_value(json_object_get(json_object_get(d->def, "os"), "kernel"));
	const char *initrd = json_string_value(json_object_get(json_object_get(d->def, "os"), "initrd"));
	/* a cloud's server boots a cached kernel and ramdisk: checked as disks are */
	if (image_cache__check_disk(h, kernel, "raw", true, err) < 0)
		return err__prefix(err, "kernel");
	if (access(kernel, R_OK) < 0)
		return err__fail_class(err, EINVAL, "kernel %s: %s", kernel, strerror(errno));
	if (initrd && image_cache__check_disk(h, initrd, "raw", true, err) < 0)
		return err__prefix(err, "initrd");
	return 0;
}

/* A start whose VMM never came up (or stopped meanwhile): the run is undone. */
static void dom__start_failed(struct host *h, struct dom *d, size_t nr_nics)
{
	vmproc__kill(&d->proc, SIGKILL, NULL);
	if (d->pidfd < 0)
		d->pidfd = vmproc__pidfd(d->proc.keeper_pid, d->proc.keeper_start, NULL);
	if (d->pidfd >= 0) {
		struct pollfd p = {.fd = d->pidfd, .events = POLLIN};
		poll(&p, 1, DESTROY_WAIT_MS);
		close(d->pidfd);
	}
	d->pidfd = -1;
	d->gen = 0;
	vmproc__reap(d->proc.keeper_pid);
	d->proc = (struct vmproc){0};
	d->state = DOM_SHUTOFF;
	store__runtime_clear(h->store, d->uuid, NULL);
	dom__remove_run_files(h, d);
	networks__taps_delete(d->uuid, nr_nics, NULL);
}

/* Waits for the new VMM's control socket without h->lock (up to
 * --start-timeout, and a VMM may take that long): other domains' calls go
 * on; d is busy "starting" meanwhile, so a second operation on it is a 409,
 * except destroy, which ends the run (the start then fails). */
static int dom__wait_started(struct host *h, struct dom *d, const struct vmproc_spec *spec, json_t **status,
			     struct st_err *err)
{
	struct vmproc proc = d->proc; /* d's may be cleared by a destroy meanwhile */
	struct dom_op op;
	if (domains__op_begin(h, d, starting, &op, err) < 0)
		return -1;
	int ready = vmproc__wait_ready(spec, &proc, (int)(h->start_timeout_s * 1000), status, err);
	if (domains__op_end(h, &op, NULL) < 0) {
		json_decref(*status);
		*status = NULL;
		err__fail_class(err, EBUSY, "domain '%s' was destroyed while it started", d->name);
		return -2;
	}
	return ready;
}

int domains__start(struct host *h, struct dom *d, const char *reason, struct st_err *err)
{
	/* busy first: a start under way says so rather than "already running" */
	if (domains__check_idle(d, false, err) < 0)
		return -1;
	if (d->state != DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is already %s", d->name, domains__state_name(d));
	d->busy = "starting (checking its cached base images)";
	d->busy_since_ns = util__now_ns();
	int checked = check_sources(h, d, err);
	d->busy = NULL;
	if (checked < 0)
		return -1;
	/* the taps exist before the VMM starts: it gets each one's fd */
	json_t *nics = json_object_get(d->def, "interfaces");
	size_t nr_nics = json_array_size(nics);
	int fds[VMPROC_MAX_FDS];
	for (size_t i = 0; i < VMPROC_MAX_FDS; i++)
		fds[i] = -1;
	if (nr_nics > VMPROC_MAX_FDS)
		return err__fail_class(err, EINVAL, "start %s: too many interfaces", d->name);
	if (networks__taps_create(h, d->uuid, nics, fds, err) < 0)
		return err__prefix(err, "start %s", d->name);
	struct domain_vmargs a;
	int rc = domain_vmargs__build(h, d, &a, err);
	struct vmproc_spec spec = {.argv = (char *const *)a.argv, .log_path = a.log, .exit_path = a.exit,
				   .control_path = a.control, .fds = fds, .nr_fds = (unsigned)nr_nics};
	if (rc == 0)
		rc = vmproc__spawn(&spec, &d->proc, err);
	domain_vmargs__free(&a);
	if (rc < 0) {
		networks__taps_delete(d->uuid, nr_nics, fds);
		return err__prefix(err, "start %s", d->name);
	}
	/* the VMM has its copies: ours would keep a dead guest's taps alive */
	for (size_t i = 0; i < nr_nics; i++)
		close(fds[i]);
	/* recorded before the wait: a stratad killed meanwhile finds the guest */
	d->started_at = time(NULL);
	d->state = DOM_RUNNING;
	d->gen = ++h->next_gen;
	/* a destroy while the VMM comes up waits on it */
	d->pidfd = vmproc__pidfd(d->proc.keeper_pid, d->proc.keeper_start, NULL);
	json_t *status = NULL;
	int ready = dom__save_runtime(h, d, err);
	if (ready == 0)
		ready = dom__wait_started(h, d, &spec, &status, err);
	if (ready == -2) /* destroyed meanwhile: the destroy ended the run */
		return err__prefix(err, "start %s", d->name);
	if (ready == 1) {
		events__emit("started", "domain", d->name, d->uuid, reason);
		while (vmproc__alive(d->proc.keeper_pid, d->proc.keeper_start))
			usleep(1000); /* it has written the exit file: its exit is imminent */
		dom__ended(h, d);
		return 0;
	}
	if (ready < 0) {
		dom__start_failed(h, d, nr_nics);
		err->errnum = EIO;
		return err__prefix(err, "start %s", d->name);
	}
	json_decref(status);
	if (d->pidfd < 0)
		d->pidfd = vmproc__pidfd(d->proc.keeper_pid, d->proc.keeper_start, err);
	if (d->pidfd < 0 || dom__watch(h, d, err) < 0) {
		/* cannot supervise it: do not leave an orphan behind */
		vmproc__kill(&d->proc, SIGKILL, NULL);
		d->stop_reason = "destroyed (supervision failed)";
		if (d->pidfd >= 0) {
			struct pollfd p = {.fd = d->pidfd, .events = POLLIN};
			poll(&p, 1, DESTROY_WAIT_MS);
		}
		dom__ended(h, d);
		return err__prefix(err, "start %s", d->name);
	}
	events__emit("started", "domain", d->name, d->uuid, reason);
	return 0;
}

static int require_active(const struct dom *d, struct st_err *err)
{
	if (d->state == DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is not running", d->name);
	return 0;
}

int domains__shutdown(struct host *h, struct dom *d, unsigned timeout_s, struct st_err *err)
{
	struct dom_op op;
	if (domains__op_begin(h, d, "shutting down", &op, err) < 0)
		return -1;
	/* a paused guest cannot see the power button: it runs again first */
	bool paused = d->state == DOM_PAUSED;
	int rc = paused ? vmproc__control(op.ctl, "resume", NULL, err) : 0;
	if (rc == 0)
		rc = vmproc__control(op.ctl, "powerdown", NULL, err);
	if (domains__op_end(h, &op, rc < 0 ? NULL : err) < 0 || rc < 0)
		return -1;
	if (paused) {
		d->state = DOM_RUNNING;
		dom__save_runtime(h, d, NULL);
		events__emit("resumed", "domain", d->name, d->uuid, "shutdown");
	}
	if (!d->shutting_down) /* a second request keeps the first deadline */
		d->shutdown_deadline_ns = util__now_ns() + (uint64_t)timeout_s * 1000000000ull;
	d->shutting_down = true;
	return 0;
}

/* Kills the VMM and waits for its keeper, then ends the run with reason. */
static int dom__kill_and_reap(struct host *h, struct dom *d, const char *reason, struct st_err *err)
{
	if (vmproc__kill(&d->proc, SIGKILL, err) < 0 && err->errnum != ESRCH)
		return -1;
	struct pollfd p = {.fd = d->pidfd, .events = POLLIN};
	if (d->pidfd >= 0 && poll(&p, 1, DESTROY_WAIT_MS) == 0)
		return err__fail(err, ETIMEDOUT, "the VMM of '%s' did not end after SIGKILL", d->name);
	d->stop_reason = reason;
	dom__ended(h, d);
	return 0;
}

int domains__destroy(struct host *h, struct dom *d, struct st_err *err)
{
	if (require_active(d, err) < 0)
		return -1;
	return dom__kill_and_reap(h, d, "destroyed", err);
}

int domains__reboot(struct host *h, struct dom *d, struct st_err *err)
{
	if (require_active(d, err) < 0 || domains__check_idle(d, false, err) < 0)
		return -1;
	/* strata-vm has no guest-visible reset request yet: a reboot is a
	 * cold restart of the VMM with the same definition */
	if (dom__kill_and_reap(h, d, "reboot", err) < 0)
		return -1;
	return domains__start(h, d, "reboot", err);
}

static int dom__control_transition(struct host *h, struct dom *d, enum dom_state from, enum dom_state to,
				   const char *cmd, const char *event, struct st_err *err)
{
	/* busy first: the state may be about to change */
	if (domains__check_idle(d, false, err) < 0)
		return -1;
	if (d->state != from)
		return err__fail_class(err, EBUSY, "domain '%s' is %s, not %s", d->name, domains__state_name(d),
			       from == DOM_RUNNING ? "running" : "paused");
	if (d->shutting_down)
		return err__fail_class(err, EBUSY, "domain '%s' is busy: shutting down", d->name);
	struct dom_op op;
	if (domains__op_begin(h, d, to == DOM_PAUSED ? "suspending" : "resuming", &op, err) < 0)
		return -1;
	int rc = vmproc__control(op.ctl, cmd, NULL, err);
	if (domains__op_end(h, &op, rc < 0 ? NULL : err) < 0 || rc < 0)
		return -1;
	d->state = to;
	if (dom__save_runtime(h, d, err) < 0)
		return -1;
	events__emit(event, "domain", d->name, d->uuid, "api");
	return 0;
}

int domains__suspend(struct host *h, struct dom *d, struct st_err *err)
{
	return dom__control_transition(h, d, DOM_RUNNING, DOM_PAUSED, "pause", "paused", err);
}

int domains__resume(struct host *h, struct dom *d, struct st_err *err)
{
	return dom__control_transition(h, d, DOM_PAUSED, DOM_RUNNING, "resume", "resumed", err);
}

int domains__set_autostart(struct host *h, struct dom *d, bool on, struct st_err *err)
{
	if (d->transient && on)
		return err__fail_class(err, EINVAL, "domain '%s' is transient: it cannot be autostarted", d->name);
	if (store__domain_set_autostart(h->store, d->uuid, on, err) < 0)
		return -1;
	d->autostart = on;
	return 0;
}

json_t *domains__summary(const struct dom *d)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:O, s:O}", "name", d->name, "uuid", d->uuid, "state",
			      domains__state_name(d), "autostart", d->autostart, "memory_mib",
			      json_object_get(d->def, "memory_mib"), "vcpus", json_object_get(d->def, "vcpus"));
	json_object_set_new(o, "pid", d->state == DOM_SHUTOFF ? json_null() : json_integer(d->proc.vm_pid));
	return o;
}

json_t *domains__info(struct host *h, const struct dom *d)
{
	json_t *o = domains__summary(d);
	json_object_set(o, "definition", d->def);
	json_object_set_new(o, "shutting_down", json_boolean(d->shutting_down));
	json_object_set_new(o, "last_stop_reason", json_string(d->last_reason));
	json_object_set_new(o, "transient", json_boolean(d->transient));
	if (d->state != DOM_SHUTOFF)
		json_object_set_new(o, "started_at", json_integer(d->started_at));
	if (d->busy)
		json_object_set_new(o, "busy", json_string(d->busy));
	(void)h;
	return o;
}

int domains__check_idle(const struct dom *d, bool readers, struct st_err *err)
{
	if (d->busy)
		return err__fail_class(err, EBUSY, "domain '%s' is busy: %s for %llu s; try again later", d->name, d->busy,
				       (unsigned long long)((util__now_ns() - d->busy_since_ns) / 1000000000ull));
	if (readers && d->readers)
		return err__fail_class(err, EBUSY, "domain '%s' is busy: its VMM is being asked; try again later",
				       d->name);
	return 0;
}

int domains__op_begin(struct host *h, struct dom *d, const char *what, struct dom_op *op, struct st_err *err)
{
	/* a VMM coming up has nothing to tell readers yet */
	if (require_active(d, err) < 0 || ((what || d->busy == starting) && domains__check_idle(d, false, err) < 0))
		return -1;
	*op = (struct dom_op){.d = d, .gen = d->gen, .reader = !what};
	domains__run_path(h, d, "ctl", op->ctl, sizeof(op->ctl));
	if (what) {
		d->busy = what;
		d->busy_since_ns = util__now_ns();
	} else {
		d->readers++;
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int domains__op_end(struct host *h, struct dom_op *op, struct st_err *err)
{
	pthread_mutex_lock(&h->lock);
	struct dom *d = op->d;
	if (op->reader)
		d->readers--;
	else
		d->busy = NULL;
	if (d->state == DOM_SHUTOFF || d->gen != op->gen)
		return err__fail_class(err, EBUSY, "domain '%s' stopped meanwhile", d->name);
	return 0;
}

/* A VMM that stops answering must hold up only the caller who asked it:
 * the lock every call needs is let go while the control socket is asked. */
json_t *domains__info_live(struct host *h, struct dom *d)
{
	json_t *o = domains__info(h, d);
	struct dom_op op;
	if (d->state == DOM_SHUTOFF || domains__op_begin(h, d, NULL, &op, NULL) < 0)
		return o;
	json_t *status = NULL, *devs = NULL;
	int got_status = vmproc__control(op.ctl, "status", &status, NULL);
	/* the VMM's view of the disks and NICs: paths, taps, counters */
	int got_devs = got_status == 0 ? vmproc__control(op.ctl, "query-devices", &devs, NULL) : -1;
	if (domains__op_end(h, &op, NULL) < 0) {
		/* stopped meanwhile: what stratad knows now */
		json_decref(o);
		o = domains__info(h, d);
	} else {
		if (got_status == 0)
			json_object_set(o, "vmm", status);
		if (got_devs == 0)
			json_object_set(o, "devices", json_object_get(devs, "devices"));
	}
	json_decref(status);
	json_decref(devs);
	return o;
}

char *domains__run_file(struct host *h, const struct dom *d, const char *suffix)
{
	char path[512];
	domains__run_path(h, d, suffix, path, sizeof(path));
	return strdup(path);
}

char *domains__console_path(struct host *h, const struct dom *d)
{
	return domains__run_file(h, d, "console");
}

/* Re-attach: a run recorded in the database is either still going (the
 * keeper or the VMM lives: watch it again) or ended while stratad was away. */
static void dom__reattach(struct host *h, struct dom *d, const struct store_runtime *rt)
{
	d->proc = (struct vmproc){.vm_pid = rt->vm_pid, .keeper_pid = rt->keeper_pid, .vm_start = rt->vm_start,
				  .keeper_start = rt->keeper_start};
	d->started_at = rt->started_at;
	d->transient = rt->transient;
	d->state = !strcmp(rt->state, "paused") ? DOM_PAUSED : DOM_RUNNING;
	/* a complete exit file means the run is over, even while its keeper
	 * is still on its way out */
	char exitp[512];
	int code, sig;
	domains__run_path(h, d, "exit", exitp, sizeof(exitp));
	if (vmproc__exit_status(exitp, &code, &sig) == 0) {
		dom__ended(h, d);
		return;
	}
	d->pidfd = vmproc__pidfd(rt->keeper_pid, rt->keeper_start, NULL);
	if (d->pidfd < 0 && !vmproc__alive(rt->vm_pid, rt->vm_start)) {
		dom__ended(h, d);
		return;
	}
	if (d->pidfd < 0)
		d->pidfd = vmproc__pidfd(rt->vm_pid, rt->vm_start, NULL);
	struct st_err err = {0};
	if (d->pidfd < 0 || dom__watch(h, d, &err) < 0) {
		dom__ended(h, d);
		return;
	}
	char path[512];
	json_t *status = NULL;
	domains__run_path(h, d, "ctl", path, sizeof(path));
	if (vmproc__control(path, "status", &status, NULL) == 0) {
		const char *s = json_string_value(json_object_get(status, "status"));
		if (s)
			d->state = !strcmp(s, "paused") ? DOM_PAUSED : DOM_RUNNING;
		json_decref(status);
	}
	log__info("domain %s: re-attached to VMM pid %d", d->name, (int)d->proc.vm_pid);
}

struct load_ctx {
	struct host *h;
	struct store_runtime *rts;
};

static int load_one(void *ctx, const char *uuid, const char *name, json_t *def, bool autostart,
		    const struct store_runtime *rt, struct st_err *err)
{
	struct host *h = ctx;
	struct dom *d = dom__new(h, uuid, name, def, autostart);
	if (!d) {
		json_decref(def);
		return err__fail(err, ENOMEM, "loading domains");
	}
	if (rt)
		dom__reattach(h, d, rt);
	return 0;
}

int domains__load(struct host *h, struct st_err *err)
{
	return store__domain_each(h->store, load_one, h, err);
}

void domains__autostart(struct host *h)
{
	for (struct dom *d = h->doms; d; d = d->next) {
		struct st_err err = {0};
		if (d->autostart && d->state == DOM_SHUTOFF && domains__start(h, d, "autostart", &err) < 0)
			log__warn("autostart of %s failed: %s", d->name, err.msg);
	}
}

void domains__sweep_transient(struct host *h)
{
	struct dom *next;
	for (struct dom *d = h->doms; d; d = next) {
		next = d->next;
		struct st_err err = {0};
		if (d->transient && d->state == DOM_SHUTOFF && !d->busy && !d->readers &&
		    domains__undefine(h, d, false, &err) < 0)
			log__warn("transient domain %s: %s", d->name, err.msg);
	}
}

int domains__create(struct host *h, const json_t *input, struct dom **out, struct st_err *err)
{
	struct dom *d;
	if (domains__define(h, input, &d, err) < 0)
		return -1;
	d->transient = true;
	if (domains__start(h, d, "created", err) < 0) {
		domains__undefine(h, d, false, NULL);
		return -1;
	}
	*out = d;
	return 0;
}

static void *supervisor(void *arg)
{
	struct host *h = arg;
	while (!h->quitting) {
		struct epoll_event evs[16];
		int n = epoll_wait(h->epfd, evs, 16, 200);
		pthread_mutex_lock(&h->lock);
		for (int i = 0; i < n; i++)
			for (struct dom *d = h->doms; d; d = d->next)
				if (d->gen == evs[i].data.u64 && d->state != DOM_SHUTOFF) {
					dom__ended(h, d);
					break;
				}
		domains__sweep_transient(h);
		uint64_t now = util__now_ns();
		for (struct dom *d = h->doms; d; d = d->next) {
			if (d->shutting_down && d->state != DOM_SHUTOFF && now > d->shutdown_deadline_ns) {
				struct st_err err = {0};
				log__info("domain %s did not power off in time: destroying it", d->name);
				d->shutting_down = false;
				if (dom__kill_and_reap(h, d, "shutdown timeout, destroyed", &err) < 0)
					log__warn("%s: %s", d->name, err.msg);
			}
		}
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

int domains__supervise(struct host *h, struct st_err *err)
{
	int rc = pthread_create(&h->supervisor, NULL, supervisor, h);
	if (rc)
		return err__fail(err, rc, "supervisor thread");
	return 0;
}

int domains__store_def(struct host *h, struct dom *d, json_t *def, struct st_err *err)
{
	if (store__domain_update(h->store, d->uuid, def, err) < 0) {
		json_decref(def);
		return -1;
	}
	json_decref(d->def);
	d->def = def;
	return 0;
}
