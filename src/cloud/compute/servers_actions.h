/* A server's actions beyond create and delete (Nova's POST
 * /servers/{id}/action and os-lock-server), Nova's state machine that
 * guards them, and the record of what was done to a server (Nova's
 * instance actions and their events, os-instance-actions).
 *
 * An action that changes the guest is checked against the server's
 * vm_state and task_state, and its lock, in the same UPDATE that sets its
 * task_state (two requests never both pass), answered at once (202), and
 * finished by a worker thread that drives the host through stratad's /v1
 * API (servers_actions_host.c). Errors as servers.h: EEXIST is Nova's 409
 * ("Cannot 'stop' instance X while it is in vm_state stopped", "Instance X
 * is locked"). */
#ifndef STRATA_CLOUD_SERVERS_ACTIONS_H
#define STRATA_CLOUD_SERVERS_ACTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/compute/servers.h"
#include "cloud/compute/servers_hosts.h"

/* What an action needs of the server's state (Nova's check_instance_state
 * and check_instance_lock). */
struct servers_actions_guard {
	const char *method;           /* the name in Nova's 409: 'stop', 'update metadata' */
	const char *const *vm_states; /* NULL-terminated; NULL: any */
	const char *const *task_states; /* NULL-terminated, "" for none; NULL: none only */
	bool any_task;                /* any task_state passes */
	bool needs_host;              /* Nova's check_instance_host */
	bool ignore_lock;             /* no check_instance_lock */
};

/* 0 when row (a server row) may undergo g for c: not locked (admins pass
 * a lock), in one of g's states, on a host when g asks. EEXIST with Nova's
 * message otherwise. */
int servers_actions__check(const struct compute_caller *c, const json_t *row,
			   const struct servers_actions_guard *g, struct st_err *err);

/* POST /servers/{id}/action: body {"os-stop": null}, {"reboot": {"type"}},
 * {"createImage": {"name", "metadata"}} ...; *out the reply's body (NULL
 * for none: createImage's {"image_id"} from 2.45), *status Nova's (202,
 * or 200 for lock/unlock with no body); location: createImage's image
 * URL path ("/images/ID") before 2.45, else "". */
int servers_actions__run(struct servers *s, const struct compute_caller *c, const char *id,
			 json_t *body, const char *request_id, json_t **out, unsigned *status,
			 char location[80], struct st_err *err);

/* --- instance actions (servers_actions_log.c) --- */
/* The create's event, ended by the build's worker. */
#define SERVERS_BUILD_EVENT "compute__do_build_and_run_instance"
/* Records that c started action on the server; *action_id the record's
 * id (for its events), may be NULL. */
int servers_actions__record(struct db *db, const struct compute_caller *c, const char *uuid,
			    const char *action, const char *request_id, long long *action_id,
			    struct st_err *err);
/* The event's start (result NULL) or its end ("Success" or "Error", with
 * what went wrong); the action finishes with its event. */
void servers_actions__event(struct db *db, long long action_id, const char *event,
			    const char *result, const char *traceback);
/* The newest action of that name on the server (its create): its event ends. */
void servers_actions__event_latest(struct db *db, const char *uuid, const char *action,
				   const char *event, const char *result, const char *traceback);
/* GET /servers/{id}/os-instance-actions: newest first. */
int servers_actions__list(struct servers *s, const struct compute_caller *c, const char *id,
			  json_t **out, struct st_err *err);
/* GET .../os-instance-actions/{request_id}: with its events (admins', or
 * everyone's without the traceback from 2.51). */
int servers_actions__show(struct servers *s, const struct compute_caller *c, const char *id,
			  const char *request_id, json_t **out, struct st_err *err);

/* --- rebuild's and createImage's arguments (servers_actions_image.c) --- */
/* {"rebuild": {"imageRef", "name", "metadata", ...}}: checked, the image
 * loaded; *work what the worker needs ({"image": the request spec's
 * image, "name", "metadata", "adminPass"}). */
int servers_actions__rebuild_args(struct servers *s, const struct compute_caller *c,
				  const json_t *row, json_t *args, json_t **work, struct st_err *err);
/* createImage's body as Nova's schema wants it (checked before the state). */
int servers_actions__snapshot_valid(struct servers *s, const struct compute_caller *c, json_t *args,
				    struct st_err *err);
/* {"createImage": {"name", "metadata"}}: the image made at once (queued,
 * Nova's snapshot properties); *work {"image_id"}. */
int servers_actions__snapshot_args(struct servers *s, const struct compute_caller *c,
				   const json_t *row, json_t *args, json_t **work, struct st_err *err);

/* --- the host's side (servers_actions_host.c) --- */
/* One action's work on the host in a worker thread: the server's uuid,
 * the action's name, its record's id and its work (rebuild's, createImage's;
 * NULL for the others, referenced). */
void servers_actions__start_worker(struct servers *s, const char *uuid, const char *action,
				   long long action_id, json_t *args);
/* POST /v1/domains/instance-XXXXXXXX/VERB on the server's host. */
int servers_actions__domain_call(const struct servers_host *h, const json_t *row, const char *verb,
				 struct st_err *err);
/* createImage's work (servers_actions_image.c): the root disk copied on
 * the host (a running guest paused meanwhile), downloaded and uploaded as
 * work's image, which becomes active. */
int servers_actions__snapshot(struct servers *s, const struct servers_host *h, const json_t *row,
			      const json_t *work, struct st_err *err);

#endif
