/* virtio across an in-process reboot (--on-reboot restart): the first boot
 * drives virtio-blk with MSI-X, writes a marker to sector 0 and resets the
 * machine with live queues; the second boot finds the device at power-on
 * (status 0), drives it again and checks the marker and the interrupt. */
#include "virtio.h"

static volatile unsigned irqs;
static void on_irq(struct rt_frame *f) { (void)f; irqs++; }

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t req(struct vq *vq, uint32_t type, void *data)
{
	struct blk_hdr *h = vmalloc(sizeof(*h), 16);
	uint8_t *st = vmalloc(1, 1);
	*h = (struct blk_hdr){type, 0, 0};
	*st = 0xee;
	struct vbuf b[3] = {{h, 16, false}, {data, 512, type == 0}, {st, 1, true}};
	vq_submit(vq, b, 3, false);
	if (!vq_wait(vq, 5000, NULL, NULL))
		rt_fail("virtio-reboot: request type %u not answered", type);
	return *st;
}

int guest_main(void)
{
	idt_init();
	lapic_enable();
	idt_set_handler(40, on_irq);
	irq_enable();
	struct vdev d;
	struct vq vq;
	if (!vdev_open(&d, 2, 0))
		rt_fail("virtio-reboot: no virtio-blk");
	if (vdev_status(&d) != 0)
		rt_fail("virtio-reboot: status %02x after reset", vdev_status(&d));
	if (!vdev_negotiate(&d, VIRTIO_F_VERSION_1))
		rt_fail("virtio-reboot: FEATURES_OK refused");
	vq_setup(&d, &vq, 0, 16, 1);
	vdev_msix(&d, 1, 40);
	vdev_driver_ok(&d);
	uint8_t *sector = vmalloc(512, 512);
	if (req(&vq, 0, sector))
		rt_fail("virtio-reboot: read failed");
	for (int t = 0; t < 1000 && !irqs; t++)
		rt_udelay(1000);
	if (!irqs)
		rt_fail("virtio-reboot: no MSI-X interrupt");
	if (!memcmp(sector, "REBOOTED", 8)) {
		rt_puts("virtio-reboot: device served again after the reboot; PASS\n");
		return 0;
	}
	memcpy(sector, "REBOOTED", 8);
	if (req(&vq, 1, sector))
		rt_fail("virtio-reboot: write failed");
	rt_puts("virtio-reboot: marker written, rebooting with live queues\n");
	outb(0x64, 0xfe);
	for (;;)
		cpu_relax();
}
