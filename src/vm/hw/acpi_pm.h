/* ACPI fixed hardware: PM1a event/control blocks, the PM timer, the power
 * button and S5 (soft off), and the GPE0 block (general-purpose events: bit 1
 * is PCI hotplug, pci_hotplug.h). The FADT (boot/acpi.c) points here. */
#ifndef STRATA_VM_HW_ACPI_PM_H
#define STRATA_VM_HW_ACPI_PM_H

#include "common/err.h"

#define ACPI_PM1_EVT   0x600
#define ACPI_PM1_CNT   0x604
#define ACPI_PM_TMR    0x608
#define ACPI_PM_LEN    12
#define ACPI_GPE0_BLK  0x620  /* status 0x620-0x621, enable 0x622-0x623 */
#define ACPI_GPE0_LEN  4
#define ACPI_SCI_IRQ   9
#define ACPI_S5_TYP    5

struct vm;
struct acpi_pm;

int acpi_pm__init(struct vm *vm, struct st_err *err);
/* Power-on state (for a reboot). */
void acpi_pm__reset(struct acpi_pm *pm);
/* Presses the power button: PWRBTN_STS, then an SCI if the guest enabled it. */
void acpi_pm__power_button(struct acpi_pm *pm);
/* Raises general-purpose event bit: its GPE0 status, then an SCI if enabled. */
void acpi_pm__raise_gpe(struct acpi_pm *pm, unsigned bit);

#endif
