/* SMP bring-up: counts CPUs in the MADT, wakes every AP with INIT/SIPI/SIPI
 * to a real-mode trampoline below 1 MiB, and passes only if each one reports
 * in from long mode with the APIC id the MADT gave it. Then IPIs both ways:
 * the BSP sends a fixed interrupt to each AP, whose handler answers with one
 * to the BSP (Linux's reschedule and TLB-shootdown IPIs work this way).
 * apic=x2 does it all in x2APIC mode, which Linux picks when CPUID has it. */
#include "rt.h"

#define TRAMPOLINE 0x8000 /* SIPI vector 0x08 */
#define ICR_INIT 0x00004500
#define ICR_SIPI 0x00004600
#define ICR_FIXED 0x00004000
#define PING_VECTOR 0x2e
#define PONG_VECTOR 0x2f

extern const char smp_trampoline[], smp_trampoline_end[];
extern uint32_t boot_cr3;
static volatile uint32_t arrived;
static volatile uint32_t ap_apic_ids[ACPI_MAX_CPUS];
static volatile uint32_t bsp_id, pings, pongs;

static void ping(struct rt_frame *f)
{
	(void)f;
	__atomic_add_fetch(&pings, 1, __ATOMIC_SEQ_CST);
	lapic_send_ipi(bsp_id, ICR_FIXED | PONG_VECTOR);
}

static void pong(struct rt_frame *f)
{
	(void)f;
	__atomic_add_fetch(&pongs, 1, __ATOMIC_SEQ_CST);
}

void ap_main(uint32_t index);
void ap_main(uint32_t index)
{
	idt_load();
	if (rt_x2apic)
		lapic_x2apic_enable();
	lapic_enable();
	if (index < ACPI_MAX_CPUS)
		ap_apic_ids[index] = lapic_id() + 1; /* + 1: 0 means "not yet" */
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	for (;;)
		irq_enable_and_halt();
}

static bool wait_arrived(uint32_t n, uint32_t ms)
{
	for (uint32_t t = 0; t < ms; t++) {
		if (arrived >= n)
			return true;
		rt_udelay(1000);
	}
	return arrived >= n;
}

int guest_main(void)
{
	if (acpi_init() < 0)
		rt_fail("smp: needs the MADT");
	unsigned n = rt_acpi.ncpus;
	char apic[4] = "x";
	rt_cmdline_get("apic", apic, sizeof(apic));
	if (rt_streq(apic, "x2")) {
		if (!lapic_x2apic_enable())
			rt_fail("smp: apic=x2 but CPUID does not offer x2APIC");
		rt_puts("smp: x2APIC mode (ICR through MSR 0x830, as Linux uses it)\n");
	}
	uint32_t bsp = lapic_id();
	rt_printf("smp: MADT lists %u cpus, BSP apic id %u\n", n, bsp);
	bsp_id = bsp;
	idt_init();
	idt_set_handler(PING_VECTOR, ping);
	idt_set_handler(PONG_VECTOR, pong);
	pic_mask_all();
	lapic_enable();
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	boot_cr3 = (uint32_t)cr3;
	memcpy((void *)TRAMPOLINE, smp_trampoline, (size_t)(smp_trampoline_end - smp_trampoline));

	uint32_t woken = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t id = rt_acpi.apic_ids[i];
		if (id == bsp)
			continue;
		woken++;
		rt_printf("smp: INIT to apic id %u\n", id);
		lapic_send_ipi(id, ICR_INIT);
		rt_udelay(10000);
		for (int sipi = 0; sipi < 2 && arrived < woken; sipi++) {
			rt_printf("smp: SIPI %d to apic id %u: ", sipi + 1, id);
			lapic_send_ipi(id, ICR_SIPI | (TRAMPOLINE >> 12));
			wait_arrived(woken, sipi ? 1000 : 10);
		}
		rt_printf("\nsmp: apic id %u %s\n", id, arrived >= woken ? "up" : "did not answer");
	}
	wait_arrived(woken, 5000); /* generous: 64 vCPU threads on a loaded 2-core host */
	unsigned up = 1 + arrived;
	for (unsigned i = 0; i < arrived && i < ACPI_MAX_CPUS; i++)
		rt_printf("smp: ap %u reports apic id %u\n", i, ap_apic_ids[i] - 1);
	rt_printf("smp: %u of %u cpus up\n", up, n);
	if (up != n)
		rt_fail("smp: %u cpu(s) did not come up", n - up);

	/* one AP at a time: IPIs of one vector that meet in the IRR merge into one */
	irq_enable();
	for (unsigned i = 0, sent = 0; i < n; i++) {
		if (rt_acpi.apic_ids[i] == bsp)
			continue;
		lapic_send_ipi(rt_acpi.apic_ids[i], ICR_FIXED | PING_VECTOR);
		sent++;
		for (int t = 0; t < 5000 && pongs < sent; t++)
			rt_udelay(1000);
	}
	irq_disable();
	rt_printf("smp: IPIs: %u of %u APs took one, %u answered\n", pings, n - 1, pongs);
	if (pings != n - 1 || pongs != n - 1)
		rt_fail("smp: IPIs were lost");
	rt_puts("smp: PASS\n");
	return 0;
}
