/* POST /servers/{id}/action and Nova's state machine for it. Each action's
 * row says what Nova's compute API checks (nova/compute/api.py's
 * check_instance_state, check_instance_lock, check_instance_host), which
 * policy rule guards it, and the task_state it sets. The check and the
 * task_state's change are one UPDATE conditional on the state the check
 * saw, so of two requests racing only one passes (the other: 409). */
#include "cloud/compute/servers_actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_policy.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_db.h"

static bool in(const char *const *set, const char *v)
{
	for (; *set; set++)
		if (!strcmp(*set, v))
			return true;
	return false;
}

int servers_actions__check(const struct compute_caller *c, const json_t *row,
			   const struct servers_actions_guard *g, struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	const char *task = json_string_value(json_object_get(row, "task_state"));
	if (!g->ignore_lock && json_integer_value(json_object_get(row, "locked")) && !c->admin)
		return err__fail_class(err, EEXIST, "Instance %s is locked", uuid);
	if (g->vm_states && !in(g->vm_states, vm ? vm : ""))
		return err__fail_class(err, EEXIST, "Cannot '%s' instance %s while it is in vm_state %s",
				       g->method, uuid, vm ? vm : "None");
	bool task_ok = g->any_task || (g->task_states ? in(g->task_states, task ? task : "") : !task);
	if (!task_ok)
		return err__fail_class(err, EEXIST, "Cannot '%s' instance %s while it is in task_state %s",
				       g->method, uuid, task);
	if (g->needs_host && !json_string_value(json_object_get(row, "host")))
		return err__fail_class(err, EEXIST, "Instance %s is not ready", uuid);
	return 0;
}

static const char *const ACTIVE[] = {"active", NULL};
static const char *const STOPPED[] = {"stopped", NULL};
static const char *const PAUSED[] = {"paused", NULL};
static const char *const SUSPENDED[] = {"suspended", NULL};
static const char *const STOPPABLE[] = {"active", "rescued", "error", NULL};
static const char *const REBOOTABLE[] = {"active", "stopped", "paused", "suspended", "error", NULL};
static const char *const HARD_TASKS[] = {"", "rebooting", "reboot_pending", "reboot_started",
	"rebooting_hard", "resuming", "unpausing", "pausing", "suspending", NULL};
static const char *const REBUILDABLE[] = {"active", "stopped", "error", NULL};
static const char *const SNAPSHOTTABLE[] = {"active", "stopped", "paused", "suspended", NULL};

/* An action of the body's key. */
struct action {
	const char *key, *rule;
	struct servers_actions_guard guard;
	const char *task; /* the task_state it sets; NULL: none (the lock) */
	const char *record; /* its instance action's name */
};

static const struct action actions[] = {
	{"os-start", "os_compute_api:servers:start", {"start", STOPPED, NULL, false, true, false},
	 "powering-on", "start"},
	{"os-stop", "os_compute_api:servers:stop", {"stop", STOPPABLE, NULL, false, true, false},
	 "powering-off", "stop"},
	{"reboot", "os_compute_api:servers:reboot", {"reboot", ACTIVE, NULL, false, true, false},
	 "rebooting", "reboot"},
	{"pause", "os_compute_api:os-pause-server:pause", {"pause", ACTIVE, NULL, false, true, false},
	 "pausing", "pause"},
	{"unpause", "os_compute_api:os-pause-server:unpause", {"unpause", PAUSED, NULL, false, true, false},
	 "unpausing", "unpause"},
	{"suspend", "os_compute_api:os-suspend-server:suspend", {"suspend", ACTIVE, NULL, false, true, false},
	 "suspending", "suspend"},
	{"resume", "os_compute_api:os-suspend-server:resume", {"resume", SUSPENDED, NULL, false, true, false},
	 "resuming", "resume"},
	{"rebuild", "os_compute_api:servers:rebuild", {"rebuild", REBUILDABLE, NULL, false, true, false},
	 "rebuilding", "rebuild"},
	{"createImage", "os_compute_api:servers:create_image",
	 {"createImage", SNAPSHOTTABLE, NULL, false, true, false}, "image_snapshot", "createImage"},
	{"lock", "os_compute_api:os-lock-server:lock", {"lock", NULL, NULL, true, false, true}, NULL, "lock"},
	{"unlock", "os_compute_api:os-lock-server:unlock", {"unlock", NULL, NULL, true, false, true}, NULL,
	 "unlock"},
};

static int bad(struct st_err *err, const char *fmt, const char *arg)
{
	return err__fail_class(err, EINVAL, fmt, arg);
}

/* reboot's {"type": SOFT|HARD}: HARD passes more states (Nova's _hard_reboot). */
static int reboot_args(const json_t *args, struct servers_actions_guard *g, const char **task,
		       struct st_err *err)
{
	static const char *const allowed[] = {"type", NULL};
	const char *type;
	if (!json_is_object(args))
		return bad(err, "%s", "Invalid input for field/attribute reboot. Value: None. None is not of type 'object'");
	if (compute_valid__keys(args, allowed, err) < 0 ||
	    compute_valid__string(args, "type", true, 0, 255, false, &type, err) < 0)
		return -1;
	if (!strcmp(type, "HARD") || !strcmp(type, "Hard") || !strcmp(type, "hard")) {
		g->vm_states = REBOOTABLE;
		g->task_states = HARD_TASKS;
		*task = "rebooting_hard";
		return 0;
	}
	if (!strcmp(type, "SOFT") || !strcmp(type, "Soft") || !strcmp(type, "soft"))
		return 0;
	return bad(err, "Invalid input for field/attribute type. Value: %.64s. Value is not one of the "
		   "enums ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", type);
}

/* The server's lock: Nova's locked_by is "owner" when the caller is of the
 * server's project, else "admin"; an admin's lock needs the override rule
 * to be undone by its owner. */
static int set_lock(struct servers *s, const struct compute_caller *c, const json_t *row, bool lock,
		    struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *owner = json_string_value(json_object_get(row, "project_id"));
	const char *by = json_string_value(json_object_get(row, "locked_by"));
	bool own = !strcmp(owner, c->project_id);
	if (!lock && json_integer_value(json_object_get(row, "locked")) && by &&
	    strcmp(by, own ? "owner" : "admin") &&
	    compute_policy__check(c, "os_compute_api:os-lock-server:unlock:unlock_override", owner, err) < 0)
		return -1;
	const char *p[] = {lock ? (own ? "owner" : "admin") : NULL, uuid};
	if (lock)
		return servers_db__update(s->db, "locked = 1, locked_by = ?", p, 2, err);
	return servers_db__update(s->db, "locked = 0, locked_by = NULL", p + 1, 1, err);
}

/* The compare-and-set of the task_state: only from the state checked. */
static int begin_task(struct servers *s, const json_t *row, const struct action *a, const char *task,
		      struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	const char *old = json_string_value(json_object_get(row, "task_state"));
	char locked[8], now[24];
	snprintf(locked, sizeof(locked), "%lld", (long long)json_integer_value(json_object_get(row, "locked")));
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	const char *p[] = {task, now, s->controller, uuid, vm, old ? old : "", locked};
	/* this controller's worker drives the task (servers_reconcile.c) */
	int n = db__exec(s->db, "UPDATE compute_server SET task_state = ?, updated_at = ?, controller = ?"
			 " WHERE uuid = ?"
			 " AND deleted = 0 AND vm_state = ? AND COALESCE(task_state, '') = ?"
			 " AND locked = CAST(? AS INTEGER)", p, 7, err);
	if (n < 0)
		return -1;
	if (!n)
		return err__fail_class(err, EEXIST, "Cannot '%s' instance %s while it is changing state",
				       a->guard.method, uuid);
	return 0;
}

int servers_actions__run(struct servers *s, const struct compute_caller *c, const char *id,
			 json_t *body, const char *request_id, json_t **out, unsigned *status,
			 char location[80], struct st_err *err)
{
	*out = NULL;
	*status = 202;
	location[0] = 0;
	if (!json_is_object(body) || json_object_size(body) != 1)
		return err__fail_class(err, EINVAL, "Malformed request body");
	const char *key = json_object_iter_key(json_object_iter(body));
	json_t *args = json_object_get(body, key);
	const struct action *a = NULL;
	for (size_t i = 0; i < ST_ARRAY_SIZE(actions); i++)
		if (!strcmp(actions[i].key, key))
			a = &actions[i];
	if (!a)
		return err__fail_class(err, EINVAL, "There is no such action: %.64s", key);
	cleanup_json json_t *row = NULL;
	if (servers__find(s, c, id, a->rule, &row, err) < 0)
		return -1;
	struct servers_actions_guard g = a->guard;
	const char *task = a->task;
	if (!strcmp(a->key, "reboot") && reboot_args(args, &g, &task, err) < 0)
		return -1;
	/* the body's schema first, as Nova's API validates before its checks */
	cleanup_json json_t *work = NULL;
	if (!strcmp(a->key, "rebuild") && servers_actions__rebuild_args(s, c, row, args, &work, err) < 0)
		return -1;
	if (!strcmp(a->key, "createImage") && servers_actions__snapshot_valid(s, c, args, err) < 0)
		return -1;
	if (servers_actions__check(c, row, &g, err) < 0)
		return -1;
	if (!strcmp(a->key, "createImage") &&
	    servers_actions__snapshot_args(s, c, row, args, &work, err) < 0)
		return -1;
	long long action_id;
	if (!task) {
		if (set_lock(s, c, row, !strcmp(a->key, "lock"), err) < 0)
			return -1;
		return servers_actions__record(s->db, c, id, a->record, request_id, NULL, err);
	}
	if (begin_task(s, row, a, task, err) < 0 ||
	    servers_actions__record(s->db, c, id, a->record, request_id, &action_id, err) < 0)
		return -1;
	const char *image = json_string_value(json_object_get(work, "image_id"));
	if (image && c->mv >= 45)
		*out = json_pack("{s:s}", "image_id", image);
	else if (image)
		snprintf(location, 80, "/images/%s", image);
	servers_actions__start_worker(s, id, a->record, action_id, work);
	return 0;
}
