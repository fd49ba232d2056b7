/* The threads that drive hosts for the servers' API: build (schedule,
 * claim, build on the host, retry on alternates) and delete (clean the
 * host, release the claim). Each runs detached and is counted in
 * servers.busy so that servers__fini waits for it. */
#ifndef STRATA_CLOUD_SERVERS_WORKER_H
#define STRATA_CLOUD_SERVERS_WORKER_H

#include <jansson.h>

#include "common/err.h"
#include "cloud/compute/servers.h"
#include "cloud/compute/servers_hosts.h"

/* Builds the servers of one request (uuids: a JSON array, referenced). */
void servers_worker__build(struct servers *s, json_t *uuids);
/* Finishes the delete of a server whose task_state is deleting. */
void servers_worker__delete(struct servers *s, const char *uuid);
/* fn(arg) in a detached thread counted in s->busy (servers__fini waits
 * for it); fn ends with servers_worker__done(s). < 0: no thread, nothing
 * counted. */
int servers_worker__spawn(struct servers *s, void *(*fn)(void *), void *arg);
void servers_worker__done(struct servers *s);
/* ERROR with Nova's fault (code 500) and the create's event ended; the
 * rows changed (0: a delete came first). */
int servers_worker__error(struct db *db, const char *uuid, const char *message, const char *details);
/* Deletes what the server left on its host, its claim, and the row. */
void servers_worker__finish_delete(struct servers *s, const char *uuid);

/* --- the host's side (servers_stratad.c) --- */
/* The server's disk (and kernel, ramdisk) as volumes fetched from this
 * cloud, then its domain defined and started. On failure fault holds what
 * went wrong and where ("host H: stratad: ..."); the caller cleans. */
int servers_stratad__build(struct servers *s, const struct servers_host *h, const json_t *row,
			   char *fault, size_t size);
/* Removes the server's domain and volumes from the host (absent ones are
 * fine). */
int servers_stratad__clean(const struct servers_host *h, const json_t *row, struct st_err *err);
/* What must hold before any host is asked: an image a strata host can boot
 * (a kernel_id, a raw or qcow2 disk). EINVAL with the reason. */
int servers_stratad__bootable(const json_t *row, struct st_err *err);

#endif
