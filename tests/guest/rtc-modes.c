/* CMOS fidelity beyond a plain read, as Linux's rtc-cmos and nvram drivers
 * use it: register B's binary and 12-hour modes change how the same time
 * reads; NVRAM bytes keep what is written; a written time is kept (QEMU keeps
 * it as an offset from the host clock, so does strata-vm). The host test runs
 * it at fixed clock bases (AM, PM, midnight) as well as at the host's time. */
#include "rt.h"

static uint8_t cmos_rd(uint8_t reg) { outb(0x70, reg); return inb(0x71); }
static void cmos_wr(uint8_t reg, uint8_t v) { outb(0x70, reg); outb(0x71, v); }
static unsigned bcd(uint8_t v) { return (v >> 4) * 10 + (v & 0xf); }

#define TRIES 5 /* a field may tick between two reads, not five times */

static void wait_not_updating(void)
{
	while (cmos_rd(0x0a) & 0x80)
		cpu_relax();
}

int guest_main(void)
{
	uint8_t b = cmos_rd(0x0b);
	rt_printf("rtc-modes: register B %x (%s, %s)\n", b, b & 4 ? "binary" : "BCD", b & 2 ? "24h" : "12h");

	/* the same minute in BCD and binary */
	unsigned min_bcd = 0, min_bin = 0, tries = 0;
	do {
		if (tries++ == TRIES)
			rt_fail("rtc-modes: minute %u in BCD mode, %u in binary mode", min_bcd, min_bin);
		wait_not_updating();
		cmos_wr(0x0b, (b & ~0x04) | 0x02);
		min_bcd = bcd(cmos_rd(0x02));
		cmos_wr(0x0b, b | 0x04 | 0x02);
		min_bin = cmos_rd(0x02);
	} while (min_bcd != min_bin && min_bin != (min_bcd + 1) % 60); /* a minute may tick between */
	rt_printf("rtc-modes: minute %u as BCD, %u as binary\n", min_bcd, min_bin);

	/* 12-hour mode: hour 1..12 with bit 7 for PM, matching the 24-hour value */
	unsigned h24 = 0, h12;
	uint8_t raw12 = 0;
	tries = 0;
	do {
		if (tries++ == TRIES)
			rt_fail("rtc-modes: hour %u in 24h mode, raw %x in 12h mode", h24, raw12);
		wait_not_updating();
		cmos_wr(0x0b, (b | 0x04) | 0x02);
		h24 = cmos_rd(0x04);
		cmos_wr(0x0b, (b | 0x04) & ~0x02);
		raw12 = cmos_rd(0x04);
		h12 = (raw12 & 0x7f) % 12 + ((raw12 & 0x80) ? 12 : 0);
	} while (h24 != h12 && h12 != (h24 + 1) % 24);
	rt_printf("rtc-modes: hour %u in 24h mode, raw %x in 12h mode\n", h24, raw12);
	if ((raw12 & 0x7f) < 1 || (raw12 & 0x7f) > 12)
		rt_fail("rtc-modes: 12-hour mode hour %x is not 1..12", raw12);

	/* NVRAM keeps bytes */
	cmos_wr(0x40, 0xa5);
	cmos_wr(0x41, 0x5a);
	uint8_t n0 = cmos_rd(0x40), n1 = cmos_rd(0x41);
	rt_printf("rtc-modes: nvram 0x40/0x41 read back %x %x\n", n0, n1);

	/* set the year (binary mode, SET bit held while writing) and read it back */
	cmos_wr(0x0b, b | 0x80 | 0x04 | 0x02);
	cmos_wr(0x09, 37);
	cmos_wr(0x0b, b | 0x04 | 0x02);
	wait_not_updating();
	unsigned year = cmos_rd(0x09);
	rt_printf("rtc-modes: year written 37, reads %u\n", year);
	cmos_wr(0x0b, b);

	if (year != 37)
		rt_fail("rtc-modes: the year written was not kept");
	if (n0 != 0xa5 || n1 != 0x5a)
		rt_fail("rtc-modes: NVRAM did not keep the bytes written");
	rt_puts("rtc-modes: PASS\n");
	return 0;
}
