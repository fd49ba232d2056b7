/* qcow2 consistency check and repair (what `check` and a dirty open use). */
#ifndef STRATA_BLOCK_QCOW2_CHECK_H
#define STRATA_BLOCK_QCOW2_CHECK_H

#include <stdint.h>
#include <stdio.h>

#include "block/block.h"

enum qcow2_repair { QCOW2_REPAIR_NONE = 0, QCOW2_REPAIR_LEAKS = 1, QCOW2_REPAIR_ALL = 3 };

struct qcow2_check_result {
	uint64_t corruptions, leaks, check_errors;
	uint64_t corruptions_fixed, leaks_fixed;
	uint64_t total_clusters, allocated_clusters, fragmented_clusters, compressed_clusters;
	uint64_t image_end_offset;
};

/* Counts every reference from the metadata and compares with the stored
 * refcounts; with repair, fixes what it may. Messages go to stderr as
 * qemu-img prints them. */
int qcow2_check(struct blk *b, enum qcow2_repair repair, struct qcow2_check_result *r, struct st_err *err);

/* where findings are printed (NULL: stderr) */
extern FILE *qcow2_check_log;

/* References per cluster of the file from the header, the L1/L2 tables
 * (snapshots' too) and the snapshot table; not the refcount structures. */
int qcow2_count_references(struct blk *b, uint64_t **refs, uint64_t *nb, struct st_err *err);
/* New refcount table and blocks (of 2^order bits) after the end of the file,
 * counted from the references alone; the header switches to them in one
 * write. What the old ones occupied becomes free. Call with the lock held. */
int qcow2_rebuild_refcounts(struct blk *b, uint32_t order, struct st_err *err);

/* after a successful repair: the corrupt and dirty bits go */
int qcow2_clear_corrupt(struct blk *b, struct st_err *err);

#endif
