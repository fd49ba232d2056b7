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

#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN (1u << 11)
#define X2APIC_MSR(reg) (0x800 + ((reg) >> 4))

bool rt_x2apic;

static uint64_t lapic_base(void)
{
	return rt_acpi.lapic_addr ? rt_acpi.lapic_addr : LAPIC_DEFAULT;
}

/* xAPIC registers through MMIO, or the same registers as MSRs in x2APIC mode */
static uint32_t lapic_read(uint32_t reg)
{
	return rt_x2apic ? (uint32_t)rt_rdmsr(X2APIC_MSR(reg)) : mmio_read32(lapic_base() + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (rt_x2apic)
		rt_wrmsr(X2APIC_MSR(reg), v);
	else
		mmio_write32(lapic_base() + reg, v);
}

bool lapic_x2apic_enable(void)
{
	uint32_t r[4];
	rt_cpuid(1, 0, r);
	if (!(r[2] & (1u << 21)))
		return false;
	rt_wrmsr(MSR_APIC_BASE, rt_rdmsr(MSR_APIC_BASE) | APIC_BASE_EN | APIC_BASE_EXTD);
	rt_x2apic = true;
	return true;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return rt_x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	if (rt_x2apic) { /* one 64-bit write, no delivery-status bit */
		rt_wrmsr(X2APIC_MSR(LAPIC_ICR_LO), (uint64_t)apic_id << 32 | icr_low);
		return;
	}
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
