/* Serial input: echoes what arrives on COM1 until a newline, then reports
 * the line. Default mode takes the bytes in the IRQ 4 handler (IOAPIC ->
 * IDT); mode=poll polls the line status register instead. */
#include "rt.h"

#define SERIAL_VECTOR 0x24
#define LSR_DATA_READY 0x01

static volatile char ring[256];
static volatile unsigned head, tail, irqs;

static void serial_irq(struct rt_frame *f)
{
	(void)f;
	irqs++;
	while (inb(COM1 + 5) & LSR_DATA_READY)
		ring[head++ % sizeof(ring)] = (char)inb(COM1);
}

static char getc_irq(void)
{
	for (;;) {
		irq_disable();
		if (tail != head) {
			char c = ring[tail++ % sizeof(ring)];
			irq_enable();
			return c;
		}
		irq_enable_and_halt();
	}
}

static char getc_poll(void)
{
	while (!(inb(COM1 + 5) & LSR_DATA_READY))
		cpu_relax();
	return (char)inb(COM1);
}

int guest_main(void)
{
	char mode[8] = "irq";
	rt_cmdline_get("mode", mode, sizeof(mode));
	bool poll = rt_streq(mode, "poll");
	if (!poll) {
		if (acpi_init() < 0)
			rt_fail("serial-echo: needs the MADT for IRQ routing");
		idt_init();
		pic_mask_all();
		lapic_enable();
		idt_set_handler(SERIAL_VECTOR, serial_irq);
		ioapic_route_isa_irq(4, SERIAL_VECTOR);
		outb(COM1 + 1, 0x01); /* IER: received data available */
	}
	rt_printf("serial-echo: ready (%s)\n", poll ? "poll" : "irq");
	char line[128];
	unsigned n = 0;
	for (;;) {
		char c = poll ? getc_poll() : getc_irq();
		if (c == '\r' || c == '\n')
			break;
		serial_putc(c);
		if (n + 1 < sizeof(line))
			line[n++] = c;
	}
	line[n] = 0;
	outb(COM1 + 1, 0x00);
	rt_printf("\nserial-echo: line '%s' (%u bytes, %u interrupts)\n", line, n, irqs);
	if (!poll && !irqs)
		rt_fail("serial-echo: bytes arrived without an interrupt");
	rt_puts("serial-echo: PASS\n");
	return 0;
}
