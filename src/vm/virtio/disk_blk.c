/* The block layer (src/block: qcow2, raw with backing chains...) behind the
 * disk interface virtio-blk uses. */
#include "block/block.h"
#include "common/log.h"
#include "vm/virtio/disk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct blk *blk_of(struct disk *dk) { return dk->opaque; }

static int fail(struct disk *dk, const char *what, const struct st_err *err)
{
	st_debug("disk %s: %s: %s", blk_of(dk)->path, what, err->msg);
	errno = err->errnum ? err->errnum : EIO;
	return -1;
}

static int blkd__rw(struct disk *dk, const struct iovec *iov, int n, uint64_t off, bool write)
{
	struct st_err err = {0};
	for (int i = 0; i < n; i++) {
		int r = write ? blk_pwrite(blk_of(dk), iov[i].iov_base, iov[i].iov_len, off, &err)
			      : blk_pread(blk_of(dk), iov[i].iov_base, iov[i].iov_len, off, &err);
		if (r < 0)
			return fail(dk, write ? "write" : "read", &err);
		off += iov[i].iov_len;
	}
	return 0;
}

static int blkd__readv(struct disk *dk, const struct iovec *iov, int n, uint64_t off)
{
	return blkd__rw(dk, iov, n, off, false);
}

static int blkd__writev(struct disk *dk, const struct iovec *iov, int n, uint64_t off)
{
	return blkd__rw(dk, iov, n, off, true);
}

static int blkd__flush(struct disk *dk)
{
	struct st_err err = {0};
	return blk_flush(blk_of(dk), &err) < 0 ? fail(dk, "flush", &err) : 0;
}

static int blkd__discard(struct disk *dk, uint64_t off, uint64_t len)
{
	struct st_err err = {0};
	return blk_discard(blk_of(dk), len, off, &err) < 0 ? fail(dk, "discard", &err) : 0;
}

static int blkd__write_zeroes(struct disk *dk, uint64_t off, uint64_t len, bool may_unmap)
{
	(void)may_unmap; /* the block layer picks zero clusters or unmapping itself */
	struct st_err err = {0};
	return blk_pwrite_zeroes(blk_of(dk), len, off, &err) < 0 ? fail(dk, "write-zeroes", &err) : 0;
}

static void blkd__close(struct disk *dk)
{
	struct st_err err = {0};
	if (blk_close(blk_of(dk), &err) < 0)
		st_warn("closing a disk: %s", err.msg);
	free(dk);
}

static const struct disk_ops blk_ops = {
	.readv = blkd__readv, .writev = blkd__writev, .flush = blkd__flush,
	.discard = blkd__discard, .write_zeroes = blkd__write_zeroes, .close = blkd__close,
};

int disk__open(const char *path, const char *format, bool read_only, struct disk **out,
	       struct st_err *err)
{
	const char *fmt = format;
	if (!fmt && blk_probe_file(path, &fmt, err) < 0)
		return st_err_prefix(err, "disk image %s", path);
	if (!strcmp(fmt, "raw"))
		return disk__open_raw(path, read_only, out, err);
	struct blk_open_opts o = {.format = fmt, .writable = !read_only};
	struct blk *b;
	if (blk_open(path, &o, &b, err) < 0)
		return st_err_prefix(err, "disk image %s", path);
	struct disk *dk = calloc(1, sizeof(*dk));
	if (!dk) {
		blk_close(b, err);
		return st_fail(err, ENOMEM, "disk");
	}
	*dk = (struct disk){.ops = &blk_ops, .size = b->size, .read_only = read_only, .fd = -1,
			    .opaque = b};
	*out = dk;
	return 0;
}
