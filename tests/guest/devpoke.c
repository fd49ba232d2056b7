/* Random reads and writes to every port of the machine's devices (serial,
 * i8042, CMOS, PIT, port 0x61, ACPI PM1 and GPE0, the PCI hotplug registers
 * at 0xAE00 (B0EJ writes nobody asked for are ignored), unassigned ports): the VMM must
 * survive all of it (in the sanitizer build, without a memory error). Writes
 * that would end the VM are left out: reset and pulse commands to the i8042,
 * SLP_EN, the debug-exit port; and COM1's THR, to keep the console readable.
 * seed=N and count=N on the command line vary it. */
#include "rt.h"

static uint64_t state;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static const struct {
	uint16_t base, len;
} ranges[] = {
	{ 0x3f8, 8 }, { 0x60, 1 }, { 0x64, 1 }, { 0x70, 2 }, { 0x40, 4 }, { 0x61, 1 },
	{ 0x600, 6 }, { 0x2f8, 8 }, { 0xcf8, 8 }, { 0x80, 1 }, { 0x92, 1 }, { 0xcf9, 1 },
	{ 0x620, 4 }, { 0xae00, 16 },
};

static bool dangerous(uint16_t port, uint32_t v, unsigned size, uint16_t pm1_cnt)
{
	if (port == COM1 || port == DEBUG_EXIT_PORT || port == 0x92 || port == 0xcf9)
		return true; /* 0x92 bit 0 and 0xcf9 0x06 are resets on real PCs */
	if (port == 0x64 && (v & 0xff) >= 0xd0)
		return true; /* output-port writes, pulse and reset commands */
	if (port <= pm1_cnt + 1 && port + size > pm1_cnt)
		return true; /* SLP_EN */
	return false;
}

int guest_main(void)
{
	state = rt_cmdline_u64("seed", 0x9e3779b97f4a7c15ull) | 1;
	uint64_t count = rt_cmdline_u64("count", 20000);
	struct acpi_pm pm = { .cnt_blk = 0x604 };
	if (acpi_init() == 0)
		acpi_pm_init(&pm);
	rt_printf("devpoke: %lu accesses, seed %lx\n", count, state);
	unsigned reads = 0, writes = 0;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t r = next();
		unsigned k = (unsigned)(r % (sizeof(ranges) / sizeof(ranges[0])));
		uint16_t port = ranges[k].base + (uint16_t)((r >> 8) % ranges[k].len);
		unsigned size = 1u << ((r >> 16) % 3);
		uint32_t v = (uint32_t)(r >> 32);
		if ((r >> 20) & 1) {
			if (dangerous(port, v, size, pm.cnt_blk))
				continue;
			if (size == 1)
				outb(port, (uint8_t)v);
			else if (size == 2)
				outw(port, (uint16_t)v);
			else
				outl(port, v);
			writes++;
		} else {
			if (size == 1)
				(void)inb(port);
			else if (size == 2)
				(void)inw(port);
			else
				(void)inl(port);
			reads++;
		}
	}
	serial_init();
	outb(0x70, 0x0b); /* back to the BCD 24-hour RTC the runtime expects */
	outb(0x71, 0x02);
	rt_printf("\ndevpoke: %u reads, %u writes; the VM is still here\n", reads, writes);
	rt_puts("devpoke: PASS\n");
	return 0;
}
