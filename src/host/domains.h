/* Domain lifecycle. Every function here is called with host->lock held (and
 * returns with it held; some let go of it meanwhile, as they say).
 * Failures carry an errno that the API maps to a status: EINVAL 400,
 * ENOENT 404, EEXIST/EBUSY 409, anything else 500. */
#ifndef STRATA_HOST_DOMAINS_H
#define STRATA_HOST_DOMAINS_H

#include "host/host.h"

int domains__load(struct host *h, struct st_err *err);  /* definitions + re-attach */
void domains__autostart(struct host *h);
int domains__supervise(struct host *h, struct st_err *err); /* starts the supervisor thread */

struct dom *domains__find(struct host *h, const char *name_or_uuid, struct st_err *err);
int domains__define(struct host *h, const json_t *input, struct dom **out, struct st_err *err);
/* Stores def (taking it) as d's definition, then keeps it in memory; on
 * failure def is freed and d keeps its old one. */
int domains__store_def(struct host *h, struct dom *d, json_t *def, struct st_err *err);
int domains__undefine(struct host *h, struct dom *d, bool volumes, struct st_err *err);
/* Spawns the VMM with h->lock held, then waits for it to come up without
 * the lock (domains__op_begin: d is busy "starting"); a destroy meanwhile
 * ends the run and the start fails (EBUSY). */
int domains__start(struct host *h, struct dom *d, const char *reason, struct st_err *err);
int domains__shutdown(struct host *h, struct dom *d, unsigned timeout_s, struct st_err *err);
int domains__destroy(struct host *h, struct dom *d, struct st_err *err);
int domains__reboot(struct host *h, struct dom *d, struct st_err *err);
int domains__suspend(struct host *h, struct dom *d, struct st_err *err);
int domains__resume(struct host *h, struct dom *d, struct st_err *err);
int domains__set_autostart(struct host *h, struct dom *d, bool on, struct st_err *err);
/* Defines and starts a transient domain (virsh create): one that is
 * undefined when it stops; a failed start leaves nothing defined. */
int domains__create(struct host *h, const json_t *input, struct dom **out, struct st_err *err);
/* Undefines the transient domains that have stopped (the supervisor, each tick). */
void domains__sweep_transient(struct host *h);

const char *domains__state_name(const struct dom *d);
json_t *domains__summary(const struct dom *d);
/* What stratad knows of d (definition, state, pid), without asking its VMM. */
json_t *domains__info(struct host *h, const struct dom *d);
/* The same with the running VMM's status and devices. Called with h->lock
 * held, it lets go of the lock while it asks the VMM (a VMM that stops
 * answering stalls no other call) as a reader of d (domains__op_begin). */
json_t *domains__info_live(struct host *h, struct dom *d);

/* One exchange with a running domain's VMM, done without h->lock so that a
 * VMM that does not answer stalls only its own caller. */
struct dom_op {
	struct dom *d;
	uint64_t gen;  /* the run it is for */
	char ctl[512]; /* the VMM's control socket */
	bool reader;
};
/* Called with h->lock held, on a running domain: marks d busy with what
 * ("suspending"; NULL: a reader, who shares d with anyone but a start whose
 * VMM is still coming up), or fails with EBUSY (409) naming the operation
 * under way, then lets go of h->lock. d
 * stays allocated (undefine refuses a busy domain) but may change: read it
 * only after domains__op_end. */
int domains__op_begin(struct host *h, struct dom *d, const char *what, struct dom_op *op, struct st_err *err);
/* Takes h->lock back and clears the mark. 0 when d is still in the run the
 * operation began in; else fails (EBUSY: the run ended meanwhile). */
int domains__op_end(struct host *h, struct dom_op *op, struct st_err *err);
/* Fails with EBUSY (409) when an operation is under way on d (or, with
 * readers, when anyone is still asking its VMM). */
int domains__check_idle(const struct dom *d, bool readers, struct st_err *err);
/* Path of the console socket of a running domain (malloc'd). */
char *domains__console_path(struct host *h, const struct dom *d);
/* Path of one of a run's files ("ctl": its control socket, "console", "exit") into out. */
void domains__run_path(const struct host *h, const struct dom *d, const char *suffix, char *out, size_t len);
/* Path of one of a run's files ("ctl": its control socket) (malloc'd). */
char *domains__run_file(struct host *h, const struct dom *d, const char *suffix);

/* A disk's {"pool", "volume"} to its path, for domdef's checks (ctx: the host). */
int domains__resolve_volume(void *ctx, const char *pool, const char *volume, char **path, const char **format,
			    struct st_err *err);

#endif
