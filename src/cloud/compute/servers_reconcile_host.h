/* One up host reconciled with the servers' rows (servers_reconcile.h):
 * orphan domains and instance volumes reaped, the power state of each
 * server at rest synced from its domain. */
#ifndef STRATA_CLOUD_SERVERS_RECONCILE_HOST_H
#define STRATA_CLOUD_SERVERS_RECONCILE_HOST_H

#include "cloud/compute/servers.h"
#include "cloud/compute/servers_hosts.h"

/* Failures (the host not answering) are logged: the next pass tries again. */
void servers_reconcile_host__sync(struct servers *s, const struct servers_host *h);

#endif
