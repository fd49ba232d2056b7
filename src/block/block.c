#include "block/block.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/driver.h"
#include "common/cleanup.h"
#include "common/util.h"

static const struct blk_driver *const drivers[] = {&blk_qcow2_driver, &blk_raw_driver};

const struct blk_driver *block__find_driver(const char *name)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(drivers); i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

int block__probe_file(const char *path, const char **fmt, struct st_err *err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "cannot open '%s'", path);
	return block__probe_fd(fd, fmt, err) < 0 ? err__prefix(err, "'%s'", path) : 0;
}

int block__probe_fd(int fd, const char **fmt, struct st_err *err)
{
	uint8_t buf[512] = {0};
	ssize_t n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return err__fail_errno(err, "cannot read the image header");
	for (size_t i = 0; i < ST_ARRAY_SIZE(drivers); i++)
		if (drivers[i]->probe && drivers[i]->probe(buf, (size_t)n)) {
			*fmt = drivers[i]->name;
			return 0;
		}
	*fmt = "raw";
	return 0;
}

const char *block__format(const struct blk *b)
{
	return b->drv->name;
}

bool block__backing_file(struct blk *b, const char **name, const char **fmt)
{
	return b->drv->backing && b->drv->backing(b, name, fmt);
}

char *block__backing_path(const char *image_dir, const char *name)
{
	char *p = NULL;
	if (name[0] == '/' || !image_dir)
		return strdup(name);
	if (asprintf(&p, "%s/%s", image_dir, name) < 0)
		return NULL;
	return p;
}

static void blk_free_one(struct blk *b)
{
	if (b->drv && b->opaque)
		b->drv->close(b);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->lock);
	pthread_mutex_destroy(&b->bounce_lock);
	free(b->path);
	free(b->dir);
	free(b);
}

/* Identity of each file in the chain, to refuse loops. */
struct chain_ids {
	dev_t dev[BLK_MAX_CHAIN + 1];
	ino_t ino[BLK_MAX_CHAIN + 1];
	unsigned n;
};

static int blk_open_chain(const char *path, const struct blk_open_opts *o, unsigned depth,
			  struct chain_ids *ids, struct blk **out, struct st_err *err);

int block__open(const char *path, const struct blk_open_opts *o, struct blk **out, struct st_err *err)
{
	struct chain_ids ids = {.n = 0};
	struct blk_open_opts def = {0};
	return blk_open_chain(path, o ? o : &def, 0, &ids, out, err);
}

static int blk_open_chain(const char *path, const struct blk_open_opts *o, unsigned depth,
			  struct chain_ids *ids, struct blk **out, struct st_err *err)
{
	if (depth > BLK_MAX_CHAIN)
		return err__fail(err, 0, "backing chain deeper than %d images", BLK_MAX_CHAIN);
	int flags = (o->writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);
	int fd = open(path, flags);
	if (fd < 0)
		return err__fail_errno(err, "cannot open '%s'", path);
	struct blk *b = calloc(1, sizeof(*b));
	if (!b) {
		close(fd);
		return err__fail(err, ENOMEM, "opening '%s'", path);
	}
	b->fd = fd;
	b->depth = depth;
	b->writable = o->writable;
	b->no_sync = o->no_sync;
	b->direct = o->direct;
	if (b->direct)
		block__file_dio_align(b);
	pthread_mutex_init(&b->lock, NULL);
	pthread_mutex_init(&b->bounce_lock, NULL);
	b->path = strdup(path);
	cleanup_free char *copy = strdup(path);
	b->dir = copy ? strdup(dirname(copy)) : NULL;
	if (!b->path || !b->dir) {
		blk_free_one(b);
		return err__fail(err, ENOMEM, "opening '%s'", path);
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		blk_free_one(b);
		return err__fail_errno(err, "cannot stat '%s'", path);
	}
	for (unsigned i = 0; i < ids->n; i++)
		if (ids->dev[i] == st.st_dev && ids->ino[i] == st.st_ino) {
			blk_free_one(b);
			return err__fail(err, 0, "backing chain loops back to '%s'", path);
		}
	ids->dev[ids->n] = st.st_dev;
	ids->ino[ids->n++] = st.st_ino;

	const char *fmt = o->format;
	if (!fmt && block__probe_file(path, &fmt, err) < 0) {
		blk_free_one(b);
		return -1;
	}
	b->drv = block__find_driver(fmt);
	if (!b->drv) {
		blk_free_one(b);
		return err__fail(err, 0, "unknown image format '%s'", fmt);
	}
	if (b->drv->open(b, o, err) < 0) {
		b->drv = NULL;
		blk_free_one(b);
		return err__prefix(err, "%s", path);
	}
	const char *bname = NULL, *bfmt = NULL;
	if (!o->no_backing && b->drv->backing && b->drv->backing(b, &bname, &bfmt) && bname) {
		cleanup_free char *bpath = block__backing_path(b->dir, bname);
		/* The chain below the top is read-only: commit reopens what it writes. */
		struct blk_open_opts bo = *o;
		bo.format = bfmt;
		bo.writable = false;
		if (!bpath || blk_open_chain(bpath, &bo, depth + 1, ids, &b->backing, err) < 0) {
			block__close(b, NULL);
			return err__prefix(err, "backing file of %s", path);
		}
	}
	*out = b;
	return 0;
}

int block__close(struct blk *b, struct st_err *err)
{
	int ret = 0;
	while (b) {
		struct blk *next = b->backing;
		if (b->writable && b->drv) {
			pthread_mutex_lock(&b->lock);
			if (b->drv->flush(b, err) < 0)
				ret = -1;
			pthread_mutex_unlock(&b->lock);
		}
		blk_free_one(b);
		b = next;
	}
	return ret;
}

#define LOCKED(b, call)                            \
	do {                                       \
		pthread_mutex_lock(&(b)->lock);    \
		int r_ = (call);                   \
		pthread_mutex_unlock(&(b)->lock);  \
		return r_;                         \
	} while (0)

static int check_range(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	if (off > b->size || len > b->size - off)
		return err__fail(err, EINVAL, "access beyond the end of '%s' (%llu+%llu > %llu)", b->path,
			       (unsigned long long)off, (unsigned long long)len, (unsigned long long)b->size);
	return 0;
}

static int check_write(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	if (!b->writable)
		return err__fail(err, EROFS, "'%s' is open read-only", b->path);
	return check_range(b, len, off, err);
}

int block__pread(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	if (check_range(b, len, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->pread(b, buf, len, off, err));
}

int block__pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	if (check_write(b, len, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->pwrite(b, buf, len, off, err));
}

int block__pwrite_zeroes(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	if (check_write(b, len, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->pwrite_zeroes(b, len, off, err));
}

int block__pwrite_compressed(struct blk *b, const void *buf, uint64_t off, struct st_err *err)
{
	if (!b->drv->pwrite_compressed)
		return err__fail(err, ENOTSUP, "format %s has no compressed clusters", b->drv->name);
	if (check_write(b, 0, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->pwrite_compressed(b, buf, off, err));
}

int block__compress_cluster(struct blk *b, const void *in, void *out, size_t *out_len)
{
	return b->drv->compress_cluster ? b->drv->compress_cluster(b, in, out, out_len) : -1;
}

int block__pwrite_precompressed(struct blk *b, const void *cdata, size_t clen, uint64_t off, struct st_err *err)
{
	if (!b->drv->pwrite_precompressed)
		return err__fail(err, ENOTSUP, "format %s has no compressed clusters", b->drv->name);
	if (check_write(b, 0, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->pwrite_precompressed(b, cdata, clen, off, err));
}

int block__discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	if (check_write(b, len, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->discard(b, len, off, err));
}

int block__flush(struct blk *b, struct st_err *err)
{
	if (!b->writable)
		return 0;
	LOCKED(b, b->drv->flush(b, err));
}

int block__status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, struct st_err *err)
{
	if (check_range(b, len, off, err) < 0)
		return -1;
	LOCKED(b, b->drv->status(b, off, len, st, err));
}

int block__truncate(struct blk *b, uint64_t size, bool shrink, struct st_err *err)
{
	if (!b->writable)
		return err__fail(err, EROFS, "'%s' is open read-only", b->path);
	if (size < b->size && !shrink)
		return err__fail(err, EINVAL, "shrinking '%s' needs --shrink (data past the new end is lost)",
			       b->path);
	LOCKED(b, b->drv->truncate(b, size, shrink, err));
}

uint64_t block__cluster_size(struct blk *b)
{
	return b->drv->cluster_size ? b->drv->cluster_size(b) : 0;
}

int block__read_backing(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	struct blk *bk = b->backing;
	uint64_t have = 0;
	if (bk && off < bk->size) {
		have = ST_MIN(len, bk->size - off);
		if (block__pread(bk, buf, have, off, err) < 0)
			return -1;
	}
	if (have < len)
		memset((char *)buf + have, 0, len - have);
	return 0;
}
