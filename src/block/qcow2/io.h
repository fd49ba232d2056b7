/* qcow2 guest I/O entry points (io.c), called by the driver under the image's lock. */
#ifndef STRATA_BLOCK_QCOW2_IO_H
#define STRATA_BLOCK_QCOW2_IO_H

#include "block/driver.h"

int qcow2__read(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
int qcow2__write(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err);
int qcow2__write_zeroes(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
int qcow2__discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
int qcow2__write_compressed(struct blk *b, const void *buf, uint64_t off, struct st_err *err);
int qcow2__compress_cluster(struct blk *b, const void *in, void *out, size_t *out_len);
int qcow2__write_precompressed(struct blk *b, const void *cdata, size_t clen, uint64_t off, struct st_err *err);
int qcow2__status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, struct st_err *err);
/* waits (under the image lock) for the data I/O running without it */
void qcow2__drain(struct blk *b);
/* replaces the L2 entry of a guest cluster, releasing what it pointed to */
int qcow2__set_entry(struct blk *b, uint64_t off, uint64_t entry, struct st_err *err);

#endif
