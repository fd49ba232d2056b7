/* qcow2 internals shared by the driver's files (layout per QEMU's
 * docs/interop/qcow2.txt). Everything here runs under the image's mutex. */
#ifndef STRATA_BLOCK_QCOW2_H
#define STRATA_BLOCK_QCOW2_H

#include <stdbool.h>
#include <stdint.h>

#include "block/driver.h"
#include "block/qcow2/cache.h"
#include "block/qcow2_public.h"

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)      /* as QEMU: bounds memory use on open */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS 65536
#define QCOW2_MAX_BACKING_NAME 1023

#define QCOW2_INCOMPAT_DIRTY        (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT      (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE    (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION  (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2        (1ull << 4)
#define QCOW2_INCOMPAT_KNOWN (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)

#define QCOW2_EXT_END          0x00000000u
#define QCOW2_EXT_BACKING_FMT  0xe2792acau
#define QCOW2_EXT_FEATURES     0x6803f857u

#define QCOW2_OFLAG_COPIED     (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO       1ull
#define QCOW2_OFFSET_MASK      0x00fffffffffffe00ull
#define QCOW2_L1_RESERVED      0x7f000000000001ffull
#define QCOW2_L2_RESERVED      0x3f000000000001feull

enum qcow2_compression { QCOW2_COMP_ZLIB = 0, QCOW2_COMP_ZSTD = 1 };

struct qcow2_ext {            /* header extensions kept as they are */
	uint32_t type;
	uint32_t len;
	uint8_t *data;
};

struct qcow2_snapshot {
	uint64_t l1_offset;
	uint32_t l1_size;
	char *id;
	char *name;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;
	uint64_t icount;            /* UINT64_MAX when absent */
	uint32_t extra_len;         /* extra data length as stored (>= 16 in v3) */
	uint8_t *extra;             /* extra data beyond the fields we know */
};

struct qcow2 {
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t incompat, compat, autoclear;
	uint32_t refcount_order;
	uint32_t header_len;
	enum qcow2_compression comp;
	char *backing_name;
	char *backing_fmt;
	struct qcow2_ext *exts;      /* unknown extensions, rewritten verbatim */
	unsigned n_exts;

	uint64_t *l1;                /* host byte order */
	uint32_t l1_size;
	uint64_t l1_offset;
	uint32_t l2_entries;         /* per L2 table */

	uint64_t *reftable;          /* host byte order */
	uint64_t reftable_entries;
	uint64_t reftable_offset;
	uint32_t reftable_clusters;
	uint64_t refblock_entries;   /* per refcount block */
	uint64_t refcount_max;

	struct qcow2_snapshot *snaps;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t snapshots_old_size; /* bytes of the table on disk */

	struct qcow2_cache l2_cache;
	struct qcow2_cache rb_cache;

	uint64_t free_cluster_index; /* no free cluster below this one */
	uint64_t file_end;           /* clusters at or past this byte offset are free */
	uint64_t comp_next;          /* next free byte for compressed data, 0: none */
	uint64_t *pending_free;      /* host offsets whose refcount drops after the next flush */
	size_t n_pending, cap_pending;

	bool corrupt;                /* metadata found inconsistent: no more writes */
	bool dirty_marked;           /* we set the dirty bit in this session */
	bool lazy;
	unsigned inflight;           /* data I/O running without the lock */
	pthread_cond_t drained;
	uint8_t *cbuf;               /* compressed input, 2 clusters */
	uint8_t *dbuf;               /* one cluster of guest data */
};

static inline struct qcow2 *qcow2__of(struct blk *b)
{
	return b->opaque;
}

static inline uint64_t qcow2__offset_in_cluster(const struct qcow2 *s, uint64_t off)
{
	return off & (s->cluster_size - 1);
}

static inline uint64_t qcow2__size_to_clusters(const struct qcow2 *s, uint64_t size)
{
	return (size + s->cluster_size - 1) >> s->cluster_bits;
}

/* header.c */
int qcow2__header_read(struct blk *b, struct qcow2 *s, struct st_err *err);
int qcow2__header_write(struct blk *b, struct qcow2 *s, struct st_err *err);
int qcow2__header_set_incompat(struct blk *b, struct qcow2 *s, uint64_t bits, bool on, struct st_err *err);
/* marks the image corrupt (on disk if writable) and fails with the reason */
int qcow2__corrupt_err(struct blk *b, struct st_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t qcow2__header_l1_size_for(uint64_t size, uint32_t cluster_bits);
/* whether [off, off+len) overlaps the header, the L1 table or the refcount table */
bool qcow2__overlaps_metadata(struct qcow2 *s, uint64_t off, uint64_t len);

/* refcount.c */
int qcow2__refcount_init(struct blk *b, struct qcow2 *s, struct st_err *err);
int qcow2__refcount_get(struct blk *b, uint64_t cluster_index, uint64_t *rc, struct st_err *err);
int qcow2__refcount_update(struct blk *b, uint64_t offset, uint64_t len, int64_t delta, struct st_err *err);
/* allocates n contiguous fresh clusters with refcount 1; returns the host offset */
int64_t qcow2__alloc_clusters(struct blk *b, uint64_t n, struct st_err *err);
/* byte allocation for compressed data (never crosses into a cluster it does not own) */
int64_t qcow2__alloc_bytes(struct blk *b, uint64_t size, struct st_err *err);
/* queue a refcount decrement for after the next metadata flush */
int qcow2__free_later(struct blk *b, uint64_t offset, struct st_err *err);
int qcow2__apply_pending_frees(struct blk *b, struct st_err *err);
uint64_t qcow2__refcount_read_entry(const struct qcow2 *s, const void *block, uint64_t idx);
void qcow2__refcount_write_entry(const struct qcow2 *s, void *block, uint64_t idx, uint64_t v);

/* cluster.c */
/* L2 entry of guest offset off (0 when the L1 entry is empty) */
int qcow2__get_l2_entry(struct blk *b, uint64_t off, uint64_t *entry, struct st_err *err);
/* pointer to the cached, writable L2 entry (copying a shared L2 table first) */
int qcow2__l2_entry_for_write(struct blk *b, uint64_t off, uint64_t **slot, struct st_err *err);
void qcow2__l2_mark_dirty(struct blk *b, uint64_t *slot);
int qcow2__write_l1_entry(struct blk *b, uint32_t idx, struct st_err *err);
int qcow2__check_l2_entry(struct blk *b, uint64_t entry, struct st_err *err);
void qcow2__compressed_extent(const struct qcow2 *s, uint64_t entry, uint64_t *host, uint64_t *len);
int qcow2__flush_metadata(struct blk *b, struct st_err *err);

/* compress.c */
int qcow2__compress(enum qcow2_compression t, const void *in, size_t in_len, void *out, size_t out_cap,
		   size_t *out_len);
int qcow2__decompress(enum qcow2_compression t, const void *in, size_t in_len, void *out, size_t out_len);

/* snapshot.c */
int qcow2__snapshots_read(struct blk *b, struct qcow2 *s, struct st_err *err);
void qcow2__snapshots_free(struct qcow2 *s);
uint64_t qcow2__snapshot_table_size(const struct qcow2 *s);
int qcow2__snapshots_write(struct blk *b, struct st_err *err);
int qcow2__write_l1_all(struct blk *b, struct st_err *err);

/* driver.c */
int qcow2__read_l1(struct blk *b, struct qcow2 *s, uint64_t offset, uint32_t n, uint64_t **out,
		  struct st_err *err);
int qcow2__grow_l1(struct blk *b, uint32_t min_size, struct st_err *err);
/* lazy refcounts on or off: whether L2 writes wait for refcount writes */
void qcow2__set_lazy(struct qcow2 *s, bool lazy);

#endif
