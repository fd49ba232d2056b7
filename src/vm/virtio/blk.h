/* virtio-blk (virtio 1.x, 5.2) on a disk backend. */
#ifndef STRATA_VM_VIRTIO_BLK_H
#define STRATA_VM_VIRTIO_BLK_H

#include <stdint.h>

#include "common/err.h"
#include "vm/virtio/disk.h"
#include "vm/virtio/virtqueue.h"

struct vm;
struct virtio_dev;

enum {
	VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1, VIRTIO_BLK_T_FLUSH = 4, VIRTIO_BLK_T_GET_ID = 8,
	VIRTIO_BLK_T_DISCARD = 11, VIRTIO_BLK_T_WRITE_ZEROES = 13,
};
enum { VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2 };
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_MAX_QUEUES 8

/* A parsed request: the data buffers without the header and status byte. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	struct iovec data[VQ_MAX_SEGS];
	unsigned nr_data;
	uint64_t data_len;
	uint8_t *status;
};

/* Splits a chain into header, data and status. Fails (hostile chain: no
 * status byte to answer in, or a header cut short) without touching memory. */
int blk__parse(const struct vq_elem *e, struct blk_req *r, struct st_err *err);

/* Executes a parsed request on dk; returns the status to write. */
uint8_t blk__execute(struct disk *dk, const char *serial, struct blk_req *r);

/* "--disk" spec: PATH[,ro][,serial=S][,queues=N]. */
int virtio_blk__create(struct vm *vm, const char *spec, struct st_err *err);

enum { BLK_READS, BLK_WRITES, BLK_FLUSHES, BLK_DISCARDS, BLK_WRITE_ZEROES, BLK_UNSUPPORTED,
       BLK_IOERRORS, BLK_NR_COUNTS };

struct blk_scratch {
	struct vq_elem elem;
	struct blk_req req;
};

/* Serves every available request of a queue (the device's data path, also
 * driven directly by bench/virtio-blk-bench.c); *served says how many. -1 at a
 * malformed chain (err says why; the ones before it were served). */
int blk__serve(struct virtqueue *vq, const struct guest_mem *mem, struct disk *dk,
	       const char *serial, struct blk_scratch *s, unsigned long counts[BLK_NR_COUNTS],
	       unsigned *served, struct st_err *err);

#endif
