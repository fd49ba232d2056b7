/* The block layer (src/block: qcow2, raw with backing chains...) behind the
 * disk interface virtio-blk uses; asynchronous requests run on the block
 * layer's thread pool (block/aio.h), one pool request per buffer. */
#include "block/aio.h"
#include "block/block.h"
#include "common/log.h"
#include "vm/sandbox.h"
#include "vm/virtio/disk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct blk *blk_of(struct disk *dk) { return dk->opaque; }

static int fail(struct disk *dk, const char *what, const struct st_err *err)
{
	log__debug("disk %s: %s: %s", blk_of(dk)->path, what, err->msg);
	errno = err->errnum ? err->errnum : EIO;
	return -1;
}

static int blkd__rw(struct disk *dk, const struct iovec *iov, int n, uint64_t off, bool write)
{
	struct st_err err = {0};
	for (int i = 0; i < n; i++) {
		int r = write ? block__pwrite(blk_of(dk), iov[i].iov_base, iov[i].iov_len, off, &err)
			      : block__pread(blk_of(dk), iov[i].iov_base, iov[i].iov_len, off, &err);
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
	return block__flush(blk_of(dk), &err) < 0 ? fail(dk, "flush", &err) : 0;
}

static int blkd__discard(struct disk *dk, uint64_t off, uint64_t len)
{
	struct st_err err = {0};
	return block__discard(blk_of(dk), len, off, &err) < 0 ? fail(dk, "discard", &err) : 0;
}

static int blkd__write_zeroes(struct disk *dk, uint64_t off, uint64_t len, bool may_unmap)
{
	(void)may_unmap; /* the block layer picks zero clusters or unmapping itself */
	struct st_err err = {0};
	return block__pwrite_zeroes(blk_of(dk), len, off, &err) < 0 ? fail(dk, "write-zeroes", &err) : 0;
}

#define BLKD_POOL_THREADS 4

/* One request of the pool per buffer of a disk request. */
struct blkd_parts {
	struct disk *dk;
	struct disk_io *io;
	struct blk_aio_req req[];
};

static void blkd__part_done(struct blk_aio_req *req, int ret, const struct st_err *err)
{
	struct blkd_parts *p = req->opaque;
	struct disk_io *io = p->io;
	if (ret < 0) {
		log__debug("disk %s: %s", blk_of(p->dk)->path, err->msg);
		int e = -(err->errnum ? err->errnum : EIO);
		__atomic_store_n(&io->result, e, __ATOMIC_RELAXED);
	}
	if (__atomic_sub_fetch(&io->parts, 1, __ATOMIC_ACQ_REL) == 0) {
		struct disk *dk = p->dk;
		int result = __atomic_load_n(&io->result, __ATOMIC_RELAXED);
		free(p);
		io->parts_mem = NULL;
		disk__complete(dk, io, result, true);
	}
}

static void blkd__submit(struct disk *dk, struct disk_io *io)
{
	static const enum blk_aio_op ops[] = {
		[DISK_READ] = BLK_AIO_READ, [DISK_WRITE] = BLK_AIO_WRITE, [DISK_FLUSH] = BLK_AIO_FLUSH,
		[DISK_DISCARD] = BLK_AIO_DISCARD, [DISK_WRITE_ZEROES] = BLK_AIO_ZEROES,
	};
	bool data = io->op == DISK_READ || io->op == DISK_WRITE;
	unsigned n = data ? (unsigned)io->niov : 1;
	struct blkd_parts *p = n ? calloc(1, sizeof(*p) + n * sizeof(p->req[0])) : NULL;
	if (!p) {
		disk__complete(dk, io, n ? -ENOMEM : 0, false);
		return;
	}
	p->dk = dk;
	p->io = io;
	io->result = 0;
	io->parts = n;
	io->parts_mem = p;
	uint64_t off = io->off;
	for (unsigned i = 0; i < n; i++) {
		p->req[i] = (struct blk_aio_req){.op = ops[io->op], .b = blk_of(dk), .off = off,
						 .len = data ? io->iov[i].iov_len : io->len,
						 .buf = data ? io->iov[i].iov_base : NULL,
						 .done = blkd__part_done, .opaque = p};
		off += p->req[i].len;
	}
	for (unsigned i = 0; i < n; i++) /* p lives until the last part, queued last, is done */
		block__aio_submit(dk->pool, &p->req[i]);
}

static void blkd__close(struct disk *dk)
{
	if (dk->pool)
		block__aio_pool_free(dk->pool);
	struct st_err err = {0};
	if (block__close(blk_of(dk), &err) < 0)
		log__warn("closing a disk: %s", err.msg);
	free(dk);
}

static const struct disk_ops blk_ops = {
	.readv = blkd__readv, .writev = blkd__writev, .flush = blkd__flush,
	.discard = blkd__discard, .write_zeroes = blkd__write_zeroes, .close = blkd__close,
	.submit = blkd__submit,
};

int disk__open(const char *path, const char *format, bool read_only, struct disk **out,
	       struct st_err *err)
{
	const char *fmt = format;
	if (!fmt && block__probe_file(path, &fmt, err) < 0)
		return err__prefix(err, "disk image %s", path);
	if (!strcmp(fmt, "raw") && !sandbox__applied())
		return disk__open_raw(path, read_only, out, err);
	/* raw under the seccomp filter (a disk attached at run time) goes through
	 * the block layer's thread pool: no io_uring can be set up any more */
	struct blk_open_opts o = {.format = fmt, .writable = !read_only};
	struct blk *b;
	if (block__open(path, &o, &b, err) < 0)
		return err__prefix(err, "disk image %s", path);
	struct disk *dk = calloc(1, sizeof(*dk));
	if (!dk) {
		block__close(b, err);
		return err__fail(err, ENOMEM, "disk");
	}
	*dk = (struct disk){.ops = &blk_ops, .size = b->size, .read_only = read_only, .fd = -1,
			    .opaque = b};
	if (disk__init_async(dk, err) < 0 ||
	    block__aio_pool_new(BLKD_POOL_THREADS, (struct blk_aio_pool **)&dk->pool, err) < 0) {
		blkd__close(dk);
		return err__prefix(err, "disk image %s", path);
	}
	*out = dk;
	return 0;
}
