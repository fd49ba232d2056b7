/* Accesses nobody claims must not end the VM: port reads float high (0xff,
 * as on real hardware, which Linux's probes of COM2-4, the floppy or VGA rely
 * on), writes are dropped, and MMIO outside RAM and the APICs reads back
 * without a fault. */
#include "rt.h"

static const uint16_t ports[] = { 0x80, 0x2f8, 0x2fd, 0x3e8, 0x2e8, 0x3f2, 0x3c4, 0x1f7, 0x278, 0xcf8 };

int guest_main(void)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		outb(ports[i], 0x5a);
		uint8_t v = inb(ports[i]);
		rt_printf("unassigned: port %x reads %x\n", ports[i], v);
		if (ports[i] != 0x80 && ports[i] != 0xcf8 && v != 0xff)
			bad++;
	}
	uint32_t w = inl(0xcfc);
	rt_printf("unassigned: port cfc (32-bit) reads %x\n", w);
	/* MMIO holes: between RAM top and the IOAPIC, and the HPET's usual place */
	static const uint64_t holes[] = { 0xd0000000, 0xfed00000 };
	for (unsigned i = 0; i < 2; i++) {
		mmio_write32(holes[i], 0x12345678);
		rt_printf("unassigned: mmio %lx reads %x\n", holes[i], mmio_read32(holes[i]));
	}
	if (bad)
		rt_fail("unassigned: %u port(s) did not read 0xff", bad);
	rt_puts("unassigned: PASS\n");
	return 0;
}
