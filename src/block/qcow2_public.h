/* qcow2-only operations for the block layer's users (strata-img's info,
 * amend and check; tests): what an image's header says, changing it, and the
 * consistency check with repair. Each refuses or fails on a non-qcow2 image. */
#ifndef STRATA_BLOCK_QCOW2_PUBLIC_H
#define STRATA_BLOCK_QCOW2_PUBLIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "block/block.h"
#include "common/err.h"

/* qcow2 details for info and amend */
struct qcow2_info {
	int version;
	uint64_t cluster_size;
	int refcount_bits;
	bool lazy_refcounts, corrupt, dirty;
	const char *compression;
	const char *backing_fmt;
	unsigned nb_snapshots;
};
int qcow2__get_info(struct blk *b, struct qcow2_info *info);

/* amend: compat (2|3), lazy refcounts (0|1, -1 keep); other options are refused by the caller. */
int qcow2__amend(struct blk *b, int compat, int lazy, struct st_err *err);
/* amend refcount_bits: the refcount structures rebuilt with 1..64-bit entries */
int qcow2__amend_refcount_bits(struct blk *b, unsigned bits, struct st_err *err);

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
int qcow2__check(struct blk *b, enum qcow2_repair repair, struct qcow2_check_result *r, struct st_err *err);

/* where findings are printed (NULL: stderr) */
extern FILE *qcow2_check_log;

/* after a successful repair: the corrupt and dirty bits go */
int qcow2__clear_corrupt(struct blk *b, struct st_err *err);

#endif
