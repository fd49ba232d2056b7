/* Split virtqueues (virtio 1.x, 2.7): the device side. The chain walker
 * treats every ring field as hostile: loops, out-of-RAM buffers, chains longer
 * than the queue, zero lengths, nested or malformed indirect tables and a
 * readable descriptor after a writable one are all refused with one error,
 * never followed. */
#ifndef STRATA_VM_VIRTIO_VIRTQUEUE_H
#define STRATA_VM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/err.h"
#include "vm/memory.h"

#define VQ_MAX_SIZE 1024        /* queue sizes we offer; also the chain limit */
#define VQ_MAX_SEGS 1024        /* buffers in one chain (direct + indirect) */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct virtqueue {
	/* set by the driver through the transport */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool enabled;
	uint16_t msix_vector;
	/* device state */
	bool event_idx;         /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool broken;            /* a hostile chain was seen: no more processing */
	uint16_t last_avail;
	uint16_t used_idx;
	uint16_t signalled_used;  /* used_idx at the last interrupt */
	bool signalled_valid;
	struct virtq_desc *desc;  /* host views, valid once started */
	uint16_t *avail;          /* flags, idx, ring[size], used_event */
	uint8_t *used;            /* flags, idx, ring[size] of {id, len}, avail_event */
};

/* One request: out (device-readable) buffers first, then in (writable) ones. */
struct vq_elem {
	uint16_t head;
	unsigned nr_out, nr_in;
	uint64_t out_len, in_len;
	struct iovec iov[VQ_MAX_SEGS];
};

/* Maps the rings; refuses rings outside RAM or a bad size. */
int vq__start(struct virtqueue *vq, const struct guest_mem *mem, bool event_idx,
	      struct st_err *err);
void vq__reset(struct virtqueue *vq);

/* 1: e holds the next request; 0: nothing available; -1: the ring or the
 * chain is malformed (err says how; the queue should be considered broken). */
int vq__pop(struct virtqueue *vq, const struct guest_mem *mem, struct vq_elem *e,
	    struct st_err *err);

/* Gives back the chains popped since last_avail was old (unused). */
void vq__rewind(struct virtqueue *vq, uint16_t old);

/* Returns a request with len bytes written into its in buffers. */
void vq__push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* Whether the driver wants an interrupt for what was pushed since the last one
 * (event index or the NO_INTERRUPT flag). Records that it was signalled. */
bool vq__should_notify(struct virtqueue *vq);

/* Copies between a chain's buffers and flat memory, from byte offset skip. */
size_t iov__to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov__from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		     size_t len);

#endif
