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
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* Clusters the rebuild must not overwrite: referenced ones and the old
 * refcount table and blocks. */
static uint8_t *busy_clusters(const struct qcow2 *s, const uint64_t *refs, uint64_t n, uint64_t m)
{
	uint8_t *busy = calloc(m, 1);
	if (!busy)
		return NULL;
	for (uint64_t c = 0; c < n; c++)
		busy[c] = refs[c] != 0;
	busy[0] = 1; /* the header, always */
	uint64_t t = s->reftable_offset >> s->cluster_bits;
	for (uint64_t c = t; c < n && c < t + s->reftable_clusters; c++)
		busy[c] = 1;
	for (uint64_t i = 0; s->reftable && i < s->reftable_entries; i++) {
		uint64_t c = (s->reftable[i] & QCOW2_OFFSET_MASK) >> s->cluster_bits;
		if (c < n)
			busy[c] = 1;
	}
	return busy;
}

/* The first run of len clusters free in busy at or after *from (busy has
 * room past the file for all new structures); marks it taken. */
static uint64_t take_run(uint8_t *busy, uint64_t m, uint64_t len, uint64_t *from)
{
	uint64_t start = *from;
	for (uint64_t c = start; c < m && c < start + len; c++)
		if (busy[c])
			start = c + 1;
	memset(busy + start, 1, len);
	*from = start + len;
	return start;
}

/* First fit: the table (nt contiguous clusters), then each block on its own
 * (a cluster anywhere). Returns one past the last cluster placed. */
static uint64_t place(const uint8_t *busy, uint8_t *scratch, uint64_t m, uint64_t nb, uint64_t nt,
		      uint64_t *table_at, uint64_t *block_at)
{
	memcpy(scratch, busy, m);
	uint64_t from = 1;
	*table_at = take_run(scratch, m, nt, &from);
	uint64_t last = *table_at + nt;
	from = 1;
	for (uint64_t i = 0; i < nb; i++) {
		block_at[i] = take_run(scratch, m, 1, &from);
		last = ST_MAX(last, block_at[i] + 1);
	}
	return last;
}

int qcow2__rebuild_refcounts(struct blk *b, uint32_t order, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (qcow2__flush_metadata(b, err) < 0)
		return -1;
	cleanup_free uint64_t *refs = NULL;
	uint64_t n;
	if (qcow2__count_references(b, &refs, &n, err) < 0)
		return -1;
	uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
	for (uint64_t c = 0; c < n; c++)
		if (refs[c] > max)
			return err__fail(err, ERANGE, "cluster %llu has %llu references: more than refcount_bits=%u can hold",
				       (unsigned long long)c, (unsigned long long)refs[c], 1u << order);
	/* New blocks and table, describing themselves too, go to clusters that
	 * neither a reference nor the old structures use (those stay valid until
	 * the header switch); afterwards the file ends with the last cluster in
	 * use, so repeated rebuilds do not grow it. All of them placed past the
	 * file bounds how many there can be. */
	uint64_t cs = s->cluster_size, per = (cs * 8) >> order, nb = 0, nt = 0;
	for (;;) {
		uint64_t total = n + nb + nt;
		uint64_t nb2 = (total + per - 1) / per, nt2 = (nb2 * 8 + cs - 1) / cs;
		if (nb2 == nb && nt2 == nt)
			break;
		nb = nb2, nt = nt2;
	}
	uint64_t m = n + nb + nt;
	cleanup_free uint8_t *busy = busy_clusters(s, refs, n, m), *scratch = malloc(m);
	cleanup_free uint64_t *block_at = calloc(nb, sizeof(uint64_t));
	if (!busy || !scratch || !block_at)
		return err__fail(err, ENOMEM, "refcount structures");
	uint64_t used = n; /* clusters up to the last one referenced (the header at least) */
	while (used > 1 && !refs[used - 1])
		used--;
	uint64_t table_at = 0, end = used;
	nb = nt = 0;
	for (;;) {
		uint64_t nb2 = ST_MAX(nb, (end + per - 1) / per), nt2 = ST_MAX(nt, (nb2 * 8 + cs - 1) / cs);
		if (nb2 == nb && nt2 == nt)
			break;
		nb = nb2, nt = nt2;
		end = ST_MAX(used, place(busy, scratch, m, nb, nt, &table_at, block_at));
	}
	cleanup_free uint8_t *blocks = block__alloc_io(nb * cs);
	cleanup_free uint64_t *table = block__alloc_io(nt * cs);
	if (!blocks || !table)
		return err__fail(err, ENOMEM, "refcount structures");
	memset(blocks, 0, nb * cs);
	memset(table, 0, nt * cs);
	struct qcow2 fmt = {.refcount_order = order}; /* for the entry encoding */
	for (uint64_t c = 0; c < ST_MIN(n, end); c++)
		if (refs[c])
			qcow2__refcount_write_entry(&fmt, blocks + (c / per) * cs, c % per, refs[c]);
	for (uint64_t c = table_at; c < table_at + nt; c++)
		qcow2__refcount_write_entry(&fmt, blocks + (c / per) * cs, c % per, 1);
	for (uint64_t i = 0; i < nb; i++) {
		qcow2__refcount_write_entry(&fmt, blocks + (block_at[i] / per) * cs, block_at[i] % per, 1);
		table[i] = htobe64(block_at[i] << s->cluster_bits);
	}
	for (uint64_t i = 0; i < nb; i++)
		if (block__file_pwrite(b, blocks + i * cs, cs, block_at[i] << s->cluster_bits, err) < 0)
			return -1;
	if (block__file_pwrite(b, table, nt * cs, table_at << s->cluster_bits, err) < 0)
		return -1;
	if (fdatasync(b->fd) < 0)
		return err__fail_errno(err, "fdatasync");
	uint32_t old_order = s->refcount_order, old_clusters = s->reftable_clusters;
	uint64_t old_off = s->reftable_offset;
	s->refcount_order = order;
	s->reftable_offset = table_at << s->cluster_bits;
	s->reftable_clusters = (uint32_t)nt;
	if (qcow2__header_write(b, s, err) < 0 || fdatasync(b->fd) < 0) {
		s->refcount_order = old_order, s->reftable_offset = old_off, s->reftable_clusters = old_clusters;
		return err && err->msg[0] ? -1 : err__fail_errno(err, "fdatasync");
	}
	/* the cached blocks are in the old format and place */
	unsigned slots = s->rb_cache.n;
	qcow2__cache_destroy(&s->rb_cache);
	free(s->reftable);
	s->reftable = NULL;
	if (qcow2__cache_init(&s->rb_cache, slots, cs, b, err) < 0 || qcow2__refcount_init(b, s, err) < 0)
		return -1;
	qcow2__set_lazy(s, s->lazy);
	/* the tail past the last cluster in use held only free clusters (the old
	 * structures among them): qemu-img leaves no such tail either */
	struct stat sb;
	if (fstat(b->fd, &sb) == 0 && (uint64_t)sb.st_size > end << s->cluster_bits &&
	    ftruncate(b->fd, (off_t)(end << s->cluster_bits)) < 0)
		return err__fail_errno(err, "trimming the free end of '%s'", b->path);
	s->file_end = end << s->cluster_bits;
	s->free_cluster_index = 1;
	s->comp_next = 0;
	return 0;
}

int qcow2__amend_refcount_bits(struct blk *b, unsigned bits, struct st_err *err)
{
	if (b->drv != &blk_qcow2_driver || !b->writable)
		return err__fail(err, EINVAL, "'%s' is not a qcow2 image open for writing", b->path);
	struct qcow2 *s = qcow2__of(b);
	uint32_t order = 0;
	while ((1u << order) < bits && order < 6)
		order++;
	if ((1u << order) != bits)
		return err__fail(err, EINVAL, "refcount_bits must be a power of two from 1 to 64, not %u", bits);
	if (order == s->refcount_order)
		return 0;
	if (s->version < 3)
		return err__fail(err, EINVAL, "refcount_bits other than 16 need compat=1.1");
	if (s->corrupt)
		return err__fail(err, EIO, "'%s' is marked corrupt", b->path);
	pthread_mutex_lock(&b->lock);
	int r = qcow2__rebuild_refcounts(b, order, err);
	pthread_mutex_unlock(&b->lock);
	return r;
}
