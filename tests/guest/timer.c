/* Timer interrupts: the in-kernel PIT on IRQ 0 (through the MADT override
 * and the IOAPIC) and the local APIC timer, calibrated against the PIT the
 * way Linux does. Passes when both deliver interrupts; prints the rates. */
#include "rt.h"

#define PIT_VECTOR 0x20
#define LAPIC_TIMER_VECTOR 0x2c
#define PIT_HZ 1193182u
#define TICK_HZ 100
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR 0x390
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_PERIODIC (1u << 17)
#define LVT_MASKED (1u << 16)

static volatile unsigned pit_ticks, lapic_ticks;

static void pit_irq(struct rt_frame *f) { (void)f; pit_ticks++; }
static void lapic_timer_irq(struct rt_frame *f) { (void)f; lapic_ticks++; }

static uint64_t lapic(void) { return rt_acpi.lapic_addr; }

/* waits with interrupts on until *counter reaches n; fails after ~5 s of RTC time */
static void wait_count(volatile unsigned *counter, unsigned n, const char *what)
{
	struct rtc_time t;
	rtc_read(&t);
	unsigned last = t.sec, seconds = 0;
	irq_enable();
	while (*counter < n) {
		outb(0x70, 0x00);
		unsigned s = inb(0x71);
		if (s != last)
			last = s, seconds++;
		if (seconds > 5) {
			irq_disable();
			rt_fail("timer: %u of %u %s interrupts in 5 s", *counter, n, what);
		}
		cpu_relax();
	}
	irq_disable();
}

int guest_main(void)
{
	if (acpi_init() < 0)
		rt_fail("timer: needs the MADT");
	idt_init();
	pic_mask_all();
	lapic_enable();
	idt_set_handler(PIT_VECTOR, pit_irq);
	idt_set_handler(LAPIC_TIMER_VECTOR, lapic_timer_irq);
	rt_printf("timer: PIT irq 0 -> gsi %u\n", rt_acpi.isa_gsi[0]);
	ioapic_route_isa_irq(0, PIT_VECTOR);
	uint16_t div = PIT_HZ / TICK_HZ;
	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 (rate generator) */
	outb(0x40, (uint8_t)div);
	outb(0x40, (uint8_t)(div >> 8));
	wait_count(&pit_ticks, 10, "PIT");
	rt_printf("timer: %u PIT interrupts\n", pit_ticks);

	/* LAPIC timer, one-shot from the top, read across 10 PIT ticks */
	mmio_write32(lapic() + LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	mmio_write32(lapic() + LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR | LVT_MASKED);
	unsigned start = pit_ticks;
	wait_count(&pit_ticks, start + 1, "PIT");
	mmio_write32(lapic() + LAPIC_TIMER_INIT, 0xffffffff);
	wait_count(&pit_ticks, start + 11, "PIT");
	uint32_t counted = 0xffffffff - mmio_read32(lapic() + LAPIC_TIMER_CUR);
	rt_printf("timer: LAPIC timer counted %u in 10 PIT ticks (%u kHz bus at divide 16)\n", counted,
		  (unsigned)((uint64_t)counted * 16 * TICK_HZ / 10 / 1000));
	if (!counted)
		rt_fail("timer: the LAPIC timer does not count");

	/* periodic LAPIC timer at ~the PIT's rate: its interrupts must come */
	mmio_write32(lapic() + LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR | LVT_PERIODIC);
	mmio_write32(lapic() + LAPIC_TIMER_INIT, counted / 10 ? counted / 10 : 1);
	unsigned pit_before = pit_ticks;
	wait_count(&lapic_ticks, 10, "LAPIC timer");
	mmio_write32(lapic() + LAPIC_LVT_TIMER, LVT_MASKED);
	rt_printf("timer: %u LAPIC timer interrupts while %u PIT interrupts came\n", lapic_ticks,
		  pit_ticks - pit_before);
	rt_puts("timer: PASS\n");
	return 0;
}
