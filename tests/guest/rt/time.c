/* Busy-wait delays on PIT channel 2 and the CMOS real-time clock. */
#include "rt.h"

#define PIT_HZ 1193182u

/* one-shot countdown of at most 65535 ticks (~55 ms), gated by port 0x61 */
static void pit_wait_ticks(uint16_t ticks)
{
	uint8_t gate = inb(0x61);
	outb(0x61, (gate & ~0x02) | 0x01); /* speaker off, gate on */
	outb(0x43, 0xb0);                  /* channel 2, lo/hi, mode 0 */
	outb(0x42, (uint8_t)ticks);
	outb(0x42, (uint8_t)(ticks >> 8));
	while (!(inb(0x61) & 0x20)) /* OUT2 goes high at terminal count */
		cpu_relax();
	outb(0x61, gate);
}

void rt_udelay(uint32_t us)
{
	uint64_t ticks = (uint64_t)us * PIT_HZ / 1000000;
	while (ticks) {
		uint16_t t = ticks > 0xffff ? 0xffff : (uint16_t)(ticks ? ticks : 1);
		pit_wait_ticks(t);
		ticks -= t;
	}
}

static uint8_t cmos_read(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned from_bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

static void rtc_read_raw(uint8_t r[8])
{
	while (cmos_read(0x0a) & 0x80) /* update in progress */
		cpu_relax();
	static const uint8_t regs[8] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09, 0x32, 0x0b };
	for (int i = 0; i < 8; i++)
		r[i] = cmos_read(regs[i]);
}

void rtc_read(struct rtc_time *t)
{
	uint8_t a[8], b[8];
	/* read until two reads agree, so an update cannot tear the value */
	rtc_read_raw(a);
	for (;;) {
		rtc_read_raw(b);
		if (!memcmp(a, b, sizeof(a)))
			break;
		memcpy(a, b, sizeof(a));
	}
	bool binary = a[7] & 0x04, h24 = a[7] & 0x02;
	t->sec = from_bcd(a[0], binary);
	t->min = from_bcd(a[1], binary);
	t->hour = from_bcd(a[2] & 0x7f, binary);
	if (!h24 && (a[2] & 0x80))
		t->hour = (t->hour % 12) + 12;
	else if (!h24 && t->hour == 12)
		t->hour = 0;
	t->day = from_bcd(a[3], binary);
	t->month = from_bcd(a[4], binary);
	unsigned century = from_bcd(a[6], binary);
	t->year = (century ? century : 20) * 100 + from_bcd(a[5], binary);
}
