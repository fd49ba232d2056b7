/* ACPI pieces for the PCI host bridge, for boot/acpi.c to place. */
#ifndef STRATA_VM_PCI_ACPI_H
#define STRATA_VM_PCI_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct pci_bus;

/* AML for Scope (\_SB) { PCI0 (hotplug slots of bus included), MRES } and
 * Scope (\_GPE) { _E01 }; returns its length, 0 if it does not fit in cap
 * (nothing is written past cap). */
size_t pci__acpi_dsdt(const struct pci_bus *bus, uint8_t *out, size_t cap);

/* The MCFG table after its 36-byte header; returns the length (24). */
size_t pci__acpi_mcfg_body(uint8_t *out);

#endif
