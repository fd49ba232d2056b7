/* Image operations the storage pools need, on the block layer (src/block).
 * Raw files never go through here: storage.c does them directly. */
#ifndef STRATA_HOST_STORAGE_IMG_H
#define STRATA_HOST_STORAGE_IMG_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"

/* backing (optional) makes an overlay on it, with backing_fmt. */
int storage_img__create_qcow2(const char *path, uint64_t size, const char *backing, const char *backing_fmt,
		      struct st_err *err);
int storage_img__resize_qcow2(const char *path, uint64_t size, struct st_err *err);
/* Full copy of any image into a new qcow2 file. */
int storage_img__convert_to_qcow2(const char *src, const char *src_fmt, const char *dst, struct st_err *err);
/* Virtual size and backing file (new ref: {"virtual-size", "backing-filename", "backing-format"...}). */
int storage_img__info(const char *path, const char *fmt, json_t **out, struct st_err *err);

#endif
