/* A minimal virtio 1.x driver for the test guests: PCI config access through
 * 0xCF8/0xCFC, the virtio-pci modern capabilities, split or packed (when
 * VIRTIO_F_PACKED was negotiated) virtqueues with direct or indirect chains, MSI-X vectors to the BSP, completion by polling
 * the used ring. Deliberately able to build malformed chains too (hostile
 * guests). */
#ifndef STRATA_GUEST_VIRTIO_H
#define STRATA_GUEST_VIRTIO_H

#include "rt.h"

uint32_t pci_cfg_read32(unsigned slot, unsigned off);
uint16_t pci_cfg_read16(unsigned slot, unsigned off);
uint8_t pci_cfg_read8(unsigned slot, unsigned off);
void pci_cfg_write32(unsigned slot, unsigned off, uint32_t v);
void pci_cfg_write16(unsigned slot, unsigned off, uint16_t v);
/* slot of the nth (from 0) function with these IDs on bus 0, or -1 */
int pci_find(uint16_t vendor, uint16_t device, unsigned nth);

#define VIRTIO_F_INDIRECT   (1ull << 28)
#define VIRTIO_F_EVENT_IDX  (1ull << 29)
#define VIRTIO_F_VERSION_1  (1ull << 32)
#define VIRTIO_F_PACKED     (1ull << 34)
#define VIRTIO_S_ACK 1
#define VIRTIO_S_DRIVER 2
#define VIRTIO_S_DRIVER_OK 4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 0x40
#define VQ_DESC_NEXT 1
#define VQ_DESC_WRITE 2
#define VQ_DESC_INDIRECT 4

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* A packed ring's descriptor (flags: VQ_DESC_*; AVAIL and USED are added). */
struct vpdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t id, flags;
};
#define VQ_PDESC_AVAIL (1u << 7)
#define VQ_PDESC_USED  (1u << 15)

struct vq {
	unsigned index;
	uint16_t size;
	bool packed;                /* packed: desc is the ring of struct vpdesc, avail and
				     * used the driver and device event areas */
	bool avail_wrap, used_wrap;
	uint16_t next_id;
	uint16_t *chain;            /* packed: ring slots each buffer id took */
	struct vdesc *desc;
	volatile uint16_t *avail;   /* flags, idx, ring[], used_event */
	volatile uint8_t *used;     /* flags, idx, {id, len}[], avail_event */
	uint16_t next_desc, avail_idx, last_used;
	volatile uint16_t *notify;
	struct vdesc *indirect;     /* one indirect table per descriptor slot */
};

struct vdev {
	int slot;
	uint64_t bar0;
	volatile uint8_t *common, *isr, *devcfg, *notify_base;
	uint32_t notify_mult;
	uint64_t offered, accepted;
};

/* A buffer of a chain. */
struct vbuf {
	const void *addr;
	uint32_t len;
	bool write;
};

/* Bump allocator over a static arena (zeroed, page-aligned chunks by align). */
void *vmalloc(size_t size, size_t align);

/* Finds the virtio device of this type (1 net, 2 blk, 4 rng...), nth of them,
 * resets it and reads its capabilities; false if absent. */
bool vdev_open(struct vdev *d, unsigned type, unsigned nth);
/* The same for the virtio function in this slot (it must be one). */
void vdev_open_slot(struct vdev *d, unsigned slot);
void vdev_reset(struct vdev *d);
uint8_t vdev_status(struct vdev *d);
/* ACK|DRIVER, writes the features; returns whether FEATURES_OK stuck. */
bool vdev_negotiate(struct vdev *d, uint64_t features);
/* Sets up queue q with size entries and an MSI-X vector (0xffff: none). */
void vq_setup(struct vdev *d, struct vq *vq, unsigned q, uint16_t size, uint16_t msix);
void vdev_driver_ok(struct vdev *d);
/* Points MSI-X table entry e at the BSP's LAPIC with this IDT vector, enables MSI-X. */
void vdev_msix(struct vdev *d, unsigned entry, unsigned vector);

/* Queues a chain (indirect: through one indirect table) and notifies; returns the head. */
uint16_t vq_submit(struct vq *vq, const struct vbuf *bufs, unsigned n, bool indirect);
/* Puts raw descriptors (possibly malformed) at the head of the free slots and
 * makes desc[first] available. */
uint16_t vq_submit_raw(struct vq *vq, const struct vdesc *descs, unsigned n);
/* Packed: puts raw descriptors (their ids as given, AVAIL/USED added) in the
 * ring and makes them available; returns the id of the last. */
uint16_t vq_submit_raw_packed(struct vq *vq, const struct vpdesc *descs, unsigned n);
void vq_kick(struct vq *vq);
/* Waits up to ms for the next used entry; true with its id and length. */
bool vq_wait(struct vq *vq, unsigned ms, uint16_t *id, uint32_t *len);

static inline uint8_t mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline void mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }

#endif
