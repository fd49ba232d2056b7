/* Refcounts: reading and updating entries of any width (1 to 64 bits),
 * cluster allocation, self-describing refcount blocks, and growing the
 * refcount table. Increments reach the file before the L2 entries that use
 * them (the L2 cache depends on this cache); decrements wait for the next
 * metadata flush, so a crash leaks clusters at worst and never frees one
 * that is still referenced. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

uint64_t qcow2__refcount_read_entry(const struct qcow2 *s, const void *block, uint64_t idx)
{
	const uint8_t *p = block;
	switch (s->refcount_order) {
	case 0: return (p[idx / 8] >> (idx % 8)) & 1;
	case 1: return (p[idx / 4] >> (2 * (idx % 4))) & 3;
	case 2: return (p[idx / 2] >> (4 * (idx % 2))) & 15;
	case 3: return p[idx];
	case 4: { uint16_t v; memcpy(&v, p + idx * 2, 2); return be16toh(v); }
	case 5: { uint32_t v; memcpy(&v, p + idx * 4, 4); return be32toh(v); }
	default: { uint64_t v; memcpy(&v, p + idx * 8, 8); return be64toh(v); }
	}
}

void qcow2__refcount_write_entry(const struct qcow2 *s, void *block, uint64_t idx, uint64_t v)
{
	uint8_t *p = block;
	unsigned bits = 1u << s->refcount_order;
	if (bits < 8) {
		unsigned per = 8 / bits, shift = bits * (unsigned)(idx % per);
		uint8_t mask = (uint8_t)(((1u << bits) - 1) << shift);
		p[idx / per] = (uint8_t)((p[idx / per] & ~mask) | ((v << shift) & mask));
		return;
	}
	switch (bits) {
	case 8: p[idx] = (uint8_t)v; break;
	case 16: { uint16_t x = htobe16((uint16_t)v); memcpy(p + idx * 2, &x, 2); break; }
	case 32: { uint32_t x = htobe32((uint32_t)v); memcpy(p + idx * 4, &x, 4); break; }
	default: { uint64_t x = htobe64(v); memcpy(p + idx * 8, &x, 8); break; }
	}
}

int qcow2__refcount_init(struct blk *b, struct qcow2 *s, struct st_err *err)
{
	uint64_t bytes = (uint64_t)s->reftable_clusters << s->cluster_bits;
	s->reftable_entries = bytes / 8;
	s->refblock_entries = (s->cluster_size * 8) >> s->refcount_order;
	s->refcount_max = s->refcount_order == 6 ? UINT64_MAX : (1ull << (1u << s->refcount_order)) - 1;
	s->reftable = malloc(bytes);
	if (!s->reftable)
		return err__fail(err, ENOMEM, "refcount table");
	if (block__file_pread(b, s->reftable, bytes, s->reftable_offset, err) < 0)
		return err__prefix(err, "reading the refcount table");
	for (uint64_t i = 0; i < s->reftable_entries; i++)
		s->reftable[i] = be64toh(s->reftable[i]);
	return 0;
}

/* The refcount block covering a cluster, or NULL (all zero) when there is none. */
static int refblock_get(struct blk *b, uint64_t rt_idx, void **blk, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	*blk = NULL;
	if (rt_idx >= s->reftable_entries)
		return 0;
	uint64_t off = s->reftable[rt_idx] & QCOW2_OFFSET_MASK;
	if (!off)
		return 0;
	if (qcow2__offset_in_cluster(s, off) || off == 0)
		return qcow2__corrupt_err(b, err, "refcount block offset 0x%llx is not cluster aligned",
					 (unsigned long long)off);
	if (off >= s->file_end)
		return qcow2__corrupt_err(b, err, "refcount block at 0x%llx lies beyond the end of the file",
					 (unsigned long long)off);
	return qcow2__cache_get(&s->rb_cache, off, blk, err);
}

int qcow2__refcount_get(struct blk *b, uint64_t ci, uint64_t *rc, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	void *blk;
	if (refblock_get(b, ci / s->refblock_entries, &blk, err) < 0)
		return -1;
	*rc = blk ? qcow2__refcount_read_entry(s, blk, ci % s->refblock_entries) : 0;
	return 0;
}

static int write_be64_array(struct blk *b, const uint64_t *v, uint64_t n, uint64_t bytes, uint64_t off,
			    struct st_err *err)
{
	cleanup_free uint64_t *buf = block__alloc_io(bytes);
	if (!buf)
		return err__fail(err, ENOMEM, "table");
	for (uint64_t i = 0; i < n; i++)
		buf[i] = htobe64(v[i]);
	return block__file_pwrite(b, buf, bytes, off, err);
}

/* Allocates n clusters at the end of the file together with the refcount
 * blocks that describe them (and themselves) placed just before them, and,
 * when the table is too small for need_entries or for the area, a new
 * refcount table between the two. Everything is written before the header
 * or the table points to it. Returns the offset of the n clusters. */
static int64_t alloc_area(struct blk *b, uint64_t n, uint64_t need_entries, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t cs = s->cluster_size, per = s->refblock_entries;
	uint64_t t = s->file_end >> s->cluster_bits;
	uint64_t first_missing = t / per;
	if (first_missing < s->reftable_entries && s->reftable[first_missing])
		first_missing++;
	uint64_t nb = 0, nc = 0, entries = s->reftable_entries;
	for (;;) {
		uint64_t end = t + nb + nc + n;
		uint64_t last_range = end > t ? (end - 1) / per : first_missing;
		uint64_t want_nb = end > t && last_range >= first_missing ? last_range - first_missing + 1 : 0;
		uint64_t want_entries = ST_MAX(need_entries, last_range + 1);
		uint64_t want_nc = 0;
		entries = s->reftable_entries;
		if (want_entries > s->reftable_entries) {
			entries = ST_MAX(want_entries, s->reftable_entries * 2);
			want_nc = (entries * 8 + cs - 1) / cs;
		}
		if (want_nb == nb && want_nc == nc)
			break;
		nb = want_nb;
		nc = want_nc;
	}
	if (nc) {
		entries = nc * cs / 8;
		if (nc * cs > QCOW2_MAX_REFTABLE_BYTES)
			return err__fail(err, EFBIG, "refcount table would exceed %u bytes", QCOW2_MAX_REFTABLE_BYTES);
	}
	uint64_t area_end = t + nb + nc + n;
	cleanup_free uint64_t *table = calloc(entries, 8);
	cleanup_free uint8_t *blocks = calloc(nb ? nb : 1, cs);
	if (!table || !blocks)
		return err__fail(err, ENOMEM, "refcount blocks");
	memcpy(table, s->reftable, s->reftable_entries * 8);
	for (uint64_t k = 0; k < nb; k++)
		table[first_missing + k] = (t + k) << s->cluster_bits;
	for (uint64_t c = t; c < area_end; c++) {
		uint64_t r = c / per;
		if (r >= first_missing)
			qcow2__refcount_write_entry(s, blocks + (r - first_missing) * cs, c % per, 1);
	}
	if (nb && block__file_pwrite(b, blocks, nb * cs, (t << s->cluster_bits), err) < 0)
		return -1;
	s->file_end = area_end << s->cluster_bits;
	if (nc) {
		uint64_t new_off = (t + nb) << s->cluster_bits;
		if (write_be64_array(b, table, entries, nc * cs, new_off, err) < 0)
			return -1;
		uint64_t old_off = s->reftable_offset, old_clusters = s->reftable_clusters;
		free(s->reftable);
		s->reftable = cleanup__steal_ptr(table);
		s->reftable_entries = entries;
		/* area clusters in a block that already existed (the first range) */
		for (uint64_t c = t; c < area_end && c / per < first_missing; c++)
			if (qcow2__refcount_update(b, c << s->cluster_bits, 1, 1, err) < 0)
				return -1;
		if (qcow2__cache_flush(&s->rb_cache, err) < 0)
			return -1;
		if (fdatasync(b->fd) < 0)
			return err__fail_errno(err, "fdatasync");
		uint8_t hdr[12];
		uint64_t o = htobe64(new_off);
		uint32_t nn = htobe32((uint32_t)nc);
		memcpy(hdr, &o, 8);
		memcpy(hdr + 8, &nn, 4);
		if (block__file_pwrite(b, hdr, 12, 48, err) < 0)
			return -1;
		s->reftable_offset = new_off;
		s->reftable_clusters = (uint32_t)nc;
		if (qcow2__refcount_update(b, old_off, old_clusters << s->cluster_bits, -1, err) < 0)
			return -1;
	} else {
		for (uint64_t k = 0; k < nb; k++) {
			uint64_t be = htobe64(table[first_missing + k]);
			if (block__file_pwrite(b, &be, 8, (s->reftable_offset + (first_missing + k) * 8), err) < 0)
				return -1;
			s->reftable[first_missing + k] = table[first_missing + k];
		}
		for (uint64_t c = t; c < area_end && c / per < first_missing; c++)
			if (qcow2__refcount_update(b, c << s->cluster_bits, 1, 1, err) < 0)
				return -1;
	}
	return (int64_t)((t + nb + nc) << s->cluster_bits);
}

static int grow_reftable(struct blk *b, uint64_t need_entries, struct st_err *err)
{
	return alloc_area(b, 0, need_entries, err) < 0 ? -1 : 0;
}

/* A missing refcount block for range r goes inside that range (which is all
 * free, having no block), at the first cluster not below `from`: it then
 * describes itself and needs no further allocation. */
static int create_refblock(struct blk *b, uint64_t r, uint64_t from, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t c = ST_MAX(r * s->refblock_entries, from);
	uint64_t off = c << s->cluster_bits;
	void *blk;
	if (qcow2__cache_get_empty(&s->rb_cache, off, &blk, err) < 0)
		return -1;
	qcow2__refcount_write_entry(s, blk, c % s->refblock_entries, 1);
	if (block__file_pwrite(b, blk, s->cluster_size, off, err) < 0)
		return -1;
	uint64_t be = htobe64(off);
	if (block__file_pwrite(b, &be, 8, (s->reftable_offset + r * 8), err) < 0)
		return -1;
	s->reftable[r] = off;
	s->file_end = ST_MAX(s->file_end, off + s->cluster_size);
	return 0;
}

int qcow2__refcount_update(struct blk *b, uint64_t offset, uint64_t len, int64_t delta, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (!len)
		return 0;
	uint64_t first = offset >> s->cluster_bits, last = (offset + len - 1) >> s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		uint64_t r = c / s->refblock_entries;
		if (delta > 0 && r >= s->reftable_entries && grow_reftable(b, r + 1, err) < 0)
			return -1;
		if (delta > 0 && r < s->reftable_entries && !s->reftable[r] &&
		    create_refblock(b, r, r * s->refblock_entries == c ? c + 1 : 0, err) < 0)
			return -1;
		void *blk;
		if (refblock_get(b, r, &blk, err) < 0)
			return -1;
		if (!blk)
			return qcow2__corrupt_err(b, err, "freeing cluster 0x%llx that has no refcount",
						 (unsigned long long)c << s->cluster_bits);
		uint64_t idx = c % s->refblock_entries;
		uint64_t v = qcow2__refcount_read_entry(s, blk, idx);
		if ((delta < 0 && v < (uint64_t)-delta) || (delta > 0 && s->refcount_max - v < (uint64_t)delta))
			return qcow2__corrupt_err(b, err, "refcount of cluster 0x%llx would be out of range",
						 (unsigned long long)c << s->cluster_bits);
		v += (uint64_t)delta;
		qcow2__refcount_write_entry(s, blk, idx, v);
		qcow2__cache_mark_dirty(&s->rb_cache, blk);
		if (v == 0) {
			/* a freed cluster may come back as anything: no more packing into it */
			if (s->comp_next && s->comp_next >> s->cluster_bits == c)
				s->comp_next = 0;
			if (c < s->free_cluster_index)
				s->free_cluster_index = c;
			qcow2__cache_forget(&s->l2_cache, c << s->cluster_bits);
		}
	}
	return 0;
}

int64_t qcow2__alloc_clusters(struct blk *b, uint64_t n, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t end_cluster;
	/* a run this long would cross ranges without blocks again and again */
	if (n > s->refblock_entries / 2)
		return alloc_area(b, n, 0, err);
	for (;;) {
		end_cluster = s->file_end >> s->cluster_bits;
		uint64_t start = s->free_cluster_index, run = 0, c = start;
		bool first_free_seen = false;
		while (run < n) {
			uint64_t rc = 0;
			if (c < end_cluster && qcow2__refcount_get(b, c, &rc, err) < 0)
				return -1;
			if (rc) {
				run = 0;
			} else {
				if (!first_free_seen) {
					s->free_cluster_index = c;
					first_free_seen = true;
				}
				if (!run)
					start = c;
				run++;
			}
			c++;
		}
		/* every range of the run needs a refcount block and a table entry */
		bool changed = false;
		for (uint64_t r = start / s->refblock_entries; r <= (start + n - 1) / s->refblock_entries; r++) {
			if (r >= s->reftable_entries) {
				if (grow_reftable(b, r + 1, err) < 0)
					return -1;
				changed = true;
				break;
			}
			if (!s->reftable[r]) {
				if (create_refblock(b, r, start, err) < 0)
					return -1;
				changed = true;
				break;
			}
		}
		if (changed)
			continue;
		uint64_t off = start << s->cluster_bits;
		if (qcow2__overlaps_metadata(s, off, n << s->cluster_bits))
			return qcow2__corrupt_err(b, err, "free cluster 0x%llx overlaps metadata",
						 (unsigned long long)off);
		if (qcow2__refcount_update(b, off, n << s->cluster_bits, 1, err) < 0)
			return -1;
		if (s->free_cluster_index == start)
			s->free_cluster_index = start + n;
		s->file_end = ST_MAX(s->file_end, off + (n << s->cluster_bits));
		return (int64_t)off;
	}
}

int64_t qcow2__alloc_bytes(struct blk *b, uint64_t size, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t cs = s->cluster_size;
	if (s->comp_next && qcow2__offset_in_cluster(s, s->comp_next) + size <= cs) {
		uint64_t off = s->comp_next;
		uint64_t rc;
		if (qcow2__refcount_get(b, off >> s->cluster_bits, &rc, err) < 0)
			return -1;
		/* shared while its refcount has room (1-bit refcounts: never); comp_next
		 * is cleared when its cluster is freed */
		if (rc && rc < s->refcount_max) {
			if (qcow2__refcount_update(b, off, 1, 1, err) < 0)
				return -1;
			s->comp_next = qcow2__offset_in_cluster(s, off + size) ? off + size : 0;
			return (int64_t)off;
		}
	}
	uint64_t n = (size + cs - 1) / cs;
	int64_t off = qcow2__alloc_clusters(b, n, err);
	if (off < 0)
		return -1;
	uint64_t end = (uint64_t)off + size;
	s->comp_next = qcow2__offset_in_cluster(s, end) ? end : 0;
	return off;
}

int qcow2__free_later(struct blk *b, uint64_t offset, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (s->n_pending == s->cap_pending) {
		size_t cap = s->cap_pending ? s->cap_pending * 2 : 64;
		uint64_t *n = realloc(s->pending_free, cap * sizeof(*n));
		if (!n)
			return err__fail(err, ENOMEM, "free list");
		s->pending_free = n;
		s->cap_pending = cap;
	}
	s->pending_free[s->n_pending++] = offset;
	return 0;
}

int qcow2__apply_pending_frees(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	qcow2__drain(b); /* a freed cluster may be reused at once: no I/O may still target it */
	size_t n = s->n_pending;
	s->n_pending = 0;
	for (size_t i = 0; i < n; i++)
		if (qcow2__refcount_update(b, s->pending_free[i], 1, -1, err) < 0)
			return -1;
	return 0;
}
