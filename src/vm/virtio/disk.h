/* The block backend virtio-blk drives: raw files and the block layer's images
 * (qcow2...) behind one interface. Requests are asynchronous: disk__submit()
 * queues one, the backend runs it off the caller's thread (io_uring for raw
 * files, the block layer's thread pool for the rest), and disk__reap() hands
 * back the finished ones once event_fd is readable. Several requests are in
 * flight at once; they may finish in any order. */
#ifndef STRATA_VM_VIRTIO_DISK_H
#define STRATA_VM_VIRTIO_DISK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"

struct disk;

enum disk_op { DISK_READ, DISK_WRITE, DISK_FLUSH, DISK_DISCARD, DISK_WRITE_ZEROES };

struct disk_io {
	enum disk_op op;
	struct iovec *iov;      /* read, write: the backend may advance these */
	int niov;
	uint64_t off, len;      /* len: discard and write-zeroes */
	bool may_unmap;
	int result;             /* at completion: 0 or -errno */
	void *opaque;           /* the submitter's */
	/* the backend's */
	struct disk_io *next;
	unsigned parts;         /* block-layer requests still running */
	void *parts_mem;
};

struct disk_ops {
	/* Synchronous: transfer exactly the iovecs' total length at byte offset
	 * off; < 0 with errno set. */
	int (*readv)(struct disk *dk, const struct iovec *iov, int n, uint64_t off);
	int (*writev)(struct disk *dk, const struct iovec *iov, int n, uint64_t off);
	int (*flush)(struct disk *dk);
	int (*discard)(struct disk *dk, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct disk *dk, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct disk *dk);
	/* Asynchronous, optional (without: the request runs inline in
	 * disk__submit): start io, finishing it with disk__complete() or through
	 * reap. */
	void (*submit)(struct disk *dk, struct disk_io *io);
	void (*commit)(struct disk *dk);   /* the submitted batch is complete; optional */
	/* Collects finished requests the backend holds itself (io_uring). */
	unsigned (*reap)(struct disk *dk, struct disk_io **out, unsigned max);
};

struct disk {
	const struct disk_ops *ops;
	uint64_t size;          /* bytes */
	bool read_only;
	int fd;                 /* raw images */
	void *opaque;           /* the block layer's image, or the raw file's io_uring */
	void *pool;             /* the block layer's thread pool */
	int event_fd;           /* readable while finished requests wait in disk__reap */
	unsigned in_flight;
	pthread_mutex_t done_lock;
	struct disk_io *done_head, *done_tail;   /* finished on other threads */
	struct disk_io *inline_head, *inline_tail; /* finished inline: the owner's, unlocked */
};

/* Opens a raw image; read_only opens it O_RDONLY. */
int disk__open_raw(const char *path, bool read_only, struct disk **out, struct st_err *err);
/* A raw disk's io_uring: created disabled, fd its only (fixed) file, event_fd
 * its completion eventfd, restricted to reads, writes and fsyncs on that file,
 * then enabled. 0 or -errno. */
struct io_uring;
int raw__ring_init(struct io_uring *ring, int fd, int event_fd);

/* Any image the block layer knows (format "raw", "qcow2", or NULL to probe);
 * raw goes straight to disk__open_raw. */
int disk__open(const char *path, const char *format, bool read_only, struct disk **out,
	       struct st_err *err);

/* For the backends: the completion plumbing (event_fd, done list) of a new disk. */
int disk__init_async(struct disk *dk, struct st_err *err);
/* A request finished: on another thread (wake: event_fd becomes readable), or
 * inline on the owner's thread in submit or commit (!wake: the owner's
 * disk__reap after disk__commit finds it). */
void disk__complete(struct disk *dk, struct disk_io *io, int result, bool wake);
/* Runs io with the synchronous operations; returns 0 or -errno. */
int disk__run_sync(struct disk *dk, struct disk_io *io);

/* Starts io; it may finish at once (a page-cache hit): reap after the batch's
 * disk__commit, before waiting for event_fd. */
void disk__submit(struct disk *dk, struct disk_io *io);
void disk__commit(struct disk *dk);
/* Up to max finished requests (never blocks). */
unsigned disk__reap(struct disk *dk, struct disk_io **out, unsigned max);
/* event_fd was readable: clears it before a reap. */
void disk__ack(struct disk *dk);
/* Blocks until event_fd is readable, and clears it; for draining and benchmarks. */
void disk__wait(struct disk *dk);
/* Waits for every request in flight, then closes the backend. */
void disk__close(struct disk *dk);

#endif
