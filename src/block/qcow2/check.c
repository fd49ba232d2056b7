#include "block/qcow2/check.h"
#include "block/qcow2/qcow2.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

FILE *qcow2_check_log;

static FILE *check_log(void)
{
	return qcow2_check_log ? qcow2_check_log : stderr;
}

struct walk {
	struct blk *b;
	struct qcow2 *s;
	uint64_t *refs;        /* references found per cluster */
	uint64_t nb;           /* clusters tracked */
	uint64_t file_clusters;
	struct qcow2_check_result *r;
	uint64_t *l2buf;
	uint64_t last_host;    /* for fragmentation */
	bool bad_refblocks;    /* refcount table entries pointing nowhere */
	uint64_t file_size;
};

static void walk_free(struct walk *w)
{
	free(w->refs);
	free(w->l2buf);
}

/* A walk over the file as it is now; declare it with cleanup_walk. */
#define cleanup_walk __attribute__((cleanup(walk_free)))
static int walk_init(struct walk *w, struct blk *b, struct qcow2_check_result *r, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	struct stat st;
	if (fstat(b->fd, &st) < 0)
		return err__fail_errno(err, "stat");
	*w = (struct walk){.b = b, .s = s, .r = r, .file_size = (uint64_t)st.st_size};
	w->file_clusters = w->nb = qcow2__size_to_clusters(s, w->file_size);
	w->refs = calloc(w->nb ? w->nb : 1, sizeof(uint64_t));
	w->l2buf = block__alloc_io(s->cluster_size);
	if (!w->refs || !w->l2buf)
		return err__fail(err, ENOMEM, "references of %llu clusters", (unsigned long long)w->nb);
	return 0;
}

static void add_ref(struct walk *w, uint64_t off, uint64_t len, const char *what)
{
	struct qcow2 *s = w->s;
	if (!len)
		return;
	uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;
	for (uint64_t c = first; c <= last; c++) {
		if (c >= w->nb) {
			fprintf(check_log(), "ERROR %s at offset 0x%llx lies beyond the end of the image file\n", what,
				(unsigned long long)(c << s->cluster_bits));
			w->r->corruptions++;
			continue;
		}
		w->refs[c]++;
	}
}

static int walk_l2(struct walk *w, uint64_t l2off, bool active, struct st_err *err)
{
	struct qcow2 *s = w->s;
	if (block__file_pread(w->b, w->l2buf, s->cluster_size, l2off, err) < 0)
		return -1;
	for (uint32_t i = 0; i < s->l2_entries; i++) {
		uint64_t e = be64toh(w->l2buf[i]);
		if (e & QCOW2_OFLAG_COMPRESSED) {
			uint64_t host, len;
			qcow2__compressed_extent(s, e, &host, &len);
			if (e & QCOW2_OFLAG_COPIED) {
				fprintf(check_log(), "ERROR: coffset=0x%llx: copied flag must never be set for compressed "
					"clusters\n", (unsigned long long)host);
				w->r->corruptions++;
			}
			add_ref(w, host, len, "compressed cluster");
			if (active) {
				w->r->allocated_clusters++;
				w->r->compressed_clusters++;
			}
			continue;
		}
		uint64_t host = e & QCOW2_OFFSET_MASK;
		if (!host)
			continue;
		if (qcow2__offset_in_cluster(s, host)) {
			fprintf(check_log(), "ERROR offset=%llx: Cluster is not properly aligned; L2 entry corrupted.\n",
				(unsigned long long)host);
			w->r->corruptions++;
			continue;
		}
		add_ref(w, host, s->cluster_size, "data cluster");
		if (active) {
			w->r->allocated_clusters++;
			if (w->last_host && host != w->last_host + s->cluster_size)
				w->r->fragmented_clusters++;
			w->last_host = host;
		}
	}
	return 0;
}

static int walk_l1(struct walk *w, uint64_t l1off, uint32_t l1n, bool active, struct st_err *err)
{
	struct qcow2 *s = w->s;
	if (!l1n)
		return 0;
	add_ref(w, l1off, (uint64_t)l1n * 8, "L1 table");
	cleanup_free uint64_t *l1 = NULL;
	if (active) {
		l1 = malloc((uint64_t)l1n * 8);
		if (!l1)
			return err__fail(err, ENOMEM, "check");
		memcpy(l1, s->l1, (uint64_t)l1n * 8);
	} else {
		l1 = calloc(l1n, 8);
		if (!l1)
			return err__fail(err, ENOMEM, "check");
		if (l1off + (uint64_t)l1n * 8 > w->file_clusters << s->cluster_bits ||
		    block__file_pread(w->b, l1, (uint64_t)l1n * 8, l1off, err) < 0) {
			fprintf(check_log(), "ERROR snapshot L1 table at 0x%llx cannot be read\n", (unsigned long long)l1off);
			w->r->corruptions++;
			return 0;
		}
		for (uint32_t i = 0; i < l1n; i++)
			l1[i] = be64toh(l1[i]);
	}
	for (uint32_t i = 0; i < l1n; i++) {
		uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		if (qcow2__offset_in_cluster(s, l2off) || l2off + s->cluster_size > w->file_clusters << s->cluster_bits) {
			fprintf(check_log(), "ERROR l2_offset=%llx: Table is not cluster aligned or lies outside the "
				"image; L1 entry corrupted\n", (unsigned long long)l2off);
			w->r->corruptions++;
			continue;
		}
		add_ref(w, l2off, s->cluster_size, "L2 table");
		if (walk_l2(w, l2off, active, err) < 0)
			return -1;
	}
	return 0;
}

/* COPIED must be set exactly where the refcount is 1 (active tables only). */
static int check_copied(struct walk *w, enum qcow2_repair repair, struct st_err *err)
{
	struct blk *b = w->b;
	struct qcow2 *s = w->s;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off || qcow2__offset_in_cluster(s, l2off) ||
		    l2off + s->cluster_size > w->file_clusters << s->cluster_bits)
			continue;
		uint64_t rc;
		if (qcow2__refcount_get(b, l2off >> s->cluster_bits, &rc, err) < 0)
			return -1;
		bool copied = s->l1[i] & QCOW2_OFLAG_COPIED;
		if ((rc == 1) != copied) {
			fprintf(check_log(), "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu\n",
				repair & 2 ? "Repairing" : "ERROR", i, (unsigned long long)s->l1[i],
				(unsigned long long)rc);
			if (repair & 2) {
				s->l1[i] = rc == 1 ? s->l1[i] | QCOW2_OFLAG_COPIED : s->l1[i] & ~QCOW2_OFLAG_COPIED;
				if (qcow2__write_l1_entry(b, i, err) < 0)
					return -1;
				w->r->corruptions_fixed++;
			}
			w->r->corruptions++;
		}
		uint64_t *t;
		if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
			return -1;
		for (uint32_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(t[j]), host = e & QCOW2_OFFSET_MASK;
			if ((e & QCOW2_OFLAG_COMPRESSED) || !host || qcow2__offset_in_cluster(s, host) ||
			    host >> s->cluster_bits >= w->nb)
				continue;
			if (qcow2__refcount_get(b, host >> s->cluster_bits, &rc, err) < 0)
				return -1;
			if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
				return -1;
			if ((rc == 1) != !!(e & QCOW2_OFLAG_COPIED)) {
				fprintf(check_log(), "%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu\n",
					repair & 2 ? "Repairing" : "ERROR", (unsigned long long)e, (unsigned long long)rc);
				w->r->corruptions++;
				if (repair & 2) {
					e = rc == 1 ? e | QCOW2_OFLAG_COPIED : e & ~QCOW2_OFLAG_COPIED;
					t[j] = htobe64(e);
					qcow2__cache_mark_dirty(&s->l2_cache, t);
					w->r->corruptions_fixed++;
				}
			}
		}
	}
	return 0;
}

static int compare_refcounts(struct walk *w, enum qcow2_repair repair, struct st_err *err)
{
	struct blk *b = w->b;
	struct qcow2 *s = w->s;
	uint64_t limit = ST_MAX(w->nb, s->reftable_entries * s->refblock_entries);
	for (uint64_t c = 0; c < limit; c++) {
		uint64_t rc, want = c < w->nb ? w->refs[c] : 0;
		uint64_t r = c / s->refblock_entries;
		if (r >= s->reftable_entries || !s->reftable[r]) {
			if (want) {
				fprintf(check_log(), "ERROR cluster %llu refcount=0 reference=%llu\n",
					(unsigned long long)c, (unsigned long long)want);
				w->r->corruptions++;
				if (repair & 2 && qcow2__refcount_update(b, c << s->cluster_bits, 1, (int64_t)want, err) == 0)
					w->r->corruptions_fixed++;
			}
			c = (r + 1) * s->refblock_entries - 1;
			continue;
		}
		if (qcow2__refcount_get(b, c, &rc, err) < 0)
			return -1;
		if (rc)
			w->r->image_end_offset = (c + 1) << s->cluster_bits;
		if (rc == want)
			continue;
		bool leak = rc > want;
		fprintf(check_log(), "%s cluster %llu refcount=%llu reference=%llu\n",
			leak ? ((repair & 1) ? "Repairing" : "Leaked") : ((repair & 2) ? "Repairing" : "ERROR"),
			(unsigned long long)c, (unsigned long long)rc, (unsigned long long)want);
		if (leak)
			w->r->leaks++;
		else
			w->r->corruptions++;
		if ((leak && (repair & 1)) || (!leak && (repair & 2))) {
			if (qcow2__refcount_update(b, c << s->cluster_bits, 1, (int64_t)(want - rc), err) < 0)
				return -1;
			if (leak)
				w->r->leaks_fixed++;
			else
				w->r->corruptions_fixed++;
		}
	}
	return 0;
}

/* Every reference but the refcount structures': what a rebuild counts. */
static int count_references(struct walk *w, struct st_err *err)
{
	struct qcow2 *s = w->s;
	add_ref(w, 0, s->cluster_size, "header");
	if (walk_l1(w, s->l1_offset, s->l1_size, true, err) < 0)
		return -1;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (walk_l1(w, s->snaps[i].l1_offset, s->snaps[i].l1_size, false, err) < 0)
			return -1;
	if (s->nb_snapshots)
		add_ref(w, s->snapshots_offset, qcow2__snapshot_table_size(s), "snapshot table");
	return 0;
}

int qcow2__count_references(struct blk *b, uint64_t **refs, uint64_t *nb, struct st_err *err)
{
	struct qcow2_check_result r = {0};
	cleanup_walk struct walk w = {0};
	if (walk_init(&w, b, &r, err) < 0 || count_references(&w, err) < 0)
		return -1;
	if (r.corruptions)
		return err__fail(err, EIO, "the tables reference clusters outside the image: refcounts cannot be rebuilt");
	*refs = cleanup__steal_ptr(w.refs);
	*nb = w.nb;
	return 0;
}

/* A reference in a range without a refcount block, or a refcount block
 * sharing its cluster with something else: incremental repair would have to
 * allocate blocks from refcounts that cannot be believed. */
static bool refcounts_untrusted(const struct walk *w)
{
	const struct qcow2 *s = w->s;
	for (uint64_t c = 0; c < w->nb; c++) {
		uint64_t r = c / s->refblock_entries;
		if (w->refs[c] && (r >= s->reftable_entries || !s->reftable[r]))
			return true;
	}
	for (uint64_t i = 0; i < s->reftable_entries; i++) {
		uint64_t c = (s->reftable[i] & QCOW2_OFFSET_MASK) >> s->cluster_bits;
		if (c && c < w->nb && w->refs[c] > 1)
			return true;
	}
	return w->bad_refblocks;
}

int qcow2__check(struct blk *b, enum qcow2_repair repair, struct qcow2_check_result *r, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	memset(r, 0, sizeof(*r));
	if (b->writable && qcow2__flush_metadata(b, err) < 0)
		return -1;
	cleanup_walk struct walk w = {0};
	if (walk_init(&w, b, r, err) < 0)
		return -1;
	r->total_clusters = qcow2__size_to_clusters(s, b->size);

	if (count_references(&w, err) < 0)
		return -1;
	add_ref(&w, s->reftable_offset, (uint64_t)s->reftable_clusters << s->cluster_bits, "refcount table");
	for (uint64_t i = 0; i < s->reftable_entries; i++) {
		uint64_t off = s->reftable[i] & QCOW2_OFFSET_MASK;
		if (!off)
			continue;
		if (qcow2__offset_in_cluster(s, off) || off >> s->cluster_bits >= w.nb) {
			fprintf(check_log(), "ERROR refcount block %llu is not cluster aligned or lies outside the image\n",
				(unsigned long long)i);
			r->corruptions++;
			w.bad_refblocks = true;
			s->reftable[i] = 0; /* never follow it (the file is not changed by this) */
			continue;
		}
		add_ref(&w, off, s->cluster_size, "refcount block");
	}
	if (repair & 2 && refcounts_untrusted(&w)) {
		/* blocks missing under references or in the wrong place: counted
		 * again from scratch into new structures, never patched in place */
		if (compare_refcounts(&w, QCOW2_REPAIR_NONE, err) < 0)
			return -1;
		fprintf(check_log(), "Rebuilding refcount structure\n");
		uint64_t found = r->corruptions, leaks = r->leaks;
		if (qcow2__rebuild_refcounts(b, s->refcount_order, err) < 0 || qcow2__check(b, repair, r, err) < 0)
			return -1;
		r->corruptions_fixed += found - ST_MIN(found, r->corruptions);
		r->leaks_fixed += leaks;
		return 0;
	}
	if (compare_refcounts(&w, repair, err) < 0 || check_copied(&w, repair, err) < 0)
		return -1;
	if (repair && b->writable && qcow2__flush_metadata(b, err) < 0)
		return -1;
	if (!r->image_end_offset)
		r->image_end_offset = w.file_size;
	return 0;
}

int qcow2__clear_corrupt(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (!b->writable || !(s->incompat & (QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY)))
		return 0;
	if (qcow2__header_set_incompat(b, s, QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_DIRTY, false, err) < 0)
		return -1;
	s->corrupt = false;
	return 0;
}
