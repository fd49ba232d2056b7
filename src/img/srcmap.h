/* convert's read-only mappings of its source files, safe against a source
 * truncated by another process while it is being read. */
#ifndef STRATA_IMG_SRCMAP_H
#define STRATA_IMG_SRCMAP_H

#include <stdint.h>

#include "block/block.h"

struct src_map {
	const uint8_t *addr; /* NULL when not mapped (read with pread) */
	uint64_t len;        /* the file's size when it was opened */
	int fd;              /* the layer's own descriptor (not ours to close) */
	int dfd;             /* the same file with O_DIRECT, -1 if refused */
	uint32_t dio_align;  /* what dfd's reads need: buffer, offset and length */
	const char *path;
	int slot;            /* in the SIGBUS registry, -1 when not mapped */
};

/* Maps layer l's file when it is a regular file read without O_DIRECT. */
void srcmap__open(struct src_map *m, struct blk *l);
void srcmap__close(struct src_map *m);
/* Fails when the file shrank below its size at open, or when a page of the
 * mapping vanished under a read (whose bytes then read as zeros). */
int srcmap__check(const struct src_map *m, struct st_err *err);

#endif
