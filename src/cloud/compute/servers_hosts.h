/* The hosts as the servers' worker needs them: the scheduler's host states
 * (resources used are this cloud's claims) and, per host, how to reach its
 * stratad and which pool holds its instances' disks. */
#ifndef STRATA_CLOUD_SERVERS_HOSTS_H
#define STRATA_CLOUD_SERVERS_HOSTS_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/scheduler.h"

struct servers_host {
	const char *name;
	const char *tcp;   /* stratad's HOST:PORT */
	const char *token; /* its bearer token */
	const char *pool;  /* the pool for instance disks */
};

struct servers_hosts {
	struct scheduler_host *states; /* n, the scheduler's input */
	struct servers_host *hosts;    /* n, the same order */
	size_t n;
	json_t *strings;               /* owns every string above */
	const char **uuids;
};

int servers_hosts__load(struct db *db, struct servers_hosts *out, struct st_err *err);
void servers_hosts__free(struct servers_hosts *h);
/* The host named name in h, or NULL. */
const struct servers_host *servers_hosts__find(const struct servers_hosts *h, const char *name);

#endif
