/* Internal snapshots: create, apply, delete. A snapshot is a copy of the L1
 * table; every L2 table and data cluster it reaches gains a reference, and
 * COPIED flags of the active tables are kept equal to "refcount is 1" so
 * writes copy shared clusters first. Increments reach the file before the
 * tables that need them; the snapshot table switches with one header write. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

/* +delta on every L2 table and data cluster an L1 table reaches. */
static int tree_update(struct blk *b, const uint64_t *l1, uint32_t n, int64_t delta, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	cleanup_free uint64_t *l2 = malloc(s->cluster_size);
	if (!l2)
		return err__fail(err, ENOMEM, "snapshot");
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		uint64_t *t;
		if (qcow2__offset_in_cluster(s, l2off) || l2off + s->cluster_size > s->file_end)
			return qcow2__corrupt_err(b, err, "L2 table at 0x%llx is invalid", (unsigned long long)l2off);
		if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
			return -1;
		memcpy(l2, t, s->cluster_size);
		for (uint32_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(l2[j]);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t host, len;
				qcow2__compressed_extent(s, e, &host, &len);
				for (uint64_t c = host >> s->cluster_bits; c <= (host + len - 1) >> s->cluster_bits; c++)
					if (qcow2__refcount_update(b, c << s->cluster_bits, 1, delta, err) < 0)
						return -1;
			} else if (e & QCOW2_OFFSET_MASK) {
				if (qcow2__refcount_update(b, e & QCOW2_OFFSET_MASK, 1, delta, err) < 0)
					return -1;
			}
		}
		if (qcow2__refcount_update(b, l2off, 1, delta, err) < 0)
			return -1;
	}
	return 0;
}

/* Whether one more reference along every path of an L1 table keeps every
 * refcount in range: checked before anything changes, so a refusal leaves
 * the image as it was (as qemu-img refuses such a snapshot). */
static int tree_fits(struct blk *b, const uint64_t *l1, uint32_t n, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t clusters = s->file_end >> s->cluster_bits;
	if (s->refcount_order >= 6 || clusters > (256u << 20))
		return 0;
	cleanup_free uint32_t *add = calloc(clusters + 1, sizeof(uint32_t));
	cleanup_free uint64_t *l2 = malloc(s->cluster_size);
	if (!add || !l2)
		return err__fail(err, ENOMEM, "snapshot");
#define COUNT(off) do { uint64_t c_ = (off) >> s->cluster_bits; if (c_ < clusters) add[c_]++; } while (0)
	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2off = l1[i] & QCOW2_OFFSET_MASK;
		if (!l2off)
			continue;
		uint64_t *t;
		if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
			return -1;
		memcpy(l2, t, s->cluster_size);
		COUNT(l2off);
		for (uint32_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(l2[j]);
			if (e & QCOW2_OFLAG_COMPRESSED) {
				uint64_t host, len;
				qcow2__compressed_extent(s, e, &host, &len);
				for (uint64_t o = host & ~(s->cluster_size - 1); o < host + len; o += s->cluster_size)
					COUNT(o);
			} else if (e & QCOW2_OFFSET_MASK) {
				COUNT(e & QCOW2_OFFSET_MASK);
			}
		}
	}
#undef COUNT
	for (uint64_t c = 0; c < clusters; c++) {
		uint64_t rc;
		if (!add[c])
			continue;
		if (qcow2__refcount_get(b, c, &rc, err) < 0)
			return -1;
		if (s->refcount_max - rc < add[c])
			return err__fail(err, EOVERFLOW, "refcount_bits=%u is too small for one more reference to every "
				       "cluster", 1u << s->refcount_order);
	}
	return 0;
}

/* COPIED on the active tables exactly where the refcount is 1. */
static int fix_copied(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2off = s->l1[i] & QCOW2_OFFSET_MASK, rc;
		if (!l2off)
			continue;
		if (qcow2__refcount_get(b, l2off >> s->cluster_bits, &rc, err) < 0)
			return -1;
		s->l1[i] = rc == 1 ? (s->l1[i] | QCOW2_OFLAG_COPIED) : (s->l1[i] & ~QCOW2_OFLAG_COPIED);
		for (uint32_t j = 0; j < s->l2_entries; j++) {
			uint64_t *t;
			if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
				return -1;
			uint64_t e = be64toh(t[j]);
			if ((e & QCOW2_OFLAG_COMPRESSED) || !(e & QCOW2_OFFSET_MASK))
				continue;
			if (qcow2__refcount_get(b, (e & QCOW2_OFFSET_MASK) >> s->cluster_bits, &rc, err) < 0)
				return -1;
			uint64_t ne = rc == 1 ? (e | QCOW2_OFLAG_COPIED) : (e & ~QCOW2_OFLAG_COPIED);
			if (ne != e) {
				if (qcow2__cache_get(&s->l2_cache, l2off, (void **)&t, err) < 0)
					return -1;
				t[j] = htobe64(ne);
				qcow2__cache_mark_dirty(&s->l2_cache, t);
			}
		}
	}
	if (qcow2__flush_metadata(b, err) < 0)
		return -1;
	return qcow2__write_l1_all(b, err);
}

int qcow2__write_l1_all(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	cleanup_free uint64_t *be = malloc((uint64_t)s->l1_size * 8 + 8);
	if (!be)
		return err__fail(err, ENOMEM, "L1 table");
	for (uint32_t i = 0; i < s->l1_size; i++)
		be[i] = htobe64(s->l1[i]);
	return block__file_pwrite(b, be, (uint64_t)s->l1_size * 8, s->l1_offset, err);
}

static int find(struct qcow2 *s, const char *key)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].id, key))
			return (int)i;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].name, key))
			return (int)i;
	return -1;
}

static int qcow2_snap_create(struct blk *b, const char *name, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (s->refcount_order == 0)
		return err__fail(err, ENOTSUP, "snapshots need refcount_bits of 2 or more");
	if (find(s, name) >= 0)
		return err__fail(err, EEXIST, "a snapshot named '%s' already exists", name);
	if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return err__fail(err, ENOSPC, "too many snapshots");
	if (strlen(name) > 65535)
		return err__fail(err, EINVAL, "snapshot name too long");
	if (qcow2__flush_metadata(b, err) < 0 || tree_fits(b, s->l1, s->l1_size, err) < 0 ||
	    tree_update(b, s->l1, s->l1_size, 1, err) < 0 || fix_copied(b, err) < 0)
		return -1;
	uint64_t bytes = ST_ALIGN_UP((uint64_t)s->l1_size * 8, s->cluster_size);
	int64_t l1off = 0;
	if (bytes) {
		l1off = qcow2__alloc_clusters(b, bytes >> s->cluster_bits, err);
		if (l1off < 0)
			return -1;
		cleanup_free uint64_t *be = calloc(1, bytes);
		if (!be)
			return err__fail(err, ENOMEM, "snapshot");
		for (uint32_t i = 0; i < s->l1_size; i++)
			be[i] = htobe64(s->l1[i]);
		if (block__file_pwrite(b, be, bytes, l1off, err) < 0)
			return -1;
	}
	struct qcow2_snapshot *n = realloc(s->snaps, (s->nb_snapshots + 1) * sizeof(*n));
	if (!n)
		return err__fail(err, ENOMEM, "snapshot");
	s->snaps = n;
	unsigned long max_id = 0;
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		max_id = ST_MAX(max_id, strtoul(s->snaps[i].id, NULL, 10));
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct qcow2_snapshot *sn = &n[s->nb_snapshots];
	memset(sn, 0, sizeof(*sn));
	sn->l1_offset = (uint64_t)l1off;
	sn->l1_size = s->l1_size;
	if (asprintf(&sn->id, "%lu", max_id + 1) < 0)
		return err__fail(err, ENOMEM, "snapshot");
	sn->name = strdup(name);
	sn->extra_len = 16;
	sn->extra = calloc(1, 16);
	if (!sn->name || !sn->extra)
		return err__fail(err, ENOMEM, "snapshot");
	sn->date_sec = (uint32_t)now.tv_sec;
	sn->date_nsec = (uint32_t)now.tv_nsec;
	sn->disk_size = b->size;
	sn->icount = UINT64_MAX;
	s->nb_snapshots++;
	return qcow2__snapshots_write(b, err);
}

static int qcow2_snap_delete(struct blk *b, const char *key, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	int i = find(s, key);
	if (i < 0)
		return err__fail(err, ENOENT, "no snapshot '%s'", key);
	struct qcow2_snapshot sn = s->snaps[i];
	memmove(&s->snaps[i], &s->snaps[i + 1], (s->nb_snapshots - (uint32_t)i - 1) * sizeof(sn));
	s->nb_snapshots--;
	if (qcow2__snapshots_write(b, err) < 0)
		return -1;
	cleanup_free uint64_t *l1 = NULL;
	int r = qcow2__read_l1(b, s, sn.l1_offset, sn.l1_size, &l1, err);
	if (r == 0)
		r = tree_update(b, l1, sn.l1_size, -1, err);
	if (r == 0 && sn.l1_size)
		r = qcow2__refcount_update(b, sn.l1_offset, (uint64_t)sn.l1_size * 8, -1, err);
	free(sn.id);
	free(sn.name);
	free(sn.extra);
	if (r < 0)
		return -1;
	return fix_copied(b, err);
}

static int qcow2_snap_apply(struct blk *b, const char *key, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	int i = find(s, key);
	if (i < 0)
		return err__fail(err, ENOENT, "no snapshot '%s'", key);
	struct qcow2_snapshot *sn = &s->snaps[i];
	if (sn->l1_size > s->l1_size)
		return err__fail(err, ENOTSUP, "snapshot '%s' is larger than the image", key);
	cleanup_free uint64_t *l1 = NULL;
	if (qcow2__read_l1(b, s, sn->l1_offset, sn->l1_size, &l1, err) < 0)
		return -1;
	cleanup_free uint64_t *old = malloc((uint64_t)s->l1_size * 8 + 8);
	if (!old)
		return err__fail(err, ENOMEM, "snapshot");
	memcpy(old, s->l1, (uint64_t)s->l1_size * 8);
	/* the snapshot's tree gains the active reference before the L1 switches */
	if (qcow2__flush_metadata(b, err) < 0 || tree_fits(b, l1, sn->l1_size, err) < 0 ||
	    tree_update(b, l1, sn->l1_size, 1, err) < 0 || qcow2__flush_metadata(b, err) < 0)
		return -1;
	memset(s->l1, 0, (uint64_t)s->l1_size * 8);
	for (uint32_t j = 0; j < sn->l1_size; j++)
		s->l1[j] = l1[j] & ~QCOW2_OFLAG_COPIED;
	if (qcow2__write_l1_all(b, err) < 0 || fdatasync(b->fd) < 0)
		return -1;
	if (tree_update(b, old, s->l1_size, -1, err) < 0)
		return -1;
	return fix_copied(b, err);
}

static int locked(struct blk *b, int (*fn)(struct blk *, const char *, struct st_err *), const char *k,
		  struct st_err *err)
{
	if (b->drv != &blk_qcow2_driver)
		return err__fail(err, ENOTSUP, "format %s has no internal snapshots", b->drv->name);
	if (!b->writable)
		return err__fail(err, EROFS, "'%s' is open read-only", b->path);
	if (qcow2__of(b)->corrupt)
		return err__fail(err, EIO, "'%s' is marked corrupt", b->path);
	pthread_mutex_lock(&b->lock);
	qcow2__drain(b); /* sharing changes: no write may be in flight into a cluster */
	int r = fn(b, k, err);
	if (r == 0)
		r = qcow2__flush_metadata(b, err);
	pthread_mutex_unlock(&b->lock);
	return r;
}

int block__snapshot_create(struct blk *b, const char *name, struct st_err *err)
{
	return locked(b, qcow2_snap_create, name, err);
}

int block__snapshot_delete(struct blk *b, const char *key, struct st_err *err)
{
	return locked(b, qcow2_snap_delete, key, err);
}

int block__snapshot_apply(struct blk *b, const char *key, struct st_err *err)
{
	return locked(b, qcow2_snap_apply, key, err);
}

int block__snapshot_list(struct blk *b, struct blk_snapshot **out, unsigned *n, struct st_err *err)
{
	*out = NULL;
	*n = 0;
	if (b->drv != &blk_qcow2_driver)
		return 0;
	struct qcow2 *s = qcow2__of(b);
	if (!s->nb_snapshots)
		return 0;
	struct blk_snapshot *v = calloc(s->nb_snapshots, sizeof(*v));
	if (!v)
		return err__fail(err, ENOMEM, "snapshot list");
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		struct qcow2_snapshot *sn = &s->snaps[i];
		v[i] = (struct blk_snapshot){strdup(sn->id), strdup(sn->name), sn->vm_state_size, sn->vm_clock_nsec,
					     sn->icount, sn->disk_size, sn->date_sec, sn->date_nsec};
	}
	*out = v;
	*n = s->nb_snapshots;
	return 0;
}

void block__snapshots_free(struct blk_snapshot *v, unsigned n)
{
	for (unsigned i = 0; v && i < n; i++) {
		free(v[i].id);
		free(v[i].name);
	}
	free(v);
}
