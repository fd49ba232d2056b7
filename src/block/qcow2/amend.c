/* Header-level changes: backing file, compat level, lazy refcounts; and
 * emptying an image after commit. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

static int check_qcow2_rw(struct blk *b, struct st_err *err)
{
	if (b->drv != &blk_qcow2_driver)
		return err__fail(err, ENOTSUP, "'%s' is %s, not qcow2", b->path, b->drv->name);
	if (!b->writable)
		return err__fail(err, EROFS, "'%s' is open read-only", b->path);
	if (qcow2__of(b)->corrupt)
		return err__fail(err, EIO, "'%s' is marked corrupt", b->path);
	return 0;
}

int block__set_backing(struct blk *b, const char *name, const char *fmt, struct st_err *err)
{
	if (check_qcow2_rw(b, err) < 0)
		return -1;
	struct qcow2 *s = qcow2__of(b);
	if (name && strlen(name) > QCOW2_MAX_BACKING_NAME)
		return err__fail(err, EINVAL, "backing file name is too long");
	pthread_mutex_lock(&b->lock);
	char *old_name = s->backing_name, *old_fmt = s->backing_fmt;
	s->backing_name = name && *name ? strdup(name) : NULL;
	s->backing_fmt = name && *name && fmt ? strdup(fmt) : NULL;
	int r = qcow2__flush_metadata(b, err);
	if (r == 0 && fdatasync(b->fd) < 0)
		r = err__fail_errno(err, "fdatasync");
	if (r == 0)
		r = qcow2__header_write(b, s, err);
	if (r < 0) {
		free(s->backing_name);
		free(s->backing_fmt);
		s->backing_name = old_name;
		s->backing_fmt = old_fmt;
	} else {
		free(old_name);
		free(old_fmt);
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

int block__make_empty(struct blk *b, struct st_err *err)
{
	if (check_qcow2_rw(b, err) < 0)
		return -1;
	struct qcow2 *s = qcow2__of(b);
	pthread_mutex_lock(&b->lock);
	int r = 0;
	for (uint64_t off = 0; r == 0 && off < b->size; off += s->cluster_size) {
		uint64_t e;
		r = qcow2__get_l2_entry(b, off, &e, err);
		if (r == 0 && e)
			r = qcow2__set_entry(b, off, 0, err);
	}
	if (r == 0)
		r = qcow2__flush_metadata(b, err);
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int image_has_zero_clusters(struct blk *b, bool *any, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	*any = false;
	for (uint64_t off = 0; off < b->size && !*any; off += s->cluster_size) {
		uint64_t e;
		if (qcow2__get_l2_entry(b, off, &e, err) < 0)
			return -1;
		*any = !(e & QCOW2_OFLAG_COMPRESSED) && (e & QCOW2_OFLAG_ZERO);
	}
	return 0;
}

int qcow2__amend(struct blk *b, int compat, int lazy, struct st_err *err)
{
	if (check_qcow2_rw(b, err) < 0)
		return -1;
	struct qcow2 *s = qcow2__of(b);
	pthread_mutex_lock(&b->lock);
	int r = qcow2__flush_metadata(b, err);
	if (r == 0 && lazy >= 0) {
		if (lazy && (compat == 2 || (compat <= 0 && s->version == 2)))
			r = err__fail(err, EINVAL, "lazy refcounts require compat=1.1");
		else if (lazy)
			s->compat |= QCOW2_COMPAT_LAZY_REFCOUNTS;
		else
			s->compat &= ~QCOW2_COMPAT_LAZY_REFCOUNTS; /* refcounts were just flushed */
		qcow2__set_lazy(s, lazy);
	}
	if (r == 0 && compat == 2 && s->version == 3) {
		bool zeros = false;
		r = image_has_zero_clusters(b, &zeros, err);
		if (r == 0 && (zeros || s->refcount_order != 4 || s->comp != QCOW2_COMP_ZLIB || s->lazy ||
			       s->incompat & ~QCOW2_INCOMPAT_DIRTY))
			r = err__fail(err, ENOTSUP, "cannot downgrade to compat=0.10: the image uses zero clusters, "
				    "lazy refcounts, zstd or refcount_bits other than 16");
		if (r == 0) {
			s->version = 2;
			s->compat = s->autoclear = s->incompat = 0;
		}
	} else if (r == 0 && compat == 3 && s->version == 2) {
		s->version = 3;
	}
	if (r == 0 && fdatasync(b->fd) < 0)
		r = err__fail_errno(err, "fdatasync");
	if (r == 0)
		r = qcow2__header_write(b, s, err);
	pthread_mutex_unlock(&b->lock);
	return r;
}
