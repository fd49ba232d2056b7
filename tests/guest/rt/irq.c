/* IDT, local APIC, IOAPIC and the legacy PIC. */
#include "rt.h"

struct idt_entry {
	uint16_t off_lo, selector;
	uint8_t ist, type_attr;
	uint16_t off_mid;
	uint32_t off_hi, reserved;
} __attribute__((packed));

static struct idt_entry idt[RT_NR_VECTORS] __attribute__((aligned(16)));
static rt_handler handlers[RT_NR_VECTORS];
extern char rt_isr_stubs[];

void idt_init(void)
{
	for (unsigned v = 0; v < RT_NR_VECTORS; v++) {
		uint64_t a = (uint64_t)rt_isr_stubs + 16 * v;
		idt[v] = (struct idt_entry){
			.off_lo = (uint16_t)a, .selector = 0x08, .type_attr = 0x8e,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
	idt_load();
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void idt_set_handler(unsigned vector, rt_handler h)
{
	if (vector < RT_NR_VECTORS)
		handlers[vector] = h;
}

void rt_isr_dispatch(struct rt_frame *f);
void rt_isr_dispatch(struct rt_frame *f)
{
	rt_handler h = f->vector < RT_NR_VECTORS ? handlers[f->vector] : 0;
	if (h) {
		h(f);
	} else if (f->vector < 32) {
		rt_printf("FAIL: unexpected exception %u (error %lx) at rip %lx\n", (unsigned)f->vector,
			  f->error, f->rip);
		rt_exit(RT_FAIL_EXCEPTION + (uint32_t)f->vector);
	} else {
		rt_printf("FAIL: unexpected interrupt vector %u\n", (unsigned)f->vector);
		rt_exit(RT_FAIL);
	}
	if (f->vector >= 32)
		lapic_eoi();
}

#define LAPIC_DEFAULT 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_EOI 0xb0
#define LAPIC_SVR 0xf0
#define LAPIC_TPR 0x80
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static uint64_t lapic_base(void)
{
	return rt_acpi.lapic_addr ? rt_acpi.lapic_addr : LAPIC_DEFAULT;
}

void lapic_enable(void)
{
	mmio_write32(lapic_base() + LAPIC_TPR, 0);
	mmio_write32(lapic_base() + LAPIC_SVR, 0x100 | 0xff);
}

uint32_t lapic_id(void)
{
	return mmio_read32(lapic_base() + LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	mmio_write32(lapic_base() + LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	mmio_write32(lapic_base() + LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(lapic_base() + LAPIC_ICR_LO, icr_low);
	while (mmio_read32(lapic_base() + LAPIC_ICR_LO) & (1 << 12)) /* delivery pending */
		cpu_relax();
}

void pic_mask_all(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(rt_acpi.ioapic_addr, reg);
	mmio_write32(rt_acpi.ioapic_addr + 0x10, v);
}

void ioapic_route_gsi(unsigned gsi, unsigned vector, bool level, bool active_low)
{
	if (!rt_acpi.have_ioapic)
		rt_fail("ioapic: the MADT lists no IOAPIC");
	unsigned pin = gsi - rt_acpi.ioapic_gsi_base;
	uint32_t lo = vector | (active_low ? 1u << 13 : 0) | (level ? 1u << 15 : 0);
	ioapic_write(0x11 + 2 * pin, lapic_id() << 24);
	ioapic_write(0x10 + 2 * pin, lo);
}

/* MADT override flags: polarity bits 0-1 (3 = active low), trigger bits 2-3 (3 = level) */
void ioapic_route_isa_irq(unsigned irq, unsigned vector)
{
	uint16_t fl = rt_acpi.isa_flags[irq];
	ioapic_route_gsi(rt_acpi.isa_gsi[irq], vector, ((fl >> 2) & 3) == 3, (fl & 3) == 3);
}
