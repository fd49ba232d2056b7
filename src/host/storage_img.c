/* qcow2 volumes through the block layer (src/block, the library strata-img
 * and strata-vm's virtio-blk use). */
#include "host/storage_img.h"
#include "block/block.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define COPY_CHUNK (1u << 20)

static void blk_closep(struct blk **b)
{
	if (*b)
		block__close(*b, NULL);
}
#define cleanup_blk __attribute__((cleanup(blk_closep)))

int storage_img__create_qcow2(const char *path, uint64_t size, const char *backing, const char *backing_fmt,
		      struct st_err *err)
{
	struct blk_create_opts o = {.format = "qcow2", .size = size, .backing = backing, .backing_fmt = backing_fmt};
	return block__create(path, &o, err);
}

/* Closes b and reports the close's error: a qcow2 image is only marked
 * clean (and its metadata flushed) there. */
static int close_checked(struct blk **b, struct st_err *err)
{
	struct blk *t = *b;
	*b = NULL;
	return block__close(t, err);
}

int storage_img__resize_qcow2(const char *path, uint64_t size, struct st_err *err)
{
	struct blk_open_opts o = {.format = "qcow2", .writable = true, .no_backing = true};
	cleanup_blk struct blk *b = NULL;
	if (block__open(path, &o, &b, err) < 0 || block__truncate(b, size, false, err) < 0)
		return -1;
	return close_checked(&b, err);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

int storage_img__convert_to_qcow2(const char *src, const char *src_fmt, const char *dst, struct st_err *err)
{
	struct blk_open_opts so = {.format = src_fmt};
	cleanup_blk struct blk *in = NULL, *out = NULL;
	if (block__open(src, &so, &in, err) < 0)
		return -1;
	if (storage_img__create_qcow2(dst, in->size, NULL, NULL, err) < 0)
		return -1;
	struct blk_open_opts dopts = {.format = "qcow2", .writable = true};
	if (block__open(dst, &dopts, &out, err) < 0)
		return -1;
	cleanup_free uint8_t *buf = malloc(COPY_CHUNK);
	if (!buf)
		return err__fail(err, ENOMEM, "copy buffer");
	/* ranges that read as zeros through the whole chain stay unallocated */
	for (uint64_t off = 0; off < in->size;) {
		struct block__status st;
		uint64_t len = ST_MIN((uint64_t)COPY_CHUNK, in->size - off);
		if (block__status(in, off, len, &st, err) < 0)
			return -1;
		len = ST_MIN(len, st.len ? st.len : len);
		if (st.kind != BLK_ZERO) {
			if (block__pread(in, buf, len, off, err) < 0)
				return -1;
			if (!all_zero(buf, len) && block__pwrite(out, buf, len, off, err) < 0)
				return -1;
		}
		off += len;
	}
	return close_checked(&out, err);
}

int storage_img__info(const char *path, const char *fmt, json_t **out, struct st_err *err)
{
	struct blk_open_opts o = {.format = fmt, .no_backing = true};
	cleanup_blk struct blk *b = NULL;
	if (block__open(path, &o, &b, err) < 0)
		return -1;
	*out = json_pack("{s:I}", "virtual-size", (json_int_t)b->size);
	const char *name, *bfmt;
	if (block__backing_file(b, &name, &bfmt)) {
		json_object_set_new(*out, "backing-filename", json_string(name));
		if (bfmt)
			json_object_set_new(*out, "backing-format", json_string(bfmt));
	}
	return 0;
}
