/* A volume made from an HTTP(S) URL with an expected sha512 (issue 16's
 * hosts part): POST /v1/pools/P/volumes {"name", "source": {"url",
 * "sha512"}, "format"}. The body is streamed into the pool's hidden upload
 * file (storage.h), hashed on the way, and renamed into place only when the
 * hash matches; progress goes out as "volume-progress" events with
 * bytes_done and bytes_total. The download and the hashing are also the
 * image cache's (image_cache.h). */
#ifndef STRATA_HOST_STORAGE_FETCH_H
#define STRATA_HOST_STORAGE_FETCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "host/host.h"

#define STORAGE_FETCH_SHA512_HEX 128

/* Once, before any thread: libcurl's global state. */
int storage_fetch__init(struct st_err *err);
/* Called with h->lock held; lets go of it for the download (d and pool
 * pointers of the caller must not be used across it). *out: the volume's info. */
int storage_fetch__create(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err);

/* Who the progress events of a download are about: event kind (e.g.
 * "volume-progress"), object, name, reason as events__emit takes them. */
struct storage_fetch_progress {
	const char *event, *object, *name, *reason;
};
/* The body of url (http or https only) appended to fd, hashed on the way:
 * got is its SHA-512 in lowercase hex, *bytes its length; token (if not
 * NULL) goes as X-Auth-Token (an image service's). No lock needed.
 * Errors: EINVAL a refused URL, EREMOTEIO the server failed, else the
 * write's errno. */
int storage_fetch__download(const char *url, const char *token, int fd, const struct storage_fetch_progress *pr,
			    char got[STORAGE_FETCH_SHA512_HEX + 1], uint64_t *bytes, struct st_err *err);
/* The SHA-512 of what fd holds (read from offset 0), in lowercase hex. */
int storage_fetch__hash_fd(int fd, char got[STORAGE_FETCH_SHA512_HEX + 1], uint64_t *bytes, struct st_err *err);
/* 128 hex digits */
bool storage_fetch__sha512_ok(const char *hex);
/* url as errors show it: without its query, which may be a credential (a
 * signed URL's signature). */
void storage_fetch__url_shown(const char *url, char *out, size_t len);

#endif
