#include "virtio.h"

#define CF8 0xcf8
#define CFC 0xcfc

static void pci_select(unsigned slot, unsigned off)
{
	outl(CF8, 0x80000000u | (slot << 11) | (off & 0xfc));
}

uint32_t pci_cfg_read32(unsigned slot, unsigned off) { pci_select(slot, off); return inl(CFC); }
uint16_t pci_cfg_read16(unsigned slot, unsigned off) { pci_select(slot, off); return inw(CFC + (off & 2)); }
uint8_t pci_cfg_read8(unsigned slot, unsigned off) { pci_select(slot, off); return inb(CFC + (off & 3)); }
void pci_cfg_write32(unsigned slot, unsigned off, uint32_t v) { pci_select(slot, off); outl(CFC, v); }
void pci_cfg_write16(unsigned slot, unsigned off, uint16_t v) { pci_select(slot, off); outw(CFC + (off & 2), v); }

int pci_find(uint16_t vendor, uint16_t device, unsigned nth)
{
	for (unsigned s = 0; s < 32; s++) {
		uint32_t id = pci_cfg_read32(s, 0);
		if (id == ((uint32_t)device << 16 | vendor) && nth-- == 0)
			return (int)s;
	}
	return -1;
}

static uint8_t arena[24 << 20] __attribute__((aligned(4096)));
static size_t arena_used;

void *vmalloc(size_t size, size_t align)
{
	size_t off = (arena_used + align - 1) & ~(align - 1);
	if (off + size > sizeof(arena))
		rt_fail("vmalloc: arena exhausted (%lu bytes asked)", (unsigned long)size);
	arena_used = off + size;
	return arena + off; /* .bss, never reused: already zero */
}

/* common configuration offsets */
enum { DFSEL = 0, DF = 4, GFSEL = 8, GF = 12, CFG_MSIX = 0x10, NUMQ = 0x12, STATUS = 0x14,
       QSEL = 0x16, QSIZE = 0x18, QMSIX = 0x1a, QENABLE = 0x1c, QNOFF = 0x1e, QDESC = 0x20,
       QAVAIL = 0x28, QUSED = 0x30 };

#define C(d, off) ((uint64_t)(d)->common + (off))

bool vdev_open(struct vdev *d, unsigned type, unsigned nth)
{
	int slot = pci_find(0x1af4, (uint16_t)(0x1040 + type), nth);
	if (slot < 0)
		return false;
	vdev_open_slot(d, (unsigned)slot);
	return true;
}

void vdev_open_slot(struct vdev *d, unsigned slot)
{
	memset(d, 0, sizeof(*d));
	d->slot = (int)slot;
	pci_cfg_write16((unsigned)d->slot, 4, 0x6); /* memory decoding, bus mastering */
	d->bar0 = pci_cfg_read32((unsigned)d->slot, 0x10) & ~0xfu;
	unsigned cap = pci_cfg_read8((unsigned)d->slot, 0x34);
	for (int guard = 0; cap && guard < 48; guard++) {
		uint8_t id = pci_cfg_read8((unsigned)d->slot, cap);
		if (id == 0x09) {
			uint8_t type_ = pci_cfg_read8((unsigned)d->slot, cap + 3);
			uint32_t off = pci_cfg_read32((unsigned)d->slot, cap + 8);
			volatile uint8_t *p = (volatile uint8_t *)(d->bar0 + off);
			if (type_ == 1) d->common = p;
			else if (type_ == 2) {
				d->notify_base = p;
				d->notify_mult = pci_cfg_read32((unsigned)d->slot, cap + 16);
			} else if (type_ == 3) d->isr = p;
			else if (type_ == 4) d->devcfg = p;
		}
		cap = pci_cfg_read8((unsigned)d->slot, cap + 1);
	}
	if (!d->common || !d->notify_base || !d->isr)
		rt_fail("virtio %02x.0: missing capabilities", d->slot);
	vdev_reset(d);
	mmio_write32(C(d, DFSEL), 0);
	d->offered = mmio_read32(C(d, DF));
	mmio_write32(C(d, DFSEL), 1);
	d->offered |= (uint64_t)mmio_read32(C(d, DF)) << 32;
}

void vdev_reset(struct vdev *d)
{
	mmio_write8(C(d, STATUS), 0);
	while (mmio_read8(C(d, STATUS)))
		cpu_relax();
}

uint8_t vdev_status(struct vdev *d) { return mmio_read8(C(d, STATUS)); }

bool vdev_negotiate(struct vdev *d, uint64_t features)
{
	mmio_write8(C(d, STATUS), VIRTIO_S_ACK);
	mmio_write8(C(d, STATUS), VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	mmio_write32(C(d, GFSEL), 0);
	mmio_write32(C(d, GF), (uint32_t)features);
	mmio_write32(C(d, GFSEL), 1);
	mmio_write32(C(d, GF), (uint32_t)(features >> 32));
	mmio_write8(C(d, STATUS), VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	d->accepted = features;
	return mmio_read8(C(d, STATUS)) & VIRTIO_S_FEATURES_OK;
}

void vq_setup(struct vdev *d, struct vq *vq, unsigned q, uint16_t size, uint16_t msix)
{
	memset(vq, 0, sizeof(*vq));
	mmio_write16(C(d, QSEL), (uint16_t)q);
	uint16_t max = mmio_read16(C(d, QSIZE));
	if (!max)
		rt_fail("virtio %02x.0: queue %u does not exist", d->slot, q);
	if (size > max)
		size = max;
	vq->index = q;
	vq->size = size;
	vq->packed = d->accepted & VIRTIO_F_PACKED;
	vq->avail_wrap = vq->used_wrap = true;
	vq->chain = vmalloc(2ul * size, 2);
	vq->desc = vmalloc(16ul * size, 4096);
	/* packed: 4-byte event areas; the driver's stays ENABLE (0): interrupts wanted */
	vq->avail = vmalloc(vq->packed ? 4 : 6 + 2ul * size, 4096);
	vq->used = vmalloc(vq->packed ? 4 : 6 + 8ul * size, 4096);
	vq->indirect = vmalloc(16ul * size * 32, 4096); /* 32 entries per slot */
	mmio_write16(C(d, QSIZE), size);
	mmio_write16(C(d, QMSIX), msix);
	uint64_t a[3] = {(uint64_t)vq->desc, (uint64_t)vq->avail, (uint64_t)vq->used};
	for (int i = 0; i < 3; i++) {
		mmio_write32(C(d, QDESC + 8 * i), (uint32_t)a[i]);
		mmio_write32(C(d, QDESC + 8 * i + 4), (uint32_t)(a[i] >> 32));
	}
	uint16_t noff = mmio_read16(C(d, QNOFF));
	vq->notify = (volatile uint16_t *)(d->notify_base + (uint64_t)noff * d->notify_mult);
	mmio_write16(C(d, QENABLE), 1);
}

void vdev_driver_ok(struct vdev *d)
{
	mmio_write8(C(d, STATUS), (uint8_t)(vdev_status(d) | VIRTIO_S_DRIVER_OK));
}

void vdev_msix(struct vdev *d, unsigned entry, unsigned vector)
{
	unsigned cap = pci_cfg_read8((unsigned)d->slot, 0x34);
	while (cap && pci_cfg_read8((unsigned)d->slot, cap) != 0x11)
		cap = pci_cfg_read8((unsigned)d->slot, cap + 1);
	if (!cap)
		rt_fail("virtio %02x.0: no MSI-X capability", d->slot);
	uint32_t table = pci_cfg_read32((unsigned)d->slot, cap + 4);
	uint64_t e = d->bar0 + (table & ~7u) + 16ull * entry;
	mmio_write32(e, 0xfee00000u | (lapic_id() << 12));
	mmio_write32(e + 4, 0);
	mmio_write32(e + 8, vector);
	mmio_write32(e + 12, 0); /* unmasked */
	uint16_t ctrl = pci_cfg_read16((unsigned)d->slot, cap + 2);
	pci_cfg_write16((unsigned)d->slot, cap + 2, (uint16_t)(ctrl | 0x8000));
}

static void vq_publish(struct vq *vq, uint16_t head)
{
	vq->avail[2 + vq->avail_idx % vq->size] = head;
	__asm__ volatile("mfence" ::: "memory");
	vq->avail[1] = ++vq->avail_idx;
	__asm__ volatile("mfence" ::: "memory");
}

void vq_kick(struct vq *vq)
{
	*vq->notify = (uint16_t)vq->index;
}

/* Packed: descriptors at consecutive ring slots; the first one's flags are
 * written last, which makes the whole buffer available at once. */
uint16_t vq_submit_raw_packed(struct vq *vq, const struct vpdesc *descs, unsigned n)
{
	struct vpdesc *ring = (struct vpdesc *)vq->desc;
	uint16_t first = vq->next_desc, first_flags = 0, id = 0;
	for (unsigned i = 0; i < n; i++) {
		uint16_t slot = vq->next_desc;
		uint16_t flags = (uint16_t)(descs[i].flags | (vq->avail_wrap ? VQ_PDESC_AVAIL : VQ_PDESC_USED));
		ring[slot] = (struct vpdesc){descs[i].addr, descs[i].len, descs[i].id, 0};
		if (i == 0)
			first_flags = flags;
		else
			ring[slot].flags = flags;
		id = descs[i].id;
		if (++vq->next_desc == vq->size)
			vq->next_desc = 0, vq->avail_wrap = !vq->avail_wrap;
	}
	vq->chain[id % vq->size] = (uint16_t)n;
	__asm__ volatile("mfence" ::: "memory");
	*(volatile uint16_t *)&ring[first].flags = first_flags;
	__asm__ volatile("mfence" ::: "memory");
	vq_kick(vq);
	return id;
}

static uint16_t vq_submit_packed(struct vq *vq, const struct vbuf *bufs, unsigned n, bool indirect)
{
	uint16_t id = vq->next_id;
	vq->next_id = (uint16_t)((id + 1) % vq->size);
	struct vpdesc d[32];
	if (n > 32)
		rt_fail("vq_submit: %u buffers in one chain", n);
	for (unsigned i = 0; i < n; i++)
		d[i] = (struct vpdesc){(uint64_t)bufs[i].addr, bufs[i].len, id,
				       (uint16_t)((bufs[i].write ? VQ_DESC_WRITE : 0) |
						  (!indirect && i + 1 < n ? VQ_DESC_NEXT : 0))};
	if (!indirect)
		return vq_submit_raw_packed(vq, d, n);
	struct vpdesc *t = (struct vpdesc *)&vq->indirect[32 * id];
	for (unsigned i = 0; i < n; i++)
		t[i] = d[i];
	struct vpdesc one = {(uint64_t)t, 16 * n, id, VQ_DESC_INDIRECT};
	return vq_submit_raw_packed(vq, &one, 1);
}

uint16_t vq_submit_raw(struct vq *vq, const struct vdesc *descs, unsigned n)
{
	uint16_t head = vq->next_desc;
	for (unsigned i = 0; i < n; i++)
		vq->desc[(head + i) % vq->size] = descs[i];
	vq->next_desc = (uint16_t)((head + n) % vq->size);
	vq_publish(vq, head);
	vq_kick(vq);
	return head;
}

uint16_t vq_submit(struct vq *vq, const struct vbuf *bufs, unsigned n, bool indirect)
{
	if (vq->packed)
		return vq_submit_packed(vq, bufs, n, indirect);
	uint16_t head = vq->next_desc;
	if (indirect) {
		if (n > 32)
			rt_fail("vq_submit: %u buffers do not fit an indirect table", n);
		struct vdesc *t = &vq->indirect[32 * head];
		for (unsigned i = 0; i < n; i++)
			t[i] = (struct vdesc){(uint64_t)bufs[i].addr, bufs[i].len,
					      (uint16_t)((bufs[i].write ? VQ_DESC_WRITE : 0) |
							 (i + 1 < n ? VQ_DESC_NEXT : 0)),
					      (uint16_t)(i + 1)};
		vq->desc[head] = (struct vdesc){(uint64_t)t, 16 * n, VQ_DESC_INDIRECT, 0};
		vq->next_desc = (uint16_t)((head + 1) % vq->size);
	} else {
		for (unsigned i = 0; i < n; i++) {
			uint16_t idx = (uint16_t)((head + i) % vq->size);
			vq->desc[idx] = (struct vdesc){(uint64_t)bufs[i].addr, bufs[i].len,
						       (uint16_t)((bufs[i].write ? VQ_DESC_WRITE : 0) |
								  (i + 1 < n ? VQ_DESC_NEXT : 0)),
						       (uint16_t)((idx + 1) % vq->size)};
		}
		vq->next_desc = (uint16_t)((head + n) % vq->size);
	}
	vq_publish(vq, head);
	vq_kick(vq);
	return head;
}

/* Packed: the next used entry is where the driver's used position stands,
 * once both AVAIL and USED equal its wrap counter. */
static bool vq_used_packed(struct vq *vq, uint16_t *id, uint32_t *len)
{
	volatile struct vpdesc *e = (volatile struct vpdesc *)vq->desc + vq->last_used;
	uint16_t flags = e->flags, want = vq->used_wrap ? VQ_PDESC_AVAIL | VQ_PDESC_USED : 0;
	if ((flags & (VQ_PDESC_AVAIL | VQ_PDESC_USED)) != want)
		return false;
	__asm__ volatile("mfence" ::: "memory");
	uint16_t bid = e->id;
	if (id) *id = bid;
	if (len) *len = e->len;
	unsigned step = vq->chain[bid % vq->size];
	vq->last_used = (uint16_t)(vq->last_used + (step ? step : 1));
	if (vq->last_used >= vq->size)
		vq->last_used = (uint16_t)(vq->last_used - vq->size), vq->used_wrap = !vq->used_wrap;
	return true;
}

bool vq_wait(struct vq *vq, unsigned ms, uint16_t *id, uint32_t *len)
{
	volatile uint16_t *used_idx = (volatile uint16_t *)(vq->used + 2);
	for (unsigned t = 0; t <= ms * 10; t++) {
		if (vq->packed) {
			if (vq_used_packed(vq, id, len))
				return true;
			rt_udelay(100);
			continue;
		}
		if (*used_idx != vq->last_used) {
			__asm__ volatile("mfence" ::: "memory");
			volatile uint32_t *e = (volatile uint32_t *)(vq->used + 4 + 8 * (vq->last_used % vq->size));
			if (id) *id = (uint16_t)e[0];
			if (len) *len = e[1];
			vq->last_used++;
			/* event index: ask for an interrupt at the next completion */
			vq->avail[2 + vq->size] = vq->last_used;
			return true;
		}
		rt_udelay(100);
	}
	return false;
}
