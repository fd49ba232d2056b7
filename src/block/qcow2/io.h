/* qcow2 guest I/O entry points (io.c), called by the driver under the image's lock. */
#ifndef STRATA_BLOCK_QCOW2_IO_H
#define STRATA_BLOCK_QCOW2_IO_H

#include "block/driver.h"

int qcow2_read(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
int qcow2_write(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err);
int qcow2_write_zeroes(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
int qcow2_discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
int qcow2_write_compressed(struct blk *b, const void *buf, uint64_t off, struct st_err *err);
int qcow2_compress_cluster(struct blk *b, const void *in, void *out, size_t *out_len);
int qcow2_write_precompressed(struct blk *b, const void *cdata, size_t clen, uint64_t off, struct st_err *err);
int qcow2_status(struct blk *b, uint64_t off, uint64_t len, struct blk_status *st, struct st_err *err);
/* waits (under the image lock) for the data I/O running without it */
void qcow2_drain(struct blk *b);
/* replaces the L2 entry of a guest cluster, releasing what it pointed to */
int qcow2_set_entry(struct blk *b, uint64_t off, uint64_t entry, struct st_err *err);

#endif
