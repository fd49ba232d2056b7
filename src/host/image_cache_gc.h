/* Which image cache bases go (image_cache.h): the ones no volume's backing
 * file and no domain's disk names, once unused for max_age_s, and the least
 * recently used first while the cache holds more than max_bytes. A base in
 * use is never removed, and neither is one being fetched or hashed. A pass
 * runs every interval_s in the maintenance thread (which also hashes the
 * bases this stratad has not hashed yet, so a base corrupted while stratad
 * was away is found without waiting for its next use), after each fetch
 * when there is a size limit, and on request (POST /v1/images/prune).
 * Called with host->lock held but start/stop. */
#ifndef STRATA_HOST_IMAGE_CACHE_GC_H
#define STRATA_HOST_IMAGE_CACHE_GC_H

#include <jansson.h>

#include "common/err.h"
#include "host/host.h"

/* {sha512: ["pool/volume" | "domain NAME", ...]} of the bases in use. Fails
 * when a dir pool cannot be listed: then nobody can tell. */
int image_cache_gc__users(struct host *h, json_t **out, struct st_err *err);
/* One pass now: *out is {"removed": [{"sha512", "reason"}]}. */
int image_cache_gc__prune(struct host *h, json_t **out, struct st_err *err);
/* Base im was fetched for a request: a pass if the cache has a size limit,
 * in which im itself stays. */
struct image;
void image_cache_gc__after_fetch(struct host *h, const struct image *im);
int image_cache_gc__start(struct host *h, struct st_err *err);
void image_cache_gc__stop(struct host *h);

#endif
