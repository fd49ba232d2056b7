/* raw: the guest view is the file itself. Holes report as zeros so convert
 * and map skip them. */
#include "block/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

static int raw_open(struct blk *b, const struct blk_open_opts *o, struct st_err *err)
{
	(void)o;
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return err__fail_errno(err, "stat");
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(b->fd, 0, SEEK_END);
		if (end < 0)
			return err__fail_errno(err, "size of block device");
		b->size = (uint64_t)end;
	} else {
		b->size = (uint64_t)st.st_size;
	}
	b->opaque = b; /* no private state */
	return 0;
}

static void raw_close(struct blk *b)
{
	b->opaque = NULL;
}

static int raw_pread(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	return block__file_pread(b, buf, len, off, err);
}

static int raw_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	return block__file_pwrite(b, buf, len, off, err);
}

static int raw_zero(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE, (off_t)off, (off_t)len) == 0)
		return 0;
	static const char zeros[65536];
	while (len) {
		uint64_t n = ST_MIN(len, sizeof(zeros));
		if (block__file_pwrite(b, zeros, n, off, err) < 0)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

static int raw_discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	(void)err;
	/* advisory: a filesystem without hole punching simply keeps the data */
	fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	return 0;
}

static int raw_flush(struct blk *b, struct st_err *err)
{
	if (!b->no_sync && fdatasync(b->fd) < 0 && errno != EINVAL)
		return err__fail_errno(err, "fdatasync");
	return 0;
}

static int raw_status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, struct st_err *err)
{
	(void)err;
	memset(st, 0, sizeof(*st));
	st->kind = BLK_DATA;
	st->len = len;
	st->host_offset = off;
	st->has_offset = true;
	st->present = true;
	off_t data = lseek(b->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) { /* only a hole up to the end */
			st->kind = BLK_ZERO;
			st->has_offset = false;
		}
		return 0;
	}
	if ((uint64_t)data > off) {
		st->kind = BLK_ZERO;
		st->has_offset = false;
		st->len = ST_MIN(len, (uint64_t)data - off);
		return 0;
	}
	off_t hole = lseek(b->fd, (off_t)off, SEEK_HOLE);
	if (hole > (off_t)off)
		st->len = ST_MIN(len, (uint64_t)hole - off);
	return 0;
}

static int raw_truncate(struct blk *b, uint64_t size, bool shrink, struct st_err *err)
{
	(void)shrink;
	if (ftruncate(b->fd, (off_t)size) < 0)
		return err__fail_errno(err, "resize to %llu bytes", (unsigned long long)size);
	b->size = size;
	return 0;
}

const struct blk_driver blk_raw_driver = {
	.name = "raw",
	.open = raw_open,
	.close = raw_close,
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.pwrite_zeroes = raw_zero,
	.discard = raw_discard,
	.flush = raw_flush,
	.status = raw_status,
	.truncate = raw_truncate,
};
