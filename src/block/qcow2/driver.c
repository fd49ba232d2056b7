/* The qcow2 driver: open (header, L1, refcounts, caches, dirty-image
 * repair), flush, close (clearing the dirty bit), resize. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"
#include "block/qcow2/check.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

static int qcow2_probe(const uint8_t *buf, size_t len)
{
	return len >= 8 && buf[0] == 'Q' && buf[1] == 'F' && buf[2] == 'I' && buf[3] == 0xfb &&
	       buf[4] == 0 && buf[5] == 0 && buf[6] == 0 && (buf[7] == 2 || buf[7] == 3);
}

static void qcow2_free_state(struct qcow2 *s)
{
	pthread_cond_destroy(&s->drained);
	qcow2__cache_destroy(&s->l2_cache);
	qcow2__cache_destroy(&s->rb_cache);
	qcow2__snapshots_free(s);
	for (unsigned i = 0; i < s->n_exts; i++)
		free(s->exts[i].data);
	free(s->exts);
	free(s->l1);
	free(s->reftable);
	free(s->backing_name);
	free(s->backing_fmt);
	free(s->pending_free);
	free(s->cbuf);
	free(s->dbuf);
	free(s);
}

int qcow2__read_l1(struct blk *b, struct qcow2 *s, uint64_t offset, uint32_t n, uint64_t **out,
		  struct st_err *err)
{
	uint64_t *l1 = calloc(n ? n : 1, 8);
	if (!l1)
		return err__fail(err, ENOMEM, "L1 table");
	if (n && block__file_pread(b, l1, (uint64_t)n * 8, offset, err) < 0) {
		free(l1);
		return err__prefix(err, "reading an L1 table");
	}
	for (uint32_t i = 0; i < n; i++)
		l1[i] = be64toh(l1[i]);
	(void)s;
	*out = l1;
	return 0;
}

int qcow2_caches_init(struct blk *b, struct qcow2 *s, const struct blk_open_opts *o, struct st_err *err)
{
	uint64_t l2_bytes = o->l2_cache_bytes;
	if (!l2_bytes)
		l2_bytes = ST_MIN((uint64_t)32 << 20, (uint64_t)ST_MAX(s->l1_size, 1) * s->cluster_size);
	uint64_t rb_bytes = o->refcount_cache_bytes ? o->refcount_cache_bytes : l2_bytes / 4;
	unsigned l2n = (unsigned)ST_MAX(4, ST_MIN(l2_bytes / s->cluster_size, 65536));
	unsigned rbn = (unsigned)ST_MAX(4, ST_MIN(rb_bytes / s->cluster_size, 65536));
	if (qcow2__cache_init(&s->l2_cache, l2n, s->cluster_size, b, err) < 0 ||
	    qcow2__cache_init(&s->rb_cache, rbn, s->cluster_size, b, err) < 0)
		return -1;
	qcow2__set_lazy(s, s->lazy);
	return 0;
}

/* Without lazy refcounts a refcount block reaches the file before any L2
 * table that needs it; with them, refcounts wait for the next flush (or an
 * eviction) and the dirty bit covers a crash meanwhile. */
void qcow2__set_lazy(struct qcow2 *s, bool lazy)
{
	s->lazy = lazy;
	s->l2_cache.depends_on = lazy ? NULL : &s->rb_cache;
}

/* Refcounts that lazy refcounts left behind are expected after a crash: the
 * findings are not printed. What the repair changed is checked again, so r
 * tells what is left (leaks at most, or the image is corrupt). */
static int repair_dirty(struct blk *b, struct qcow2_check_result *r, struct st_err *err)
{
	FILE *saved = qcow2_check_log;
	FILE *quiet = fopen("/dev/null", "we");
	if (quiet)
		qcow2_check_log = quiet;
	int ret = qcow2__check(b, QCOW2_REPAIR_ALL, r, err);
	if (ret == 0 && r->corruptions == r->corruptions_fixed && r->corruptions_fixed)
		ret = qcow2__check(b, QCOW2_REPAIR_NONE, r, err);
	qcow2_check_log = saved;
	if (quiet)
		fclose(quiet);
	return ret;
}

static int qcow2_open(struct blk *b, const struct blk_open_opts *o, struct st_err *err)
{
	struct qcow2 *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "qcow2 state");
	b->opaque = s;
	pthread_cond_init(&s->drained, NULL);
	int ret = -1;
	struct stat st;
	if (qcow2__header_read(b, s, err) < 0 || fstat(b->fd, &st) < 0)
		goto fail;
	s->file_end = ST_ALIGN_UP((uint64_t)st.st_size, s->cluster_size);
	if (b->writable && s->corrupt && !o->for_repair) {
		err__fail(err, EIO, "image is marked corrupt: it can only be opened read-only (or repaired "
			"with check -r all)");
		goto fail;
	}
	if (qcow2__read_l1(b, s, s->l1_offset, s->l1_size, &s->l1, err) < 0 ||
	    qcow2__refcount_init(b, s, err) < 0 || qcow2_caches_init(b, s, o, err) < 0 ||
	    qcow2__snapshots_read(b, s, err) < 0)
		goto fail;
	s->cbuf = block__alloc_io(2 * s->cluster_size);
	s->dbuf = block__alloc_io(s->cluster_size);
	if (!s->cbuf || !s->dbuf) {
		err__fail(err, ENOMEM, "qcow2 buffers");
		goto fail;
	}
	s->free_cluster_index = 1;
	if (b->writable && !o->for_repair) {
		if (s->incompat & QCOW2_INCOMPAT_DIRTY) {
			/* lazy refcounts left by a crash: rebuild them before any write */
			struct qcow2_check_result r;
			log__info("%s: repairing the refcounts of a dirty image", b->path);
			if (repair_dirty(b, &r, err) < 0)
				goto fail;
			if (r.corruptions)
				goto fail_corrupt;
			if (qcow2__header_set_incompat(b, s, QCOW2_INCOMPAT_DIRTY, false, err) < 0)
				goto fail;
		}
		if (s->autoclear) { /* we keep none of the autoclear features consistent */
			s->autoclear = 0;
			if (qcow2__header_write(b, s, err) < 0)
				goto fail;
		}
	}
	return 0;
fail_corrupt:
	err__fail(err, EIO, "image is corrupt: the dirty image could not be repaired");
fail:
	qcow2_free_state(s);
	b->opaque = NULL;
	return ret;
}

static int qcow2_flush(struct blk *b, struct st_err *err)
{
	if (qcow2__flush_metadata(b, err) < 0)
		return -1;
	if (!b->no_sync && fdatasync(b->fd) < 0)
		return err__fail_errno(err, "fdatasync");
	return 0;
}

static void qcow2_close(struct blk *b)
{
	struct qcow2 *s = qcow2__of(b);
	if (b->writable && !s->corrupt) {
		struct st_err err = {0};
		if (qcow2_flush(b, &err) < 0)
			log__warn("%s: %s", b->path, err.msg);
		else if (s->dirty_marked && qcow2__header_set_incompat(b, s, QCOW2_INCOMPAT_DIRTY, false, &err) < 0)
			log__warn("%s: %s", b->path, err.msg);
	}
	qcow2_free_state(s);
	b->opaque = NULL;
}

static int write_header_u64(struct blk *b, uint64_t v, off_t at, struct st_err *err)
{
	v = htobe64(v);
	return block__file_pwrite(b, &v, 8, at, err);
}

/* A larger L1 table goes to fresh clusters; the header switches to it in one write. */
int qcow2__grow_l1(struct blk *b, uint32_t min_size, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (min_size <= s->l1_size)
		return 0;
	if ((uint64_t)min_size * 8 > QCOW2_MAX_L1_BYTES)
		return err__fail(err, EFBIG, "the L1 table would exceed %u bytes", QCOW2_MAX_L1_BYTES);
	uint64_t bytes = ST_ALIGN_UP((uint64_t)min_size * 8, s->cluster_size);
	int64_t off = qcow2__alloc_clusters(b, bytes >> s->cluster_bits, err);
	if (off < 0)
		return -1;
	uint64_t *l1 = calloc(1, bytes);
	if (!l1)
		return err__fail(err, ENOMEM, "L1 table");
	memcpy(l1, s->l1, (uint64_t)s->l1_size * 8);
	cleanup_free uint64_t *be = calloc(1, bytes);
	if (!be) {
		free(l1);
		return err__fail(err, ENOMEM, "L1 table");
	}
	for (uint32_t i = 0; i < min_size; i++)
		be[i] = htobe64(l1[i]);
	if (block__file_pwrite(b, be, bytes, off, err) < 0 || qcow2__cache_flush(&s->rb_cache, err) < 0 ||
	    fdatasync(b->fd) < 0) {
		free(l1);
		return err && !err->msg[0] ? err__fail_errno(err, "fdatasync") : -1;
	}
	uint8_t hdr[12];
	uint32_t n = htobe32(min_size);
	uint64_t o = htobe64((uint64_t)off);
	memcpy(hdr, &n, 4);
	memcpy(hdr + 4, &o, 8);
	if (block__file_pwrite(b, hdr, 12, 36, err) < 0) {
		free(l1);
		return -1;
	}
	uint64_t old_off = s->l1_offset, old_bytes = ST_ALIGN_UP((uint64_t)s->l1_size * 8, s->cluster_size);
	bool had_l1 = s->l1_size != 0;
	free(s->l1);
	s->l1 = l1;
	s->l1_offset = (uint64_t)off;
	s->l1_size = min_size;
	if (old_off && had_l1)
		return qcow2__refcount_update(b, old_off, old_bytes, -1, err);
	return 0;
}

static int qcow2_truncate(struct blk *b, uint64_t size, bool shrink, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	(void)shrink;
	if (s->corrupt)
		return err__fail(err, EIO, "'%s' is marked corrupt", b->path);
	if (s->nb_snapshots && size < b->size)
		return err__fail(err, ENOTSUP, "cannot shrink an image that has internal snapshots");
	/* Growing over a larger backing file must not expose its data past the old
	 * end: the new range reads as zeros (zero clusters, the head of a partial
	 * cluster written as zeros), as QEMU does. Opens without the chain (image
	 * creation setting the first size) leave the backing data visible. */
	uint64_t old = b->size;
	bool hide = size > old && b->backing && b->backing->size > old;
	if (hide && s->version < 3)
		return err__fail(err, 0, "cannot grow '%s' over its larger backing file: compat=0.10 has no "
			       "zero clusters to hide the backing data (amend -o compat=1.1 first)", b->path);
	uint64_t need = qcow2__header_l1_size_for(size, s->cluster_bits);
	if (need > UINT32_MAX || qcow2__grow_l1(b, (uint32_t)need, err) < 0)
		return need > UINT32_MAX ? err__fail(err, EFBIG, "size too large") : -1;
	if (hide) {
		b->size = size;
		if (qcow2__write_zeroes(b, size - old, old, err) < 0 || qcow2__flush_metadata(b, err) < 0) {
			b->size = old;
			return -1;
		}
	}
	if (size < b->size) {
		uint64_t from = ST_ALIGN_UP(size, s->cluster_size);
		for (uint64_t off = from; off < b->size; off += s->cluster_size) {
			uint64_t e;
			if (qcow2__get_l2_entry(b, off, &e, err) < 0)
				return -1;
			if (e && qcow2__set_entry(b, off, 0, err) < 0)
				return -1;
		}
		if (qcow2__flush_metadata(b, err) < 0)
			return -1;
	}
	if (write_header_u64(b, size, 24, err) < 0)
		return -1;
	b->size = size;
	return 0;
}

static uint64_t qcow2_cluster_size_of(struct blk *b)
{
	return qcow2__of(b)->cluster_size;
}

static bool qcow2_backing(struct blk *b, const char **name, const char **fmt)
{
	struct qcow2 *s = qcow2__of(b);
	*name = s->backing_name;
	*fmt = s->backing_fmt;
	return s->backing_name != NULL;
}

const struct blk_driver blk_qcow2_driver = {
	.name = "qcow2",
	.probe = qcow2_probe,
	.open = qcow2_open,
	.close = qcow2_close,
	.pread = qcow2__read,
	.pwrite = qcow2__write,
	.pwrite_zeroes = qcow2__write_zeroes,
	.pwrite_compressed = qcow2__write_compressed,
	.compress_cluster = qcow2__compress_cluster,
	.pwrite_precompressed = qcow2__write_precompressed,
	.discard = qcow2__discard,
	.flush = qcow2_flush,
	.status = qcow2__status,
	.truncate = qcow2_truncate,
	.backing = qcow2_backing,
	.cluster_size = qcow2_cluster_size_of,
};
