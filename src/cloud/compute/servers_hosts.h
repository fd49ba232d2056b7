/* The hosts as the servers' worker needs them: the scheduler's host states
 * (hosts.h: their used resources are the claims) and, per host, how to
 * reach its stratad and which pool holds its instances' disks. */
#ifndef STRATA_CLOUD_SERVERS_HOSTS_H
#define STRATA_CLOUD_SERVERS_HOSTS_H

#include <stddef.h>

#include "common/err.h"
#include "cloud/compute/hosts.h"
#include "cloud/db/db.h"

/* The pool every host keeps its instances' disks in (Nova's instances_path). */
#define SERVERS_POOL "instances"

struct servers_host {
	const char *name;
	struct hosts_endpoint ep;
	const char *pool;
};

struct servers_hosts {
	struct hosts_states st;        /* st.hosts: the scheduler's input */
	struct servers_host *hosts;    /* st.n, the same order */
};

int servers_hosts__load(struct db *db, const struct hosts_config *cfg, struct servers_hosts *out,
			struct st_err *err);
void servers_hosts__free(struct servers_hosts *h);
/* The host named name in h, or NULL. */
const struct servers_host *servers_hosts__find(const struct servers_hosts *h, const char *name);

#endif
