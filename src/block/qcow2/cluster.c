/* Guest offset -> L2 entry mapping: L1/L2 lookups with every offset checked,
 * L2 tables allocated or copied (when shared with a snapshot) for writing,
 * and the ordered metadata flush. */
#include "block/qcow2/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static void split(const struct qcow2 *s, uint64_t off, uint64_t *l1i, uint64_t *l2i)
{
	uint64_t ci = off >> s->cluster_bits;
	*l1i = ci / s->l2_entries;
	*l2i = ci % s->l2_entries;
}

static int check_l2_offset(struct blk *b, uint64_t l2off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (qcow2__offset_in_cluster(s, l2off))
		return qcow2__corrupt_err(b, err, "L2 table offset 0x%llx is not cluster aligned",
					 (unsigned long long)l2off);
	if (l2off + s->cluster_size > s->file_end)
		return qcow2__corrupt_err(b, err, "L2 table at 0x%llx lies beyond the end of the file",
					 (unsigned long long)l2off);
	if (qcow2__overlaps_metadata(s, l2off, s->cluster_size))
		return qcow2__corrupt_err(b, err, "L2 table at 0x%llx overlaps other metadata",
					 (unsigned long long)l2off);
	return 0;
}

int qcow2__check_l2_entry(struct blk *b, uint64_t entry, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (entry & QCOW2_OFLAG_COMPRESSED) {
		uint64_t host, len;
		qcow2__compressed_extent(s, entry, &host, &len);
		if (host < s->cluster_size || host >= s->file_end)
			return qcow2__corrupt_err(b, err, "compressed cluster at 0x%llx lies outside the file",
						 (unsigned long long)host);
		return 0;
	}
	uint64_t host = entry & QCOW2_OFFSET_MASK;
	if (!host)
		return 0;
	if (qcow2__offset_in_cluster(s, host))
		return qcow2__corrupt_err(b, err, "data cluster offset 0x%llx is not cluster aligned",
					 (unsigned long long)host);
	if (host + s->cluster_size > s->file_end)
		return qcow2__corrupt_err(b, err, "data cluster at 0x%llx lies beyond the end of the file",
					 (unsigned long long)host);
	if (qcow2__overlaps_metadata(s, host, s->cluster_size))
		return qcow2__corrupt_err(b, err, "data cluster at 0x%llx overlaps metadata",
					 (unsigned long long)host);
	return 0;
}

void qcow2__compressed_extent(const struct qcow2 *s, uint64_t entry, uint64_t *host, uint64_t *len)
{
	unsigned shift = 62 - (s->cluster_bits - 8);
	uint64_t mask = (1ull << (s->cluster_bits - 8)) - 1;
	*host = entry & ((1ull << shift) - 1);
	uint64_t sectors = ((entry >> shift) & mask) + 1;
	*len = sectors * 512 - (*host & 511);
}

int qcow2__get_l2_entry(struct blk *b, uint64_t off, uint64_t *entry, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t l1i, l2i;
	split(s, off, &l1i, &l2i);
	*entry = 0;
	if (l1i >= s->l1_size)
		return 0;
	uint64_t l2off = s->l1[l1i] & QCOW2_OFFSET_MASK;
	if (!l2off)
		return 0;
	if (check_l2_offset(b, l2off, err) < 0)
		return -1;
	uint64_t *t;
	if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
		return -1;
	*entry = be64toh(t[l2i]);
	return qcow2__check_l2_entry(b, *entry, err);
}

int qcow2__write_l1_entry(struct blk *b, uint32_t idx, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t be = htobe64(s->l1[idx]);
	return block__file_pwrite(b, &be, 8, (s->l1_offset + (uint64_t)idx * 8), err);
}

/* A new L2 table (a copy of `from`, or empty) reaches the file, with its
 * refcount, before the L1 entry that points to it. */
static int install_l2(struct blk *b, uint64_t l1i, const void *from, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	int64_t off = qcow2__alloc_clusters(b, 1, err);
	if (off < 0)
		return -1;
	void *t;
	if (qcow2__cache_get_empty(&s->l2_cache, (uint64_t)off, &t, err) < 0)
		return -1;
	if (from)
		memcpy(t, from, s->cluster_size);
	if (block__file_pwrite(b, t, s->cluster_size, off, err) < 0)
		return -1;
	if (!s->lazy && qcow2__cache_flush(&s->rb_cache, err) < 0)
		return -1;
	uint64_t old = s->l1[l1i] & QCOW2_OFFSET_MASK;
	s->l1[l1i] = (uint64_t)off | QCOW2_OFLAG_COPIED;
	if (qcow2__write_l1_entry(b, (uint32_t)l1i, err) < 0)
		return -1;
	if (old && qcow2__free_later(b, old, err) < 0)
		return -1;
	return 0;
}

int qcow2__l2_entry_for_write(struct blk *b, uint64_t off, uint64_t **slot, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t l1i, l2i;
	split(s, off, &l1i, &l2i);
	if (l1i >= s->l1_size)
		return qcow2__corrupt_err(b, err, "offset 0x%llx lies past the L1 table", (unsigned long long)off);
	uint64_t l1e = s->l1[l1i], l2off = l1e & QCOW2_OFFSET_MASK;
	if (!l2off) {
		if (install_l2(b, l1i, NULL, err) < 0)
			return -1;
	} else {
		if (check_l2_offset(b, l2off, err) < 0)
			return -1;
		if (!(l1e & QCOW2_OFLAG_COPIED)) {
			/* shared with a snapshot: write to a private copy */
			cleanup_free void *copy = block__alloc_io(s->cluster_size);
			void *t;
			if (!copy)
				return err__fail(err, ENOMEM, "L2 copy");
			if (qcow2__cache_get(&s->l2_cache, l2off, &t, err) < 0)
				return -1;
			memcpy(copy, t, s->cluster_size);
			if (install_l2(b, l1i, copy, err) < 0)
				return -1;
		}
	}
	uint64_t *t;
	if (qcow2__cache_get(&s->l2_cache, s->l1[l1i] & QCOW2_OFFSET_MASK, (void **)&t, err) < 0)
		return -1;
	*slot = &t[l2i];
	return 0;
}

void qcow2__l2_mark_dirty(struct blk *b, uint64_t *slot)
{
	struct qcow2 *s = qcow2__of(b);
	uint8_t *p = (uint8_t *)slot;
	/* the table starts at the slot rounded down within its cache buffer */
	for (unsigned i = 0; i < s->l2_cache.n; i++) {
		struct qcow2_cache_entry *e = &s->l2_cache.e[i];
		if (e->offset && p >= e->data && p < e->data + s->cluster_size) {
			e->dirty = true;
			return;
		}
	}
}

int qcow2__flush_metadata(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (qcow2__cache_flush(&s->l2_cache, err) < 0) /* flushes refcounts first, unless lazy */
		return -1;
	if (s->n_pending && qcow2__apply_pending_frees(b, err) < 0)
		return -1;
	return qcow2__cache_flush(&s->rb_cache, err);
}
