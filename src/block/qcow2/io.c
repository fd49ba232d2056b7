/* Guest I/O on qcow2: reads that merge contiguous clusters into one pread,
 * allocating writes with copy-on-write of partial clusters (from the backing
 * image, a compressed cluster or a snapshot's shared cluster), zero clusters,
 * discard, compressed writes and block status. */
#include "block/qcow2/qcow2.h"
#include "block/qcow2/io.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

enum ekind { E_UNALLOC, E_ZERO, E_COMPRESSED, E_DATA };

static enum ekind classify(const struct qcow2 *s, uint64_t e)
{
	if (e & QCOW2_OFLAG_COMPRESSED)
		return E_COMPRESSED;
	if (s->version >= 3 && (e & QCOW2_OFLAG_ZERO))
		return E_ZERO;
	return (e & QCOW2_OFFSET_MASK) ? E_DATA : E_UNALLOC;
}

static int read_compressed(struct blk *b, uint64_t e, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t host, clen;
	qcow2__compressed_extent(s, e, &host, &clen);
	clen = ST_MIN(clen, 2 * s->cluster_size);
	int64_t n = block__file_pread_upto(b, s->cbuf, clen, host, err);
	if (n < 0)
		return err__prefix(err, "reading a compressed cluster");
	if (qcow2__decompress(s->comp, s->cbuf, (size_t)n, s->dbuf, s->cluster_size) < 0)
		return qcow2__corrupt_err(b, err, "compressed cluster at 0x%llx does not decompress",
					 (unsigned long long)host);
	return 0;
}

/* Plain data I/O runs without the image lock, so I/O threads overlap. A
 * cluster cannot be reused meanwhile: frees take effect only in
 * qcow2__apply_pending_frees and snapshots change sharing only after
 * qcow2__drain, and both wait for the I/O in flight. */
static int data_io(struct blk *b, bool unlock, bool write, void *buf, uint64_t n, uint64_t host,
		   struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (!unlock)
		return write ? block__file_pwrite(b, buf, n, host, err)
			     : block__file_pread(b, buf, n, host, err);
	s->inflight++;
	pthread_mutex_unlock(&b->lock);
	int r = write ? block__file_pwrite(b, buf, n, host, err) : block__file_pread(b, buf, n, host, err);
	pthread_mutex_lock(&b->lock);
	if (--s->inflight == 0)
		pthread_cond_broadcast(&s->drained);
	return r;
}

void qcow2__drain(struct blk *b)
{
	struct qcow2 *s = qcow2__of(b);
	while (s->inflight)
		pthread_cond_wait(&s->drained, &b->lock);
}

static int read_data(struct blk *b, void *buf, uint64_t len, uint64_t off, bool unlock, struct st_err *err);

int qcow2__read(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	return read_data(b, buf, len, off, true, err);
}

static int read_data(struct blk *b, void *buf, uint64_t len, uint64_t off, bool unlock, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint8_t *p = buf;
	while (len) {
		uint64_t in = qcow2__offset_in_cluster(s, off);
		uint64_t n = ST_MIN(len, s->cluster_size - in);
		uint64_t e;
		if (qcow2__get_l2_entry(b, off, &e, err) < 0)
			return -1;
		switch (classify(s, e)) {
		case E_COMPRESSED:
			if (read_compressed(b, e, err) < 0)
				return -1;
			memcpy(p, s->dbuf + in, n);
			break;
		case E_ZERO:
			memset(p, 0, n);
			break;
		case E_UNALLOC:
			if (block__read_backing(b, p, n, off, err) < 0)
				return -1;
			break;
		case E_DATA: {
			uint64_t host = (e & QCOW2_OFFSET_MASK) + in;
			/* extend over clusters that follow on disk too */
			while (n < len) {
				uint64_t e2;
				if (qcow2__get_l2_entry(b, off + n, &e2, err) < 0)
					return -1;
				if (classify(s, e2) != E_DATA ||
				    (e2 & QCOW2_OFFSET_MASK) != (e & QCOW2_OFFSET_MASK) + in + n)
					break;
				n += ST_MIN(len - n, s->cluster_size);
			}
			if (data_io(b, unlock, false, p, n, host, err) < 0)
				return -1;
			break;
		}
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Whether a cluster can be written where it is (ours alone, plain data). */
static bool in_place(const struct qcow2 *s, uint64_t e)
{
	return classify(s, e) == E_DATA && (e & QCOW2_OFLAG_COPIED);
}

static int release_entry(struct blk *b, uint64_t old, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (old & QCOW2_OFLAG_COMPRESSED) {
		uint64_t host, clen;
		qcow2__compressed_extent(s, old, &host, &clen);
		for (uint64_t c = host >> s->cluster_bits; c <= (host + clen - 1) >> s->cluster_bits; c++)
			if (qcow2__free_later(b, c << s->cluster_bits, err) < 0)
				return -1;
		return 0;
	}
	uint64_t host = old & QCOW2_OFFSET_MASK;
	return host ? qcow2__free_later(b, host, err) : 0;
}

int qcow2__set_entry(struct blk *b, uint64_t off, uint64_t entry, struct st_err *err)
{
	uint64_t *slot;
	if (qcow2__l2_entry_for_write(b, off, &slot, err) < 0)
		return -1;
	uint64_t old = be64toh(*slot);
	*slot = htobe64(entry);
	qcow2__l2_mark_dirty(b, slot);
	return old == entry ? 0 : release_entry(b, old, err);
}

/* One cluster's new contents: what it held (through the chain), then buf over it. */
static int merge_cluster(struct blk *b, uint64_t cluster_off, const uint8_t *data, uint64_t in, uint64_t n,
			 uint8_t *out, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t valid = ST_MIN(s->cluster_size, b->size - cluster_off);
	/* under the lock: the clusters allocated for this write are not mapped yet */
	if (read_data(b, out, valid, cluster_off, false, err) < 0)
		return -1;
	memset(out + valid, 0, s->cluster_size - valid);
	memcpy(out + in, data, n);
	return 0;
}

static int write_fresh(struct blk *b, const uint8_t *p, uint64_t len, uint64_t off, uint64_t k,
		       struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	uint64_t cs = s->cluster_size, in = qcow2__offset_in_cluster(s, off);
	uint64_t cstart = off - in;
	cleanup_free uint8_t *tmp = NULL;
	bool head_partial = in || len < cs;
	bool tail_partial = k > 1 && qcow2__offset_in_cluster(s, off + len);
	if (head_partial || tail_partial) {
		tmp = block__alloc_io(cs);
		if (!tmp)
			return err__fail(err, ENOMEM, "copy on write");
	}
	/* read what partial clusters held before any mapping changes */
	int64_t host = qcow2__alloc_clusters(b, k, err);
	if (host < 0)
		return -1;
	uint64_t done = 0;
	for (uint64_t i = 0; i < k; i++) {
		uint64_t c_in = i ? 0 : in;
		uint64_t n = ST_MIN(len - done, cs - c_in);
		uint64_t h = (uint64_t)host + i * cs;
		if (n < cs) {
			if (merge_cluster(b, cstart + i * cs, p + done, c_in, n, tmp, err) < 0 ||
			    block__file_pwrite(b, tmp, cs, h, err) < 0)
				return -1;
			done += n;
			continue;
		}
		/* a run of whole clusters goes out in one write */
		uint64_t whole = 1;
		while (i + whole < k && len - done - whole * cs >= cs)
			whole++;
		if (block__file_pwrite(b, p + done, whole * cs, h, err) < 0)
			return -1;
		done += whole * cs;
		i += whole - 1;
	}
	for (uint64_t i = 0; i < k; i++)
		if (qcow2__set_entry(b, cstart + i * cs, ((uint64_t)host + i * cs) | QCOW2_OFLAG_COPIED, err) < 0)
			return -1;
	return 0;
}

#define MAX_ALLOC_RUN 4096

static int check_writable(struct blk *b, struct st_err *err);

int qcow2__write(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (check_writable(b, err) < 0)
		return -1;
	const uint8_t *p = buf;
	while (len) {
		uint64_t in = qcow2__offset_in_cluster(s, off);
		uint64_t n = ST_MIN(len, s->cluster_size - in);
		uint64_t e;
		if (qcow2__get_l2_entry(b, off, &e, err) < 0)
			return -1;
		if (in_place(s, e)) {
			uint64_t host = (e & QCOW2_OFFSET_MASK) + in;
			while (n < len) {
				uint64_t e2;
				if (qcow2__get_l2_entry(b, off + n, &e2, err) < 0)
					return -1;
				if (!in_place(s, e2) || (e2 & QCOW2_OFFSET_MASK) != (e & QCOW2_OFFSET_MASK) + in + n)
					break;
				n += ST_MIN(len - n, s->cluster_size);
			}
			if (data_io(b, true, true, (void *)p, n, host, err) < 0)
				return -1;
		} else {
			uint64_t k = 1;
			while (n < len && k < MAX_ALLOC_RUN) {
				uint64_t e2;
				if (qcow2__get_l2_entry(b, off + n, &e2, err) < 0)
					return -1;
				if (in_place(s, e2))
					break;
				n += ST_MIN(len - n, s->cluster_size);
				k++;
			}
			if (write_fresh(b, p, n, off, k, err) < 0)
				return -1;
		}
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Zeros for the largest cluster; untouched pages of .bss cost nothing. */
static const uint8_t zeros[1u << QCOW2_MAX_CLUSTER_BITS];

static const uint8_t *zero_cluster(struct qcow2 *s)
{
	(void)s;
	return zeros;
}

/* Whole clusters become `entry` (0: unallocated, 1: zero flag); parts of
 * clusters are written as zeros when zero_partial. */
static int set_range(struct blk *b, uint64_t len, uint64_t off, uint64_t entry, bool zero_partial,
		     struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	while (len) {
		uint64_t in = qcow2__offset_in_cluster(s, off);
		uint64_t n = ST_MIN(len, s->cluster_size - in);
		bool whole = n == s->cluster_size || (in == 0 && off + n == b->size);
		if (!whole) {
			if (zero_partial && qcow2__write(b, zero_cluster(s), n, off, err) < 0)
				return -1;
		} else {
			uint64_t e;
			if (qcow2__get_l2_entry(b, off, &e, err) < 0)
				return -1;
			/* the backing name decides, even when the chain was not opened */
			bool backed = s->backing_name != NULL;
			bool nothing = e == entry ||
				       (!entry && !backed && classify(s, e) == E_ZERO && !(e & QCOW2_OFFSET_MASK)) ||
				       (entry && !e && !backed);
			if (!nothing && qcow2__set_entry(b, off, entry, err) < 0)
				return -1;
		}
		off += n;
		len -= n;
	}
	return 0;
}

int qcow2__write_zeroes(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (check_writable(b, err) < 0)
		return -1;
	if (s->version >= 3)
		return set_range(b, len, off, QCOW2_OFLAG_ZERO, true, err);
	if (!s->backing_name)
		return set_range(b, len, off, 0, true, err);
	/* v2 over a backing file has no zero flag: real zeros hide the backing data */
	for (uint64_t n; len; off += n, len -= n) {
		n = ST_MIN(len, s->cluster_size);
		if (qcow2__write(b, zero_cluster(s), n, off, err) < 0)
			return -1;
	}
	return 0;
}

int qcow2__discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (check_writable(b, err) < 0)
		return -1;
	if (!s->backing_name)
		return set_range(b, len, off, 0, false, err);
	if (s->version >= 3)
		return set_range(b, len, off, QCOW2_OFLAG_ZERO, false, err);
	return 0; /* v2 over a backing file cannot drop data: discard is advisory */
}

int qcow2__compress_cluster(struct blk *b, const void *in, void *out, size_t *out_len)
{
	struct qcow2 *s = qcow2__of(b);
	return qcow2__compress(s->comp, in, s->cluster_size, out, s->cluster_size, out_len);
}

int qcow2__write_precompressed(struct blk *b, const void *cdata, size_t clen, uint64_t off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (check_writable(b, err) < 0)
		return -1;
	if (qcow2__offset_in_cluster(s, off) || !clen || clen >= s->cluster_size)
		return err__fail(err, EINVAL, "compressed writes are whole clusters that shrink");
	int64_t host = qcow2__alloc_bytes(b, clen, err);
	if (host < 0)
		return -1;
	if (block__file_pwrite(b, cdata, clen, host, err) < 0)
		return -1;
	unsigned shift = 62 - (s->cluster_bits - 8);
	uint64_t sectors = (((uint64_t)host + clen - 1) >> 9) - ((uint64_t)host >> 9);
	uint64_t entry = QCOW2_OFLAG_COMPRESSED | (uint64_t)host | (sectors << shift);
	return qcow2__set_entry(b, off, entry, err);
}

int qcow2__write_compressed(struct blk *b, const void *buf, uint64_t off, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (qcow2__offset_in_cluster(s, off))
		return err__fail(err, EINVAL, "compressed writes must be cluster aligned");
	uint64_t n = ST_MIN(s->cluster_size, b->size - off);
	memcpy(s->dbuf, buf, n);
	memset(s->dbuf + n, 0, s->cluster_size - n);
	size_t clen;
	if (qcow2__compress_cluster(b, s->dbuf, s->cbuf, &clen) < 0)
		return qcow2__write(b, buf, n, off, err); /* incompressible: store it plain */
	return qcow2__write_precompressed(b, s->cbuf, clen, off, err);
}

int qcow2__status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	memset(st, 0, sizeof(*st));
	uint64_t e;
	if (qcow2__get_l2_entry(b, off, &e, err) < 0)
		return -1;
	enum ekind k = classify(s, e);
	uint64_t in = qcow2__offset_in_cluster(s, off);
	uint64_t n = ST_MIN(len, s->cluster_size - in);
	while (n < len && k != E_COMPRESSED) {
		uint64_t e2;
		if (qcow2__get_l2_entry(b, off + n, &e2, err) < 0)
			return -1;
		if (classify(s, e2) != k ||
		    (k == E_DATA && (e2 & QCOW2_OFFSET_MASK) != (e & QCOW2_OFFSET_MASK) + in + n))
			break;
		n += ST_MIN(len - n, s->cluster_size);
	}
	st->len = n;
	st->present = k != E_UNALLOC;
	switch (k) {
	case E_UNALLOC: st->kind = s->backing_name ? BLK_UNALLOC : BLK_ZERO; break;
	case E_ZERO: st->kind = BLK_ZERO; break;
	case E_COMPRESSED: st->kind = BLK_DATA; st->compressed = true; break;
	case E_DATA:
		st->kind = BLK_DATA;
		st->has_offset = true;
		st->host_offset = (e & QCOW2_OFFSET_MASK) + in;
		break;
	}
	return 0;
}

static int check_writable(struct blk *b, struct st_err *err)
{
	struct qcow2 *s = qcow2__of(b);
	if (s->corrupt)
		return err__fail(err, EIO, "'%s' is marked corrupt: refusing to write (run check -r all)", b->path);
	if (s->lazy && !s->dirty_marked) {
		if (qcow2__header_set_incompat(b, s, QCOW2_INCOMPAT_DIRTY, true, err) < 0)
			return -1;
		s->dirty_marked = true;
	}
	return 0;
}
