/* ACPI PCI hotplug of virtio-blk disks, done the way a guest's AML does it
 * (docs/virtio.md, "Disk hotplug"), driven by the host test
 * (tests/integration/vm/virtio/test_hotplug.py) through the control socket:
 *  - GPE0 from the FADT (0x620, 4 bytes): bit 1 enabled, the SCI routed;
 *  - attach: the host's disk-attach raises GPE 1; the SCI handler sees the
 *    status bit and clears it (write 1); PCIU (0xAE00) names one new slot and
 *    reads 0 the second time; the slot holds a virtio-blk function, which is
 *    driven with an MSI-X vector: 8 sectors read from sector 0, printed as
 *    "hotplug: slot S reads <first 16 bytes> fnv <FNV-1a 64 of 4 KiB>";
 *  - detach: the host's disk-detach raises GPE 1 again; PCID (0xAE04) names
 *    the slot and keeps it on a second read; the guest writes the slot's bit
 *    to B0EJ (0xAE08, what _EJ0 does) and the slot must then read vendor
 *    0xffff, and PCID must have dropped the bit. Odd rounds reset the device
 *    first, as a driver's remove does; even rounds eject it with live queues.
 * Options: rounds=N (default 1); ejectwait=1 (after PCID, print "removal of
 * slot S requested" and wait for a byte on COM1 before ejecting, so the host
 * can look at the pending state); bogus=1 (first write B0EJ twice for a slot
 * whose removal nobody asked: ignored, the host sees one warning);
 * reboot=1 (after the rounds one more disk is attached and the machine reset
 * with it; the boot after — told apart by a disk present at start — finds
 * it without any event, with the hotplug registers cleared, reads it, and
 * detaches it in one more round); hold=1 (at the end, print "hotplug: done"
 * and wait for a byte on COM1, so the host can look before the VM ends);
 * dsdt=1 (print the DSDT in hex for iasl and stop). */
#include "virtio.h"

#define SCI_VECTOR 0x29
#define CFG_VECTOR 39
#define Q_VECTOR 40
#define GPE_HOTPLUG 0x02
#define PCIU 0xae00
#define PCID 0xae04
#define B0EJ 0xae08
#define RMV 0xae0c
#define READ_BYTES 4096

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct acpi_pm pm;
static uint16_t gpe_sts, gpe_en;
static volatile unsigned gpes, scis, qirqs;

static void sci_irq(struct rt_frame *f)
{
	(void)f;
	scis++;
	if (inb(gpe_sts) & GPE_HOTPLUG) {
		gpes++;
		outb(gpe_sts, GPE_HOTPLUG); /* write 1 to clear: the SCI drops */
	}
}

static void q_irq(struct rt_frame *f) { (void)f; qirqs++; }

static void wait_gpe(unsigned before)
{
	for (;;) {
		irq_disable();
		if (gpes != before)
			break;
		irq_enable_and_halt();
	}
	irq_enable();
	if (inb(gpe_sts) & GPE_HOTPLUG)
		rt_fail("hotplug: GPE status bit 1 did not clear on write-1");
}

static uint32_t one_slot(uint32_t bits, const char *what)
{
	if (!bits || (bits & (bits - 1)))
		rt_fail("hotplug: %s is %x, expected exactly one slot", what, bits);
	return (uint32_t)__builtin_ctz(bits);
}

static void wait_console_byte(void)
{
	while (!(inb(COM1 + 5) & 1)) /* LSR: data ready */
		cpu_relax();
	(void)inb(COM1);
}

static int pass(void)
{
	rt_printf("hotplug: %u GPEs, %u SCIs\n", gpes, scis);
	if (rt_cmdline_u64("hold", 0)) {
		rt_puts("hotplug: done\n");
		wait_console_byte();
	}
	rt_puts("hotplug: PASS\n");
	return 0;
}

static void dump_dsdt(void)
{
	const uint8_t *p = (const uint8_t *)pm.dsdt;
	static const char hex[] = "0123456789abcdef";
	rt_printf("dsdt-begin %u\n", pm.dsdt->length);
	for (uint32_t off = 0; off < pm.dsdt->length; off += 32) {
		char line[80];
		unsigned n = 0;
		for (uint32_t i = off; i < off + 32 && i < pm.dsdt->length; i++) {
			line[n++] = hex[p[i] >> 4];
			line[n++] = hex[p[i] & 15];
		}
		line[n] = 0;
		rt_printf("dsdt-hex %s\n", line);
	}
	rt_puts("dsdt-end\n");
}

/* Reads 8 sectors from sector 0 of the virtio-blk in slot and prints them. */
static struct vdev read_disk(unsigned slot, const char *when)
{
	if (pci_cfg_read32(slot, 0) != 0x10421af4)
		rt_fail("hotplug: slot %u holds %08x, not a virtio-blk", slot, pci_cfg_read32(slot, 0));
	struct vdev d;
	struct vq vq;
	vdev_open_slot(&d, slot);
	if (!vdev_negotiate(&d, VIRTIO_F_VERSION_1))
		rt_fail("hotplug: slot %u refused FEATURES_OK", slot);
	mmio_write16((uint64_t)d.common + 0x10, 0); /* config changes: MSI-X entry 0 */
	vq_setup(&d, &vq, 0, 16, 1);
	vdev_msix(&d, 0, CFG_VECTOR);
	vdev_msix(&d, 1, Q_VECTOR);
	vdev_driver_ok(&d);
	struct blk_hdr *h = vmalloc(sizeof(*h), 16);
	uint8_t *data = vmalloc(READ_BYTES, 4096), *st = vmalloc(1, 1);
	*h = (struct blk_hdr){0, 0, 0};
	*st = 0xee;
	struct vbuf b[3] = {{h, sizeof(*h), false}, {data, READ_BYTES, true}, {st, 1, true}};
	unsigned irqs_before = qirqs;
	vq_submit(&vq, b, 3, false);
	if (!vq_wait(&vq, 5000, NULL, NULL))
		rt_fail("hotplug: slot %u: the read got no answer", slot);
	if (*st != 0)
		rt_fail("hotplug: slot %u: read status %u", slot, *st);
	for (int t = 0; t < 1000 && qirqs == irqs_before; t++)
		rt_udelay(1000);
	if (qirqs == irqs_before)
		rt_fail("hotplug: slot %u: no MSI-X interrupt for the read", slot);
	uint64_t fnv = 0xcbf29ce484222325ull;
	for (unsigned i = 0; i < READ_BYTES; i++)
		fnv = (fnv ^ data[i]) * 0x100000001b3ull;
	rt_printf("hotplug: %s slot %u reads ", when, slot);
	for (unsigned i = 0; i < 16; i++)
		rt_printf("%02x", data[i]);
	rt_printf(" fnv %016lx\n", (unsigned long)fnv);
	return d;
}

static unsigned attach(unsigned round, bool reboot_round, struct vdev *d)
{
	unsigned before = gpes; /* the host acts as soon as it sees the line */
	rt_printf("hotplug: round %u: waiting for attach\n", round);
	wait_gpe(before);
	uint32_t up = inl(PCIU);
	if (inl(PCIU) != 0)
		rt_fail("hotplug: PCIU was not cleared by the read");
	if (inl(PCID) != 0)
		rt_fail("hotplug: PCID %x at an attach", inl(PCID));
	unsigned slot = one_slot(up, "PCIU");
	if (!(inl(RMV) & (1u << slot)))
		rt_fail("hotplug: slot %u is not in RMV %x", slot, inl(RMV));
	*d = read_disk(slot, reboot_round ? "before reboot" : "attached");
	return slot;
}

static void detach(unsigned round, unsigned slot, struct vdev *live)
{
	unsigned before = gpes;
	rt_printf("hotplug: round %u: waiting for detach of slot %u\n", round, slot);
	wait_gpe(before);
	uint32_t down = inl(PCID);
	if (inl(PCID) != down)
		rt_fail("hotplug: PCID changed on a second read");
	if (one_slot(down, "PCID") != slot)
		rt_fail("hotplug: PCID %x, expected slot %u", down, slot);
	if (inl(PCIU) != 0)
		rt_fail("hotplug: PCIU %x at a detach", inl(PCIU));
	if (rt_cmdline_u64("ejectwait", 0)) {
		rt_printf("hotplug: removal of slot %u requested\n", slot);
		wait_console_byte();
	}
	if (live && round % 2)
		vdev_reset(live); /* as a driver's remove does; even rounds leave the queues live */
	outl(B0EJ, 1u << slot);
	if (pci_cfg_read16(slot, 0) != 0xffff)
		rt_fail("hotplug: slot %u still reads vendor %04x after the eject", slot,
			pci_cfg_read16(slot, 0));
	if (inl(PCID) & (1u << slot))
		rt_fail("hotplug: PCID %x still names slot %u after the eject", inl(PCID), slot);
	rt_printf("hotplug: round %u: slot %u ejected\n", round, slot);
}

int guest_main(void)
{
	if (acpi_init() < 0 || acpi_pm_init(&pm) < 0)
		rt_fail("hotplug: no usable FADT");
	const uint8_t *fadt = (const uint8_t *)acpi_find("FACP", 0);
	uint32_t gpe0;
	memcpy(&gpe0, fadt + 80, 4);
	uint8_t gpe0_len = fadt[92];
	if (gpe0 != 0x620 || gpe0_len != 4)
		rt_fail("hotplug: FADT GPE0_BLK %x length %u, expected 0x620 and 4", gpe0, gpe0_len);
	gpe_sts = (uint16_t)gpe0;
	gpe_en = (uint16_t)(gpe0 + gpe0_len / 2);
	if (rt_cmdline_u64("dsdt", 0)) {
		dump_dsdt();
		return 0;
	}
	idt_init();
	pic_mask_all();
	lapic_enable();
	idt_set_handler(SCI_VECTOR, sci_irq);
	idt_set_handler(CFG_VECTOR, q_irq);
	idt_set_handler(Q_VECTOR, q_irq);
	acpi_route_sci(&pm, SCI_VECTOR);
	acpi_enable_sci(&pm);
	irq_enable();

	if (rt_cmdline_u64("bogus", 0)) {
		outl(B0EJ, 1u << 29); /* nobody asked: ignored, one warning */
		outl(B0EJ, 1u << 29);
	}
	uint32_t rmv = inl(RMV);
	rt_printf("hotplug: RMV %08x\n", rmv);
	bool reboot = rt_cmdline_u64("reboot", 0);
	int present = pci_find(0x1af4, 0x1042, 0);
	if (inb(gpe_en) != 0 || inb(gpe_sts) != 0)
		rt_fail("hotplug: GPE0 status %x enable %x at start", inb(gpe_sts), inb(gpe_en));
	outb(gpe_en, GPE_HOTPLUG);
	if (inb(gpe_en) != GPE_HOTPLUG)
		rt_fail("hotplug: GPE0 enable reads %x", inb(gpe_en));

	if (reboot && present >= 0) {
		/* The boot after the reset: the disk is there from the start. */
		if (inl(PCIU) || inl(PCID))
			rt_fail("hotplug: PCIU %x PCID %x after the reboot", inl(PCIU), inl(PCID));
		struct vdev d = read_disk((unsigned)present, "after reboot");
		detach(1, (unsigned)present, &d);
		return pass();
	}
	unsigned rounds = (unsigned)rt_cmdline_u64("rounds", 1);
	for (unsigned r = 1; r <= rounds; r++) {
		struct vdev d;
		unsigned slot = attach(r, false, &d);
		detach(r, slot, &d);
	}
	if (reboot) {
		struct vdev d;
		unsigned slot = attach(rounds + 1, true, &d);
		rt_printf("hotplug: rebooting with slot %u attached\n", slot);
		outb(0x64, 0xfe);
		for (;;)
			cpu_relax();
	}
	return pass();
}
