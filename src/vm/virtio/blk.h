/* virtio-blk (virtio 1.x, 5.2) on a disk backend. Its names start with vblk
 * (vblk__parse, struct vblk_req), apart from the block layer's blk_* (src/block). */
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
#define VBLK_ID_MAX 31 /* --disk id=ID: the host's name for a disk in query-devices */

/* A parsed request: the data buffers without the header and status byte. */
struct vblk_req {
	uint32_t type;
	uint64_t sector;
	struct iovec data[VQ_MAX_SEGS];
	unsigned nr_data;
	uint64_t data_len;
	uint8_t *status;
};

/* Splits a chain into header, data and status. Fails (hostile chain: no
 * status byte to answer in, or a header cut short) without touching memory. */
int vblk__parse(const struct vq_elem *e, struct vblk_req *r, struct st_err *err);

/* Checks a parsed request and either answers it at once (returns the status)
 * or fills io for the disk (returns VBLK_STATUS_PENDING). */
#define VBLK_STATUS_PENDING 0xff
uint8_t vblk__prepare(struct disk *dk, const char *serial, struct vblk_req *r, struct disk_io *io);

/* Executes a parsed request on dk synchronously; returns the status to write. */
uint8_t vblk__execute(struct disk *dk, const char *serial, struct vblk_req *r);

/* "--disk" spec: PATH[,ro][,serial=S][,id=ID][,queues=N][,format=F]. */
int virtio_blk__create(struct vm *vm, const char *spec, struct st_err *err);

enum { VBLK_READS, VBLK_WRITES, VBLK_FLUSHES, VBLK_DISCARDS, VBLK_WRITE_ZEROES, VBLK_UNSUPPORTED,
       VBLK_IOERRORS, VBLK_NR_COUNTS };

/* One request from its chain to its completion. */
struct vblk_slot {
	struct disk_io io;
	struct vq_elem elem;
	struct vblk_req req;
	unsigned q;
	struct vblk_slot *next_free;
};

/* The device's data path, apart from the transport (bench/virtio-blk-bench.c
 * drives it directly): requests go to the disk asynchronously, several per
 * queue, and finish in any order. */
struct vblk_engine {
	struct disk *dk;
	const char *serial;
	const struct guest_mem *mem;
	struct virtqueue *vqs;
	unsigned long counts[VBLK_NR_COUNTS];
	unsigned in_flight[VIRTIO_BLK_MAX_QUEUES];
	bool throttled[VIRTIO_BLK_MAX_QUEUES];  /* stopped popping at the in-flight limit */
	struct vblk_slot *free;
};

/* Starts every available request of queue q (up to the limit in flight);
 * requests answered at once (get-id, refused ones) are pushed and counted in
 * *pushed. -1 at a malformed chain (err says why; the ones before it went
 * ahead). disk__commit() is the caller's, after the batch. */
int vblk__serve(struct vblk_engine *be, unsigned q, unsigned *pushed, struct st_err *err);

/* Pushes the requests the disk finished; returns how many, with a bit per
 * queue that got one in *queues. */
unsigned vblk__complete(struct vblk_engine *be, uint32_t *queues);

/* Waits for every request in flight and forgets them (the queues were reset). */
void vblk__drain(struct vblk_engine *be);
void vblk__engine_free(struct vblk_engine *be);

#endif
