/* What the block layer's drivers (raw.c, qcow2/) and block.c share: the
 * driver table and the drivers' file I/O. Internal to src/block: strata-img,
 * stratad and strata-vm use block/block.h and block/qcow2_public.h. */
#ifndef STRATA_BLOCK_DRIVER_H
#define STRATA_BLOCK_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "common/err.h"

struct blk_driver {
	const char *name;
	/* non-zero when the first bytes of a file are this format */
	int (*probe)(const uint8_t *buf, size_t len);
	int (*open)(struct blk *b, const struct blk_open_opts *o, struct st_err *err);
	void (*close)(struct blk *b);
	int (*pread)(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
	int (*pwrite)(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err);
	int (*pwrite_zeroes)(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
	int (*pwrite_compressed)(struct blk *b, const void *buf, uint64_t off, struct st_err *err);
	int (*compress_cluster)(struct blk *b, const void *in, void *out, size_t *out_len);
	int (*pwrite_precompressed)(struct blk *b, const void *cdata, size_t clen, uint64_t off,
				    struct st_err *err);
	int (*discard)(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
	int (*flush)(struct blk *b, struct st_err *err);
	int (*status)(struct blk *b, uint64_t off, uint64_t len, struct block__status *st,
		      struct st_err *err);
	int (*truncate)(struct blk *b, uint64_t size, bool shrink, struct st_err *err);
	/* true with the backing file's name (and format, or NULL) when there is one */
	bool (*backing)(struct blk *b, const char **name, const char **fmt);
	/* cluster size for qcow2, 0 for raw */
	uint64_t (*cluster_size)(struct blk *b);
};

extern const struct blk_driver blk_raw_driver;
extern const struct blk_driver blk_qcow2_driver;

const struct blk_driver *block__find_driver(const char *name);

/* The drivers' file I/O (file.c): with O_DIRECT, unaligned requests bounce
 * (alignment as block__fd_dio_align finds it, kept in b). */
void block__file_dio_align(struct blk *b);
int block__file_pread(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
/* at most len bytes, fewer at the end of the file: returns how many */
int64_t block__file_pread_upto(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
int block__file_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err);

/* block__create's qcow2 half (qcow2/create.c). */
int qcow2__create(const char *path, const struct blk_create_opts *o, struct st_err *err);

#endif
