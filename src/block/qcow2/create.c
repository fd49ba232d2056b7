/* New qcow2 images: header, refcount table and one refcount block are
 * written by hand, then the image is opened and grown to its size like any
 * resize, so the L1 table goes where the allocator puts it. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static int parse_opts(const struct blk_create_opts *o, struct qcow2 *s, struct st_err *err)
{
	uint64_t cs = o->cluster_size ? o->cluster_size : 65536;
	if (cs < 512 || cs > (2u << 20) || (cs & (cs - 1)))
		return err__fail(err, 0, "cluster size must be a power of two between 512 and 2M");
	s->cluster_size = cs;
	s->cluster_bits = (uint32_t)__builtin_ctzll(cs);
	s->version = o->compat ? (uint32_t)o->compat : 3;
	if (s->version != 2 && s->version != 3)
		return err__fail(err, 0, "compat must be 0.10 or 1.1");
	int rb = o->refcount_bits ? o->refcount_bits : 16;
	if (rb < 1 || rb > 64 || (rb & (rb - 1)))
		return err__fail(err, 0, "refcount_bits must be a power of two up to 64");
	s->refcount_order = (uint32_t)__builtin_ctz((unsigned)rb);
	if (s->version == 2 && rb != 16)
		return err__fail(err, 0, "compat=0.10 requires refcount_bits=16");
	if (o->lazy_refcounts) {
		if (s->version == 2)
			return err__fail(err, 0, "lazy refcounts require compat=1.1");
		s->compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
	}
	if (o->compression && !strcmp(o->compression, "zstd")) {
		if (s->version == 2)
			return err__fail(err, 0, "compression_type=zstd requires compat=1.1");
		s->comp = QCOW2_COMP_ZSTD;
		s->incompat |= QCOW2_INCOMPAT_COMPRESSION;
	} else if (o->compression && strcmp(o->compression, "zlib")) {
		return err__fail(err, 0, "unknown compression type '%s' (zlib or zstd)", o->compression);
	}
	return 0;
}

static int preallocate(struct blk *b, const char *mode, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (!strcmp(mode, "off"))
		return 0;
	if (strcmp(mode, "metadata") && strcmp(mode, "falloc") && strcmp(mode, "full"))
		return err__fail(err, 0, "unknown preallocation mode '%s'", mode);
	uint64_t clusters = qcow2__size_to_clusters(s, b->size);
	for (uint64_t c = 0; c < clusters;) {
		uint64_t k = ST_MIN(clusters - c, 4096);
		int64_t host = qcow2__alloc_clusters(b, k, err);
		if (host < 0)
			return -1;
		for (uint64_t i = 0; i < k; i++)
			if (qcow2__set_entry(b, (c + i) << s->cluster_bits,
					    ((uint64_t)host + (i << s->cluster_bits)) | QCOW2_OFLAG_COPIED, err) < 0)
				return -1;
		c += k;
	}
	if (qcow2__flush_metadata(b, err) < 0)
		return -1;
	if (!strcmp(mode, "metadata")) {
		if (ftruncate(b->fd, (off_t)s->file_end) < 0)
			return err__fail_errno(err, "preallocation");
		return 0;
	}
	int r = posix_fallocate(b->fd, 0, (off_t)s->file_end);
	if (r)
		return err__fail(err, r, "preallocation");
	/* full: fallocate'd blocks already read as zeros and are allocated on disk */
	return 0;
}

static int qcow2_create_file(const char *path, const struct blk_create_opts *o, struct st_err *err);

int qcow2__create(const char *path, const struct blk_create_opts *o, struct st_err *err)
{
	struct stat st;
	bool existed = stat(path, &st) == 0;
	int r = qcow2_create_file(path, o, err);
	if (r < 0 && !existed)
		unlink(path); /* no half-made image left behind */
	return r;
}

static int qcow2_create_file(const char *path, const struct blk_create_opts *o, struct st_err *err)
{
	struct qcow2 s = {0};
	if (parse_opts(o, &s, err) < 0)
		return -1;
	uint64_t size = o->size;
	if (o->backing) {
		if (strlen(o->backing) > QCOW2_MAX_BACKING_NAME)
			return err__fail(err, 0, "backing file name is too long");
		if (!o->unsafe_backing) {
			cleanup_free char *dir = NULL;
			const char *slash = strrchr(path, '/');
			dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
			cleanup_free char *bpath = block__backing_path(dir, o->backing);
			struct blk_open_opts bo = {.format = o->backing_fmt};
			struct blk *bk;
			if (!bpath || block__open(bpath, &bo, &bk, err) < 0)
				return err__prefix(err, "backing file");
			if (!size)
				size = bk->size;
			block__close(bk, NULL);
		}
		s.backing_name = (char *)o->backing;
		s.backing_fmt = (char *)o->backing_fmt;
	}
	cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err__fail_errno(err, "cannot create '%s'", path);
	struct blk fake = {.fd = fd, .size = 0, .path = (char *)path};
	uint64_t cs = s.cluster_size;
	s.reftable_offset = cs;
	s.reftable_clusters = 1;
	if (qcow2__header_write(&fake, &s, err) < 0)
		return -1;
	cleanup_free uint8_t *buf = calloc(2, cs);
	if (!buf)
		return err__fail(err, ENOMEM, "create");
	uint64_t be = htobe64(2 * cs);
	memcpy(buf, &be, 8);
	for (int i = 0; i < 3; i++)
		qcow2__refcount_write_entry(&s, buf + cs, (uint64_t)i, 1);
	if (util__pwrite_all(fd, buf, 2 * cs, (off_t)cs, err) < 0)
		return -1;
	if (fsync(fd) < 0)
		return err__fail_errno(err, "fsync");
	struct blk_open_opts oo = {.format = "qcow2", .writable = true, .no_backing = true};
	struct blk *b;
	if (block__open(path, &oo, &b, err) < 0)
		return -1;
	if (block__truncate(b, size, false, err) < 0 ||
	    preallocate(b, o->preallocation ? o->preallocation : "off", err) < 0) {
		block__close(b, NULL);
		return -1;
	}
	return block__close(b, err);
}

int qcow2__get_info(struct blk *b, struct qcow2_info *info)
{
	if (b->drv != &blk_qcow2_driver)
		return -1;
	struct qcow2 *s = qcow2__of(b);
	info->version = (int)s->version;
	info->cluster_size = s->cluster_size;
	info->refcount_bits = 1 << s->refcount_order;
	info->lazy_refcounts = s->lazy;
	info->corrupt = s->incompat & QCOW2_INCOMPAT_CORRUPT;
	info->dirty = s->incompat & QCOW2_INCOMPAT_DIRTY;
	info->compression = s->comp == QCOW2_COMP_ZSTD ? "zstd" : "zlib";
	info->backing_fmt = s->backing_fmt;
	info->nb_snapshots = s->nb_snapshots;
	return 0;
}
