/* stratad's image cache (issue 16, Nova's libvirt image cache): a base
 * image is fetched once per host from an HTTP(S) URL, keyed by its SHA-512,
 * kept read-only in the cache directory (--image-cache, default
 * STATE/images, one file per base named by its hash), and shared by the
 * volumes made on it, each a qcow2 overlay whose backing file is the base.
 *
 * - Two requests for the same hash while it downloads wait for the one
 *   download (a condition variable on host->lock) instead of fetching again.
 * - A base becomes visible only complete, hashed and format-checked
 *   (storage__check_content: Glance's rules); its row in the store's images
 *   table is the index, so the cache survives a restart.
 * - Before a base is used (an overlay made on it, a domain started on it)
 *   it is checked: its size always, and its SHA-512 again when the file is
 *   not the one last hashed (inode, size, mtime, ctime: kept in its row, so
 *   a restart trusts an unchanged file); hashing lets go of host->lock, and
 *   the maintenance thread also hashes unverified bases after a start.
 * - A base whose file is gone, truncated or corrupt is "missing": its file
 *   is removed (event image-corrupt) but its row and URL stay while anything
 *   uses it, and the next use fetches it again (a domain start from the
 *   stored URL, as Nova downloads a missing base on the next boot); it is
 *   never used as it was.
 * - Unused bases (no volume's backing file, no domain's disk) are removed
 *   once unused for --image-cache-max-age seconds, and the least recently
 *   used first while the cache is over --image-cache-max-bytes; a base in
 *   use never. A missing base nothing uses goes at once.
 *
 * All calls but open/start/stop are made with host->lock held; fetching and
 * hashing let go of it. */
#ifndef STRATA_HOST_IMAGE_CACHE_H
#define STRATA_HOST_IMAGE_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/err.h"
#include "host/host.h"

struct image_cache_opts {
	const char *dir;      /* created 0711 if missing */
	uint64_t max_age_s;   /* 0: no age limit */
	uint64_t max_bytes;   /* 0: no size limit */
	uint64_t interval_s;  /* how often the maintenance thread runs */
};

/* Before the API starts: the index from the store, each base's size checked. */
int image_cache__open(struct host *h, const struct image_cache_opts *o, struct st_err *err);
/* After image_cache_gc__stop: frees it all. */
void image_cache__close(struct host *h);

/* {"url", "sha512", "format": raw|qcow2 (default raw)}: the base in the
 * cache, fetched if it is not; *created tells whether this call fetched it.
 * *out: its info. */
int image_cache__fetch(struct host *h, const json_t *in, json_t **out, bool *created, struct st_err *err);
/* POST /v1/pools/P/volumes {"name", "image": {"url", "sha512", "format"},
 * "capacity"?, "format": "qcow2"?}: a qcow2 overlay on the cached base. */
int image_cache__create_volume(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err);
/* Each base: {"sha512", "url", "format", "size", "virtual_size", "path",
 * "created", "last_used", "state" (ready, fetching, verifying, missing),
 * "verified", "hashes" (how often this stratad hashed it to check it),
 * "users"}. */
json_t *image_cache__list(struct host *h);
/* id: the hash or a unique prefix of it (at least 8 hex digits). */
int image_cache__info(struct host *h, const char *id, json_t **out, struct st_err *err);
/* EBUSY while a volume or domain uses it, or while it is fetched/hashed. */
int image_cache__delete(struct host *h, const char *id, struct st_err *err);
/* Hashes the base now; a corrupt one is removed (ENOENT then, with why). */
int image_cache__verify(struct host *h, const char *id, json_t **out, struct st_err *err);
/* A domain start's check of a disk (path, format raw|qcow2): when its
 * backing chain (or the disk itself) is a cached base, the base must be
 * ready, whole and what its hash says (hashed now if the file is not the one
 * last hashed). With unlock, host->lock is let go while the base is hashed
 * or fetched again from its URL (a missing one), and a base another request
 * hashes or fetches is waited for: the caller keeps its domain busy
 * meanwhile. Without, such a base fails (EBUSY), as does a missing one that
 * cannot be fetched again: the error names the image. */
int image_cache__check_disk(struct host *h, const char *path, const char *fmt, bool unlock, struct st_err *err);

/* For image_cache_gc.c, which decides which bases go. */
enum image_state { IMAGE_READY, IMAGE_FETCHING, IMAGE_VERIFYING, IMAGE_MISSING };

struct image {
	struct image *next;
	char sha[129];        /* lowercase hex: the file's name in the cache */
	char *url;
	char fmt[8];          /* raw or qcow2, checked when fetched */
	uint64_t size, virtual_size;
	int64_t created, last_used;
	enum image_state state;
	bool indexed;         /* it has its row in the store */
	bool verified;        /* seen is the file whose hash was checked (by this stratad or, in its row, before) */
	struct stat seen;
	unsigned hashes;      /* checks that hashed it, by this stratad */
};

struct image_cache {
	char *dir;            /* absolute, as overlays name their backing file */
	int dfd;
	struct image *list;
	pthread_cond_t changed; /* a base's state changed or it went (host->lock) */
	uint64_t max_age_s, max_bytes, interval_s;
	pthread_cond_t wake;    /* the maintenance thread's (CLOCK_MONOTONIC) */
	pthread_t thread;
	bool running, stopping;
};

/* 1: im is whole and what its hash says (hashed now when the file is not
 * the one last hashed; host->lock let go meanwhile); 0: it was not, and is
 * missing now (event image-corrupt). */
int image_cache__check(struct host *h, struct image *im);
/* The base's hash when path is a base of the cache, else NULL. */
const char *image_cache__base_of(const struct image_cache *c, const char *path);
/* im was used now (last_used, in the store too). */
void image_cache__touch(struct host *h, struct image *im);
/* Drops im: file, row, entry; event kind with reason. */
void image_cache__remove(struct host *h, struct image *im, const char *event, const char *reason);

#endif
