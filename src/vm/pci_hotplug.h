/* ACPI PCI hotplug, QEMU's PIIX4 scheme (docs/virtio.md, "Disk hotplug"):
 * four 32-bit registers at I/O port 0xAE00 that the DSDT's AML reads when GPE
 * bit 1 fires, with one bit per slot of bus 0:
 *   0xAE00 PCIU  slots that got a device since the last read (read clears)
 *   0xAE04 PCID  slots whose device the host wants removed (kept until ejected)
 *   0xAE08 B0EJ  written by the guest's _EJ0: those slots' devices go
 *   0xAE0C RMV   the hotplug-capable slots (read-only)
 * vCPU threads access the registers, the control socket (main thread) raises
 * the events; an eject hides the device at once and the main loop then shuts
 * it down (pci__unplug). */
#ifndef STRATA_VM_PCI_HOTPLUG_H
#define STRATA_VM_PCI_HOTPLUG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define PCI_HOTPLUG_PORT 0xae00
#define PCI_HOTPLUG_LEN  16
#define PCI_HOTPLUG_GPE  1      /* GPE0 bit of PCI hotplug events (\_GPE._E01) */

struct vm;
struct pci_hotplug;

/* The registers' ports; vm->pci must exist. */
int pci_hotplug__init(struct vm *vm, struct st_err *err);
/* Once the main loop exists: the watch that runs ejects there. */
int pci_hotplug__watch(struct pci_hotplug *hp, struct st_err *err);
/* A device was published in slot: PCIU and the GPE. */
void pci_hotplug__plugged(struct pci_hotplug *hp, unsigned slot);
/* Asks the guest to eject slot's device: PCID and the GPE; fails if that is
 * already asked or the slot cannot lose its device. */
int pci_hotplug__request_unplug(struct pci_hotplug *hp, unsigned slot, struct st_err *err);
/* The slot's device awaits the guest's eject. */
bool pci_hotplug__unplug_pending(struct pci_hotplug *hp, unsigned slot);
/* Shuts down the devices the guest ejected (main thread). */
void pci_hotplug__run_ejects(struct pci_hotplug *hp);
/* Machine reset: ejects accepted before it are finished, the registers
 * cleared (a removal still waiting is dropped: the device stays). */
void pci_hotplug__reset(struct pci_hotplug *hp);

#endif
