/* qcow2 consistency check and repair: the public half is in
 * block/qcow2_public.h; these are what the check shares with the rebuild of
 * the refcount structures (rebuild.c) and a dirty open (driver.c). */
#ifndef STRATA_BLOCK_QCOW2_CHECK_H
#define STRATA_BLOCK_QCOW2_CHECK_H

#include <stdint.h>

#include "block/driver.h"
#include "block/qcow2_public.h"

/* References per cluster of the file from the header, the L1/L2 tables
 * (snapshots' too) and the snapshot table; not the refcount structures. */
int qcow2__count_references(struct blk *b, uint64_t **refs, uint64_t *nb, struct st_err *err);
/* New refcount table and blocks (of 2^order bits) after the end of the file,
 * counted from the references alone; the header switches to them in one
 * write. What the old ones occupied becomes free. Call with the lock held. */
int qcow2__rebuild_refcounts(struct blk *b, uint32_t order, struct st_err *err);

#endif
