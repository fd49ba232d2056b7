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
	struct servers_host **hosts;   /* st.n, the same order; each made when first asked for */
};

/* The host states only: a host's endpoint is read when it is asked for
 * (one query for the chosen host, not one per host of the cloud). */
int servers_hosts__load(struct db *db, const struct hosts_config *cfg, struct servers_hosts *out,
			struct st_err *err);
/* For scheduling req: the instances' uuids only when its group or hints
 * need them (hosts__states_opt). */
int servers_hosts__load_for(struct db *db, const struct hosts_config *cfg, const struct scheduler_request *req,
			    struct servers_hosts *out, struct st_err *err);
void servers_hosts__free(struct servers_hosts *h);
/* Host i of h->st with its endpoint; NULL (err set) when it left the cloud
 * since the states were read, or on a database error. */
const struct servers_host *servers_hosts__at(struct db *db, struct servers_hosts *h, size_t i,
					     struct st_err *err);
/* The host named name in h, or NULL. */
const struct servers_host *servers_hosts__find(struct db *db, struct servers_hosts *h, const char *name);

#endif
