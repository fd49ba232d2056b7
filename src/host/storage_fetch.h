/* A volume made from an HTTP(S) URL with an expected sha512 (issue 16's
 * hosts part): POST /v1/pools/P/volumes {"name", "source": {"url",
 * "sha512"}, "format"}. The body is streamed into the pool's hidden upload
 * file (storage.h), hashed on the way, and renamed into place only when the
 * hash matches; progress goes out as "volume-progress" events with
 * bytes_done and bytes_total. */
#ifndef STRATA_HOST_STORAGE_FETCH_H
#define STRATA_HOST_STORAGE_FETCH_H

#include <jansson.h>

#include "common/err.h"
#include "host/host.h"

/* Once, before any thread: libcurl's global state. */
int storage_fetch__init(struct st_err *err);
/* Called with h->lock held; lets go of it for the download (d and pool
 * pointers of the caller must not be used across it). *out: the volume's info. */
int storage_fetch__create(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err);

#endif
