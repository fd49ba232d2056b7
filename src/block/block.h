/* The format-neutral block interface: one `struct blk` per open image, the
 * same calls whatever the driver (raw, qcow2). Every call is thread-safe (a
 * per-image mutex serialises metadata work), so the VMM's I/O threads may
 * share one handle. Offsets and lengths are in bytes of the guest view.
 * This is the public header (strata-img, stratad, strata-vm); qcow2-only
 * operations are in block/qcow2_public.h, and what the drivers share among
 * themselves in block/driver.h, which nothing outside src/block includes. */
#ifndef STRATA_BLOCK_BLOCK_H
#define STRATA_BLOCK_BLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct blk;

struct blk_open_opts {
	const char *format;        /* "raw", "qcow2" or NULL to probe */
	bool writable;
	bool no_backing;           /* do not open the backing chain */
	bool repair_dirty;         /* rw open of a dirty qcow2 repairs it (default in block__open) */
	uint64_t l2_cache_bytes;   /* 0: enough for the whole disk, capped at 32 MiB */
	uint64_t refcount_cache_bytes; /* 0: 1/4 of the L2 cache, at least 4 blocks */
	bool direct;               /* O_DIRECT */
	bool for_repair;           /* check -r: open a corrupt or dirty image as it is */
	bool no_sync;              /* cache=unsafe: flush orders metadata but never fdatasyncs */
};

/* What a range of the guest view is, as seen from this image alone. */
enum blk_kind {
	BLK_DATA,      /* stored here; host_offset valid unless compressed */
	BLK_ZERO,      /* reads as zeros and is decided here (zero flag, or no backing) */
	BLK_UNALLOC,   /* not stored here: read from the backing image */
};

struct block__status {
	enum blk_kind kind;
	uint64_t len;          /* bytes from the asked offset with this same status */
	uint64_t host_offset;  /* BLK_DATA, not compressed: where it is in the file */
	bool has_offset;
	bool compressed;
	bool present;          /* decided by this layer (allocated or zero flag) */
};

struct blk_driver;

/* Callers read these fields; only the block layer writes them. */
struct blk {
	const struct blk_driver *drv;  /* block/driver.h */
	void *opaque;
	pthread_mutex_t lock;
	char *path;
	char *dir;              /* directory of path, for relative backing names */
	int fd;
	bool writable;
	uint64_t size;          /* guest-visible size */
	struct blk *backing;    /* NULL when none (or not opened) */
	unsigned depth;         /* 0 for the top image */
	bool no_sync;
	bool direct;            /* O_DIRECT: file I/O aligned as below (bounced if not) */
	uint32_t dio_mem_align; /* with direct: the buffer, and the offset and length, */
	uint32_t dio_off_align; /* alignment the file or device asks (block__file_dio_align) */
	pthread_mutex_t bounce_lock;
};

/* Buffers for I/O on images opened with O_DIRECT: block__alloc_io's are aligned
 * (and their length rounded up) to BLK_DIO_ALIGN, enough for any file or
 * device asking at most that. */
#define BLK_DIO_ALIGN 4096u
/* The O_DIRECT alignment of fd's file system or device: statx
 * STATX_DIOALIGN, else a block device's logical sector size (BLKSSZGET),
 * else BLK_DIO_ALIGN. */
void block__fd_dio_align(int fd, uint32_t *mem_align, uint32_t *off_align);
/* a buffer fit for O_DIRECT (aligned, length rounded up); free() it */
void *block__alloc_io(size_t len);

/* Probes the format when o->format is NULL; opens the backing chain unless
 * o->no_backing. Refuses chains deeper than BLK_MAX_CHAIN or with loops. */
#define BLK_MAX_CHAIN 256
int block__open(const char *path, const struct blk_open_opts *o, struct blk **out, struct st_err *err);
/* Flushes and marks a qcow2 image clean; frees the whole chain. */
int block__close(struct blk *b, struct st_err *err);
/* Probe only: "qcow2" or "raw". */
int block__probe_file(const char *path, const char **fmt, struct st_err *err);
/* The same on an open file (read from offset 0). */
int block__probe_fd(int fd, const char **fmt, struct st_err *err);

int block__pread(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);
int block__pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err);
int block__pwrite_zeroes(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
/* One whole cluster at a cluster-aligned offset (qcow2 only). */
int block__pwrite_compressed(struct blk *b, const void *buf, uint64_t off, struct st_err *err);
/* Compression outside the image lock, so writers compress in parallel:
 * returns 0 with the compressed length, -1 when the cluster does not shrink. */
int block__compress_cluster(struct blk *b, const void *in, void *out, size_t *out_len);
int block__pwrite_precompressed(struct blk *b, const void *cdata, size_t clen, uint64_t off, struct st_err *err);
int block__discard(struct blk *b, uint64_t len, uint64_t off, struct st_err *err);
int block__flush(struct blk *b, struct st_err *err);
int block__status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, struct st_err *err);
int block__truncate(struct blk *b, uint64_t size, bool shrink, struct st_err *err);
uint64_t block__cluster_size(struct blk *b);

/* Reads through the chain below b (used by drivers for unallocated ranges):
 * zeros past the backing image's end or when there is no backing. */
int block__read_backing(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err);

/* Resolves a backing name relative to the image's directory (malloc'd). */
char *block__backing_path(const char *image_dir, const char *name);


/* Image creation (create, convert's target). */
struct blk_create_opts {
	const char *format;         /* "raw" or "qcow2" */
	uint64_t size;              /* 0 with a backing file: the backing file's size */
	uint64_t cluster_size;      /* 0: 64 KiB */
	int compat;                 /* 2 (0.10) or 3 (1.1); 0: 3 */
	bool lazy_refcounts;
	int refcount_bits;          /* 0: 16 */
	const char *preallocation;  /* off, metadata, falloc, full */
	const char *compression;    /* zlib, zstd */
	const char *backing;        /* name stored in the header */
	const char *backing_fmt;
	bool unsafe_backing;        /* -u: do not open the backing file */
};

int block__create(const char *path, const struct blk_create_opts *o, struct st_err *err);
/* Internal snapshots (qcow2). list returns copies the caller frees with block__snapshots_free. */
struct blk_snapshot {
	char *id, *name;
	uint64_t vm_state_size, vm_clock_nsec, icount, disk_size;
	uint32_t date_sec, date_nsec;
};
int block__snapshot_list(struct blk *b, struct blk_snapshot **out, unsigned *n, struct st_err *err);
void block__snapshots_free(struct blk_snapshot *s, unsigned n);
int block__snapshot_create(struct blk *b, const char *name, struct st_err *err);
int block__snapshot_apply(struct blk *b, const char *name_or_id, struct st_err *err);
int block__snapshot_delete(struct blk *b, const char *name_or_id, struct st_err *err);

/* Header changes (qcow2): the backing file name/format ("" or NULL removes it). */
int block__set_backing(struct blk *b, const char *name, const char *fmt, struct st_err *err);
/* Every cluster becomes unallocated (commit empties the top image). */
int block__make_empty(struct blk *b, struct st_err *err);

/* The image's format: "raw" or "qcow2". */
const char *block__format(const struct blk *b);
/* true with the backing file's name (and format, or NULL) as the image's
 * header names them, when it names one (opened or not). */
bool block__backing_file(struct blk *b, const char **name, const char **fmt);
#endif
