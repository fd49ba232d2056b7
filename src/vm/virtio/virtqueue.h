/* Virtqueues, split (virtio 1.x, 2.7) and packed (2.8): the device side. The
 * chain walker
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
/* packed rings: descriptor flags and event suppression */
#define VIRTQ_DESC_F_AVAIL (1u << 7)
#define VIRTQ_DESC_F_USED  (1u << 15)
#define VIRTQ_EVENT_F_ENABLE  0
#define VIRTQ_EVENT_F_DISABLE 1
#define VIRTQ_EVENT_F_DESC    2

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* A packed ring's descriptor. */
struct virtq_pdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};

struct virtqueue {
	/* set by the driver through the transport (packed: the descriptor ring,
	 * the driver and the device event suppression areas) */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool enabled;
	uint16_t msix_vector;
	bool packed;            /* VIRTIO_F_RING_PACKED negotiated: set before vq__start */
	/* device state */
	bool event_idx;         /* VIRTIO_F_RING_EVENT_IDX negotiated */
	bool broken;            /* a hostile chain was seen: no more processing */
	uint16_t last_avail;    /* packed: ring position of the next buffer */
	uint16_t used_idx;      /* packed: ring position of the next used entry */
	bool avail_wrap, used_wrap;  /* packed: wrap counters */
	uint16_t signalled_used;  /* used_idx at the last interrupt */
	bool signalled_valid;
	uint32_t published;       /* buffers returned, ever (both kinds) */
	struct virtq_desc *desc;  /* host views, valid once started */
	uint16_t *avail;          /* flags, idx, ring[size], used_event; packed: driver area */
	uint8_t *used;            /* flags, idx, ring[size] of {id, len}, avail_event;
				   * packed: device area */
	uint16_t chain_len[VQ_MAX_SIZE];  /* packed: ring slots each buffer id took */
};

/* Where the next buffer comes from: to give back what was popped since. */
struct vq_mark {
	uint16_t last_avail;
	bool avail_wrap;
};

/* A buffer returned to the driver. */
struct vq_used {
	uint16_t id;
	uint32_t len;
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

/* Gives back the chains popped since the mark (unused). */
struct vq_mark vq__mark(const struct virtqueue *vq);
void vq__rewind(struct virtqueue *vq, const struct vq_mark *m);

/* Returns a request with len bytes written into its in buffers. */
void vq__push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* Returns n requests; the driver sees all of them at once. */
void vq__push_n(struct virtqueue *vq, const struct vq_used *u, unsigned n);

/* Whether the driver wants an interrupt for what was pushed since the last one
 * (event index or the NO_INTERRUPT flag). Records that it was signalled. */
bool vq__should_notify(struct virtqueue *vq);

/* Copies between a chain's buffers and flat memory, from byte offset skip. */
size_t iov__to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf, size_t len);
size_t iov__from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
		     size_t len);

#endif
