/* Refcount structures rebuilt from the references: a different refcount
 * width (amend refcount_bits) or a refcount table that cannot be trusted
 * (check -r all). Nothing is written where the image has anything: the new
 * blocks and table go after the end of the file, and only the header switch
 * makes them current. */
#include "block/qcow2/check.h"
#include "block/qcow2/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

int qcow2_rebuild_refcounts(struct blk *b, uint32_t order, struct st_err *err)
{
	struct qcow2 *s = qcow2_of(b);
	if (qcow2_flush_metadata(b, err) < 0)
		return -1;
	cleanup_free uint64_t *refs = NULL;
	uint64_t n;
	if (qcow2_count_references(b, &refs, &n, err) < 0)
		return -1;
	uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
	for (uint64_t c = 0; c < n; c++)
		if (refs[c] > max)
			return st_fail(err, ERANGE, "cluster %llu has %llu references: more than refcount_bits=%u can hold",
				       (unsigned long long)c, (unsigned long long)refs[c], 1u << order);
	/* blocks and table at clusters n.., describing themselves too */
	uint64_t cs = s->cluster_size, per = (cs * 8) >> order, nb = 0, nt = 0;
	for (;;) {
		uint64_t total = n + nb + nt;
		uint64_t nb2 = (total + per - 1) / per, nt2 = (nb2 * 8 + cs - 1) / cs;
		if (nb2 == nb && nt2 == nt)
			break;
		nb = nb2, nt = nt2;
	}
	cleanup_free uint8_t *blocks = blk_alloc_io(nb * cs);
	cleanup_free uint64_t *table = blk_alloc_io(nt * cs);
	if (!blocks || !table)
		return st_fail(err, ENOMEM, "refcount structures");
	memset(blocks, 0, nb * cs);
	memset(table, 0, nt * cs);
	struct qcow2 fmt = {.refcount_order = order}; /* for the entry encoding */
	for (uint64_t c = 0; c < n + nb + nt; c++)
		qcow2_refcount_write_entry(&fmt, blocks + (c / per) * cs, c % per, c < n ? refs[c] : 1);
	for (uint64_t i = 0; i < nb; i++)
		table[i] = htobe64((n + i) << s->cluster_bits);
	if (blk_file_pwrite(b, blocks, nb * cs, n << s->cluster_bits, err) < 0 ||
	    blk_file_pwrite(b, table, nt * cs, (n + nb) << s->cluster_bits, err) < 0)
		return -1;
	if (fdatasync(b->fd) < 0)
		return st_fail_errno(err, "fdatasync");
	uint32_t old_order = s->refcount_order, old_clusters = s->reftable_clusters;
	uint64_t old_off = s->reftable_offset;
	s->refcount_order = order;
	s->reftable_offset = (n + nb) << s->cluster_bits;
	s->reftable_clusters = (uint32_t)nt;
	if (qcow2_header_write(b, s, err) < 0 || fdatasync(b->fd) < 0) {
		s->refcount_order = old_order, s->reftable_offset = old_off, s->reftable_clusters = old_clusters;
		return err && err->msg[0] ? -1 : st_fail_errno(err, "fdatasync");
	}
	/* the cached blocks are in the old format and place */
	unsigned slots = s->rb_cache.n;
	qcow2_cache_destroy(&s->rb_cache);
	free(s->reftable);
	s->reftable = NULL;
	if (qcow2_cache_init(&s->rb_cache, slots, cs, b, err) < 0 || qcow2_refcount_init(b, s, err) < 0)
		return -1;
	qcow2_set_lazy(s, s->lazy);
	s->file_end = (n + nb + nt) << s->cluster_bits;
	s->free_cluster_index = 1;
	s->comp_next = 0;
	return 0;
}

int qcow2_amend_refcount_bits(struct blk *b, unsigned bits, struct st_err *err)
{
	if (b->drv != &blk_qcow2_driver || !b->writable)
		return st_fail(err, EINVAL, "'%s' is not a qcow2 image open for writing", b->path);
	struct qcow2 *s = qcow2_of(b);
	uint32_t order = 0;
	while ((1u << order) < bits && order < 6)
		order++;
	if ((1u << order) != bits)
		return st_fail(err, EINVAL, "refcount_bits must be a power of two from 1 to 64, not %u", bits);
	if (order == s->refcount_order)
		return 0;
	if (s->version < 3)
		return st_fail(err, EINVAL, "refcount_bits other than 16 need compat=1.1");
	if (s->corrupt)
		return st_fail(err, EIO, "'%s' is marked corrupt", b->path);
	pthread_mutex_lock(&b->lock);
	int r = qcow2_rebuild_refcounts(b, order, err);
	pthread_mutex_unlock(&b->lock);
	return r;
}
