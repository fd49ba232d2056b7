/* ACPI power button: enables PWRBTN in PM1a_EN, waits for PWRBTN_STS (the
 * test sends "powerdown" on the control socket), acknowledges it and powers
 * off. Default mode waits for the SCI (IOAPIC -> IDT); mode=poll polls. */
#include "rt.h"

#define SCI_VECTOR 0x29
#define PM1_PWRBTN (1u << 8)

static struct acpi_pm pm;
static volatile unsigned scis, presses;

static void sci_irq(struct rt_frame *f)
{
	(void)f;
	scis++;
	uint16_t sts = inw(pm.evt_blk);
	if (sts & PM1_PWRBTN) {
		presses++;
		outw(pm.evt_blk, PM1_PWRBTN); /* write 1 to clear, drops the SCI */
	}
}

int guest_main(void)
{
	if (acpi_init() < 0 || acpi_pm_init(&pm) < 0)
		rt_fail("pwrbtn: no usable FADT");
	char mode[8] = "sci";
	rt_cmdline_get("mode", mode, sizeof(mode));
	bool poll = rt_streq(mode, "poll");
	uint16_t en = pm.evt_blk + pm.evt_len / 2;
	acpi_enable_sci(&pm);
	outw(pm.evt_blk, PM1_PWRBTN);
	if (!poll) {
		idt_init();
		pic_mask_all();
		lapic_enable();
		idt_set_handler(SCI_VECTOR, sci_irq);
		acpi_route_sci(&pm, SCI_VECTOR);
	}
	outw(en, inw(en) | PM1_PWRBTN);
	rt_printf("pwrbtn: waiting for the power button (%s, PM1a_STS %x, PM1a_EN %x)\n", poll ? "poll" : "sci",
		  pm.evt_blk, en);
	if (poll) {
		while (!(inw(pm.evt_blk) & PM1_PWRBTN))
			cpu_relax();
		outw(pm.evt_blk, PM1_PWRBTN);
		presses++;
	} else {
		for (;;) {
			irq_disable();
			if (presses)
				break;
			irq_enable_and_halt();
		}
		irq_enable();
	}
	if (inw(pm.evt_blk) & PM1_PWRBTN)
		rt_fail("pwrbtn: PWRBTN_STS did not clear on write-1");
	rt_printf("pwrbtn: pressed (%u SCIs)\n", scis);
	int typ = acpi_s5_slp_typ(pm.dsdt);
	acpi_poweroff(&pm, typ < 0 ? 5 : typ);
	rt_udelay(500000);
	rt_fail("pwrbtn: still running 0.5 s after SLP_EN");
}
