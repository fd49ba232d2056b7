/* Reset: by default 0xfe to the i8042's port 0x64; with via=acpi, the FADT's
 * reset register and value (what Linux tries first, reboot=acpi). The VM must
 * end there (strata-vm --on-reboot=exit: status 3). A FADT without a reset
 * register ends with status 77 (nothing to test). */
#include "rt.h"

#define FADT_RESET_REG_SUP (1u << 10)
#define NOTHING_TO_TEST 77

static void acpi_reset(void)
{
	if (acpi_init() < 0)
		rt_fail("reset: no ACPI tables");
	const uint8_t *f = (const uint8_t *)acpi_find("FACP", 0);
	if (!f)
		rt_fail("reset: no FADT");
	uint32_t len, flags = 0;
	memcpy(&len, f + 4, 4);
	if (len >= 129)
		memcpy(&flags, f + 112, 4);
	if (!(flags & FADT_RESET_REG_SUP)) {
		rt_printf("reset: the FADT (length %u, flags %x) has no reset register\n", len, flags);
		rt_exit(NOTHING_TO_TEST);
	}
	uint8_t space = f[116], width = f[117], value = f[128];
	uint64_t addr;
	memcpy(&addr, f + 120, 8);
	rt_printf("reset: writing %x to the FADT reset register (space %u, %u bits, address %lx)\n", value, space,
		  width, addr);
	if (space == 1)
		outb((uint16_t)addr, value);
	else if (space == 0)
		*(volatile uint8_t *)addr = value;
	else
		rt_fail("reset: reset register in address space %u (PCI config?) not handled here", space);
}

int guest_main(void)
{
	char via[8] = "i8042";
	rt_cmdline_get("via", via, sizeof(via));
	if (rt_streq(via, "acpi")) {
		acpi_reset();
	} else {
		rt_puts("reset: writing 0xfe to port 0x64\n");
		outb(0x64, 0xfe);
	}
	rt_udelay(500000);
	rt_fail("reset: still running 0.5 s after the reset request");
}
