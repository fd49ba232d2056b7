/* The reconciliation pass (Nova's _init_instance at a compute service's
 * start and its periodic _sync_power_states and
 * _cleanup_running_deleted_instances, done here by the controller since
 * hosts are plain stratad):
 *
 * - Ownership: every controller (a `strata-cloud serve`) holds a lease row
 *   in compute_controller (a fresh id each start, renewed every pass); a
 *   server whose task is in flight carries the id of the controller whose
 *   worker drives it (set in the same statement that sets the task). A
 *   task whose controller's lease is older than the service down time is
 *   taken over by one live controller (a compare-and-set on the server's
 *   controller column: several controllers on one database never both
 *   take it): an interrupted build is cleaned off its host, its claim
 *   released, and the server is ERROR with a fault; an interrupted delete
 *   is finished; any other task is ended (task_state cleared) and the power
 *   sync below says where the guest is. A controller restarted on the same
 *   state directory (whose lock it takes) knows its earlier selves dead at
 *   once and takes their tasks over without waiting for the lease.
 * - Each host that is up: its domains named instance-XXXXXXXX and its
 *   instance volumes (<uuid>-disk ...) that belong to no server on that
 *   host are removed (Nova's running_deleted_instance_action=reap); each
 *   server at rest on it gets the power state its domain has, and Nova's
 *   transitions (active whose guest stopped: SHUTOFF); a server whose
 *   domain is gone from a live host is ERROR with a fault saying so. */
#ifndef STRATA_CLOUD_SERVERS_RECONCILE_H
#define STRATA_CLOUD_SERVERS_RECONCILE_H

#include "common/err.h"
#include "cloud/compute/servers.h"

struct servers_reconcile;

/* Records this controller's lease (s->controller) named after this machine
 * and state_dir, then runs a pass at once and every interval_s seconds in
 * a thread until servers_reconcile__stop. */
int servers_reconcile__start(struct servers *s, const char *state_dir, unsigned interval_s,
			     struct servers_reconcile **out, struct st_err *err);
/* Stops the thread (waits for a pass in progress). The lease stays: it
 * runs out, and this controller's workers have ended by then. */
void servers_reconcile__stop(struct servers_reconcile *r);

#endif
