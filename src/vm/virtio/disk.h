/* The block backend virtio-blk drives: raw files today; the block layer's
 * qcow2 images slot in behind the same operations. */
#ifndef STRATA_VM_VIRTIO_DISK_H
#define STRATA_VM_VIRTIO_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"

struct disk;

struct disk_ops {
	/* Transfer exactly the iovecs' total length at byte offset off; < 0 with errno set. */
	int (*readv)(struct disk *dk, const struct iovec *iov, int n, uint64_t off);
	int (*writev)(struct disk *dk, const struct iovec *iov, int n, uint64_t off);
	int (*flush)(struct disk *dk);
	int (*discard)(struct disk *dk, uint64_t off, uint64_t len);
	int (*write_zeroes)(struct disk *dk, uint64_t off, uint64_t len, bool may_unmap);
	void (*close)(struct disk *dk);
};

struct disk {
	const struct disk_ops *ops;
	uint64_t size;          /* bytes */
	bool read_only;
	int fd;                 /* raw images */
	void *opaque;           /* the block layer's image */
};

/* Opens a raw image; read_only opens it O_RDONLY. */
int disk__open_raw(const char *path, bool read_only, struct disk **out, struct st_err *err);

/* Any image the block layer knows (format "raw", "qcow2", or NULL to probe);
 * raw goes straight to disk__open_raw. */
int disk__open(const char *path, const char *format, bool read_only, struct disk **out,
	       struct st_err *err);

#endif
