/* Write-back cache of cluster-sized metadata tables (L2 tables, refcount
 * blocks), kept in their on-disk (big-endian) form. A cache may depend on
 * another: the other is flushed before any of ours is written, which is how
 * refcount increments reach the file before the L2 entries that need them. */
#ifndef STRATA_BLOCK_QCOW2_CACHE_H
#define STRATA_BLOCK_QCOW2_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/driver.h"
#include "common/err.h"

struct qcow2_cache_entry {
	uint64_t offset;   /* 0: free slot */
	uint8_t *data;
	uint64_t lru;
	bool dirty;
};

struct qcow2_cache {
	struct qcow2_cache_entry *e;
	unsigned n;
	size_t table_size;
	uint64_t tick;
	unsigned last;            /* last hit: most lookups repeat */
	struct blk *b;             /* whose file the tables are in */
	struct qcow2_cache *depends_on;
	uint64_t hits, misses;
};

int qcow2__cache_init(struct qcow2_cache *c, unsigned n, size_t table_size, struct blk *b, struct st_err *err);
void qcow2__cache_destroy(struct qcow2_cache *c);
/* The returned pointer stays valid until the next get on the same cache. */
int qcow2__cache_get(struct qcow2_cache *c, uint64_t offset, void **data, struct st_err *err);
/* Same, for a table not yet on disk: no read, contents zeroed. */
int qcow2__cache_get_empty(struct qcow2_cache *c, uint64_t offset, void **data, struct st_err *err);
void qcow2__cache_mark_dirty(struct qcow2_cache *c, const void *data);
int qcow2__cache_flush(struct qcow2_cache *c, struct st_err *err);
/* Forget a table whose cluster was freed (its contents no longer matter). */
void qcow2__cache_forget(struct qcow2_cache *c, uint64_t offset);
bool qcow2__cache_is_dirty(const struct qcow2_cache *c);

#endif
