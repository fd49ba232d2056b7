/* virtio-blk data paths through the project's own driver (rt/virtio.c):
 * writes patterns with direct and indirect chains, large and misaligned
 * buffers, on every queue at once, reads them back, and exercises get-id,
 * flush, write-zeroes, discard, out-of-range and unsupported requests, a
 * read-only disk and MSI-X interrupts. The host then checks the image file
 * byte by byte (tests/integration/vm/virtio/test_virtio_guests.py). "packed=1"
 * on the command line runs packed rings; "intx=1" leaves MSI-X off and takes
 * INTx (the GSI in the interrupt line register, level-triggered, ISR read to
 * lower it).
 * Disk 0 must be writable and >= 8 MiB; disk 1, if present, read-only. */
#include "virtio.h"

#define SECTOR 512
#define QVEC 40
#define CFGVEC 39
#define INTXVEC 38

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static volatile unsigned irqs, intx_irqs;
static void blk_irq(struct rt_frame *f) { (void)f; irqs++; }
static struct vdev dev;

/* INTx: reading the ISR status lowers the line before the EOI. */
static void intx_irq(struct rt_frame *f)
{
	(void)f;
	if (mmio_read8((uint64_t)dev.isr))
		irqs++, intx_irqs++;
}

/* The pattern the host recomputes: one 64-bit word per 8 bytes of disk,
 * a function of the word's disk offset (word-sized: guest code is slow here). */
static uint64_t pat(uint64_t off)
{
	return (off + 0x5a5a5a5a5a5a5a5aull) * 0x9e3779b97f4a7c15ull;
}

static struct vq vqs[8];
static unsigned nq;

static uint8_t do_req(struct vq *vq, uint32_t type, uint64_t sector, void *data, uint32_t len,
		      unsigned split, bool indirect)
{
	struct blk_hdr *h = vmalloc(sizeof(*h), 16);
	uint8_t *status = vmalloc(1, 1);
	*h = (struct blk_hdr){type, 0, sector};
	*status = 0xee;
	struct vbuf b[32];
	unsigned n = 0;
	b[n++] = (struct vbuf){h, sizeof(*h), false};
	bool dev_writes = type == 0 || type == 8;
	/* Data split into uneven pieces: the device must not assume any framing. */
	uint32_t left = len, off = 0;
	for (unsigned i = 0; i < split && left; i++) {
		uint32_t piece = i + 1 == split ? left : (left / (split - i)) + (i * 37) % 200;
		if (piece > left) piece = left;
		b[n++] = (struct vbuf){(uint8_t *)data + off, piece, dev_writes};
		off += piece, left -= piece;
	}
	b[n++] = (struct vbuf){status, 1, true};
	uint16_t head = vq_submit(vq, b, n, indirect), id;
	uint32_t used_len;
	if (!vq_wait(vq, 5000, &id, &used_len))
		rt_fail("virtio-blk: request type %u sector %lu got no answer", type, (unsigned long)sector);
	if (id != head)
		rt_fail("virtio-blk: used id %u, expected %u", id, head);
	return *status;
}

/* disk_off and len are multiples of 8; p may be misaligned (x86 allows it). */
static void fill(uint8_t *p, uint64_t disk_off, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8)
		*(uint64_t *)(p + i) = pat(disk_off + i);
}

static void check(const uint8_t *p, uint64_t disk_off, uint32_t len, const char *what)
{
	for (uint32_t i = 0; i < len; i += 8)
		if (*(const uint64_t *)(p + i) != pat(disk_off + i))
			rt_fail("virtio-blk: %s: word at %u reads %lx, expected %lx", what, i,
				(unsigned long)*(const uint64_t *)(p + i), (unsigned long)pat(disk_off + i));
}

static void open_blk(unsigned nth, uint64_t want)
{
	if (!vdev_open(&dev, 2, nth))
		rt_fail("virtio-blk: device %u not found", nth);
	if (!vdev_negotiate(&dev, dev.offered & want))
		rt_fail("virtio-blk: FEATURES_OK refused");
	nq = (dev.offered & (1ull << 12)) ? mmio_read16((uint64_t)dev.devcfg + 34) : 1;
	if (nq > 8) nq = 8;
	mmio_write16((uint64_t)dev.common + 0x10, 0); /* config changes on entry 0 */
	for (unsigned q = 0; q < nq; q++)
		vq_setup(&dev, &vqs[q], q, 128, (uint16_t)(q + 1));
	if (rt_cmdline_u64("intx", 0) && nth == 0) {
		unsigned gsi = pci_cfg_read8((unsigned)dev.slot, 0x3c);
		if (pci_cfg_read8((unsigned)dev.slot, 0x3d) != 1 || gsi < 16)
			rt_fail("virtio-blk: no INTA# routed (pin %u, line %u)",
				pci_cfg_read8((unsigned)dev.slot, 0x3d), gsi);
		ioapic_route_gsi(gsi, INTXVEC, true, true);
		rt_printf("virtio-blk: INTx on GSI %u\n", gsi);
	} else {
		vdev_msix(&dev, 0, CFGVEC);
		for (unsigned q = 0; q < nq; q++)
			vdev_msix(&dev, q + 1, QVEC + q);
	}
	vdev_driver_ok(&dev);
}

int guest_main(void)
{
	idt_init();
	lapic_enable();
	for (unsigned v = CFGVEC; v < QVEC + 8; v++)
		idt_set_handler(v, blk_irq);
	idt_set_handler(INTXVEC, intx_irq);
	if (rt_cmdline_u64("intx", 0) && acpi_init() < 0)
		rt_fail("virtio-blk: no ACPI tables for the IOAPIC");
	irq_enable();

	uint64_t want = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT | VIRTIO_F_EVENT_IDX |
			      (1ull << 12) | (1ull << 9) | (1ull << 13) | (1ull << 14);
	if (rt_cmdline_u64("packed", 0))
		want |= VIRTIO_F_PACKED;
	open_blk(0, want);
	if (vqs[0].packed)
		rt_puts("virtio-blk: packed rings\n");
	uint64_t capacity = (uint64_t)mmio_read32((uint64_t)dev.devcfg) |
			    (uint64_t)mmio_read32((uint64_t)dev.devcfg + 4) << 32;
	rt_printf("virtio-blk: %lu sectors, %u queues, features %lx\n", (unsigned long)capacity, nq,
		  (unsigned long)dev.offered);
	if (capacity < 16384)
		rt_fail("virtio-blk: disk 0 is smaller than 8 MiB");

	/* 1 MiB at offset 0 from a misaligned buffer, one direct chain. */
	uint8_t *big = vmalloc((1 << 20) + 64, 4096) + 3;
	fill(big, 0, 1 << 20);
	if (do_req(&vqs[0], 1, 0, big, 1 << 20, 1, false))
		rt_fail("virtio-blk: 1 MiB write failed");
	/* 64 KiB at 1 MiB in five uneven pieces through an indirect table. */
	uint8_t *mid = vmalloc(65536 + 64, 4096) + 17;
	fill(mid, 1 << 20, 65536);
	if (do_req(&vqs[nq > 1], 1, 2048, mid, 65536, 5, true))
		rt_fail("virtio-blk: indirect write failed");
	/* 4 KiB writes on every queue at once (two per queue), then wait for all. */
	uint8_t *small[16], *st[16];
	uint16_t heads[16];
	for (unsigned i = 0; i < 2 * nq; i++) {
		struct vq *vq = &vqs[i % nq];
		uint64_t sector = 4096 + 8 * i;
		struct blk_hdr *h = vmalloc(sizeof(*h), 16);
		*h = (struct blk_hdr){1, 0, sector};
		small[i] = vmalloc(4096, 4096);
		st[i] = vmalloc(1, 1);
		*st[i] = 0xee;
		fill(small[i], sector * SECTOR, 4096);
		struct vbuf b[3] = {{h, 16, false}, {small[i], 4096, false}, {st[i], 1, true}};
		heads[i] = vq_submit(vq, b, 3, i & 1);
	}
	for (unsigned i = 0; i < 2 * nq; i++) {
		uint16_t id;
		if (!vq_wait(&vqs[i % nq], 5000, &id, NULL) || *st[i] != 0)
			rt_fail("virtio-blk: concurrent write %u failed (status %u)", i, *st[i]);
		(void)heads;
	}
	/* Read everything back, in 16 pieces through an indirect table. */
	uint8_t *rd = vmalloc((1 << 20) + 64, 4096) + 5;
	if (do_req(&vqs[nq - 1], 0, 0, rd, 1 << 20, 16, true))
		rt_fail("virtio-blk: 1 MiB read failed");
	check(rd, 0, 1 << 20, "1 MiB read-back");
	if (do_req(&vqs[0], 0, 2048, rd, 65536, 3, false))
		rt_fail("virtio-blk: 64 KiB read failed");
	check(rd, 1 << 20, 65536, "64 KiB read-back");
	if (do_req(&vqs[0], 0, 4096, rd, 8192 * nq, 2, true))
		rt_fail("virtio-blk: concurrent region read failed");
	check(rd, 4096 * SECTOR, 8192 * nq, "per-queue writes read-back");

	/* get-id: the serial the host set on the command line */
	char want_serial[32] = {0}, id[21] = {0};
	rt_cmdline_get("serial", want_serial, sizeof(want_serial));
	if (do_req(&vqs[0], 8, 0, id, 20, 1, false))
		rt_fail("virtio-blk: get-id failed");
	if (!rt_streq(id, want_serial))
		rt_fail("virtio-blk: get-id says '%s', expected '%s'", id, want_serial);
	if (do_req(&vqs[0], 4, 0, NULL, 0, 0, false))
		rt_fail("virtio-blk: flush failed");

	/* write-zeroes over 8 sectors at 6144 and a discard of 8 at 6160, both
	 * written with the pattern first; the host checks they read as zeros */
	uint8_t *pz = vmalloc(8192, 4096);
	fill(pz, 6144 * SECTOR, 8192);
	if (do_req(&vqs[0], 1, 6144, pz, 8192, 1, false))
		rt_fail("virtio-blk: pattern write at 6144 failed");
	fill(pz, 6160 * SECTOR, 4096);
	if (do_req(&vqs[0], 1, 6160, pz, 4096, 1, false))
		rt_fail("virtio-blk: pattern write at 6160 failed");
	struct { uint64_t sector; uint32_t num, flags; } seg = {6144, 8, 0};
	if (do_req(&vqs[0], 13, 0, &seg, sizeof(seg), 1, false))
		rt_fail("virtio-blk: write-zeroes failed");
	seg = (typeof(seg)){6160, 8, 0};
	if (do_req(&vqs[0], 11, 0, &seg, sizeof(seg), 1, false))
		rt_fail("virtio-blk: discard failed");
	if (do_req(&vqs[0], 0, 6144, rd, 4096, 1, false))
		rt_fail("virtio-blk: read after write-zeroes failed");
	for (int i = 0; i < 4096; i += 8)
		if (*(uint64_t *)(rd + i))
			rt_fail("virtio-blk: write-zeroes left word %d = %lx", i, (unsigned long)*(uint64_t *)(rd + i));

	/* refused requests: past the end, unknown type */
	uint8_t s = do_req(&vqs[0], 0, capacity, rd, 512, 1, false);
	if (s != 1)
		rt_fail("virtio-blk: read past the end answered %u, expected IOERR", s);
	s = do_req(&vqs[0], 99, 0, NULL, 0, 0, false);
	if (s != 2)
		rt_fail("virtio-blk: unknown type answered %u, expected UNSUPP", s);
	if (!irqs)
		rt_fail("virtio-blk: no interrupt arrived");
	if (rt_cmdline_u64("intx", 0) && intx_irqs != irqs)
		rt_fail("virtio-blk: %u MSI-X interrupts with MSI-X off", irqs - intx_irqs);
	rt_printf("virtio-blk: disk 0 OK (%u interrupts, %u INTx)\n", irqs, intx_irqs);

	if (pci_find(0x1af4, 0x1042, 1) >= 0) {
		open_blk(1, want | (1ull << 5));
		if (!(dev.offered & (1ull << 5)))
			rt_fail("virtio-blk: disk 1 does not offer VIRTIO_BLK_F_RO");
		if (do_req(&vqs[0], 0, 0, rd, 4096, 1, false))
			rt_fail("virtio-blk: read of the read-only disk failed");
		fill(pz, 0, 4096);
		s = do_req(&vqs[0], 1, 0, pz, 4096, 1, false);
		if (s != 1)
			rt_fail("virtio-blk: write to the read-only disk answered %u, expected IOERR", s);
		rt_puts("virtio-blk: read-only disk 1 refuses writes\n");
	}
	rt_puts("virtio-blk: PASS\n");
	return 0;
}
