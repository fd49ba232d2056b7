/* ACPI power-off: PM1a control block from the FADT, SLP_TYPa from the
 * DSDT's \_S5 package, then SLP_TYP|SLP_EN; the VM must end (status 0). */
#include "rt.h"

int guest_main(void)
{
	struct acpi_pm pm;
	if (acpi_init() < 0 || acpi_pm_init(&pm) < 0)
		rt_fail("poweroff: no usable FADT");
	int typ = acpi_s5_slp_typ(pm.dsdt);
	if (typ < 0) {
		typ = 5;
		rt_puts("poweroff: no \\_S5 in the DSDT, using SLP_TYP 5 (docs/vm-machine.md)\n");
	}
	acpi_enable_sci(&pm);
	rt_printf("poweroff: SLP_TYP %d to PM1a_CNT %x\n", typ, pm.cnt_blk);
	acpi_poweroff(&pm, typ);
	rt_udelay(500000);
	rt_fail("poweroff: still running 0.5 s after SLP_EN");
}
