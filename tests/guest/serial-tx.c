/* Interrupt-driven serial output, as Linux's 8250 driver does it: enable the
 * THR-empty interrupt, put up to 16 bytes in the FIFO while IIR says THR is
 * empty. How many interrupts that takes depends on the UART's speed. */
#include "rt.h"

#define SERIAL_VECTOR 0x24
#define IER_THRI 0x02
#define IIR_NO_INT 0x01

static const char text[] =
	"serial-tx: the quick brown fox jumps over the lazy dog; "
	"pack my box with five dozen liquor jugs; 0123456789 abcdefghijklmnopqrstuvwxyz\n";
static volatile unsigned sent, irqs;

static void serial_irq(struct rt_frame *f)
{
	(void)f;
	irqs++;
	while (!(inb(COM1 + 2) & IIR_NO_INT)) {
		for (int i = 0; i < 16 && text[sent]; i++)
			outb(COM1, (uint8_t)text[sent++]);
		if (!text[sent])
			outb(COM1 + 1, 0); /* all sent: THRE interrupt off */
	}
}

int guest_main(void)
{
	if (acpi_init() < 0)
		rt_fail("serial-tx: needs the MADT");
	idt_init();
	pic_mask_all();
	lapic_enable();
	idt_set_handler(SERIAL_VECTOR, serial_irq);
	ioapic_route_isa_irq(4, SERIAL_VECTOR);
	outb(COM1 + 1, IER_THRI); /* THR is empty: this raises the first interrupt */
	for (;;) {
		irq_disable();
		if (!text[sent])
			break;
		irq_enable_and_halt();
	}
	irq_enable();
	rt_printf("serial-tx: %u bytes in %u interrupts\n", sent, irqs);
	if (sent != sizeof(text) - 1 || !irqs)
		rt_fail("serial-tx: expected %u bytes sent from the interrupt handler", (unsigned)sizeof(text) - 1);
	rt_puts("serial-tx: PASS\n");
	return 0;
}
