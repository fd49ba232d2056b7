/* Where the loaders put things in guest memory (docs/vm-machine.md). */
#ifndef STRATA_VM_BOOT_LAYOUT_H
#define STRATA_VM_BOOT_LAYOUT_H

#define LAYOUT_GDT          0x500ull
#define LAYOUT_GDT_SIZE     0x28ull     /* five descriptors (boot.c) */
#define LAYOUT_PVH_INFO     0x6000ull   /* hvm_start_info, then modlist and memmap */
#define LAYOUT_BOOT_PARAMS  0x7000ull
#define LAYOUT_PML4         0x9000ull
#define LAYOUT_PDPT         0xa000ull
#define LAYOUT_PD           0xb000ull   /* four PDs: the first 4 GiB, 2 MiB pages */
#define LAYOUT_CMDLINE      0x20000ull
#define LAYOUT_CMDLINE_MAX  0x10000ull
#define LAYOUT_EBDA         0x9fc00ull  /* MP floating pointer and table */
#define LAYOUT_ACPI         0xe0000ull  /* RSDP, then the other tables */
#define LAYOUT_ACPI_END     0x100000ull
#define LAYOUT_KERNEL       0x100000ull /* default load address */
#define LAYOUT_HIGH_RAM     0x100000ull

#include <stdint.h>

#include "vm/vm.h"

/* What of [start, start + size) strata-vm uses itself for a boot in this mode
 * (boot structures, tables, the command line), or that is not RAM: a name
 * for the error message; NULL when a kernel may load there. */
const char *layout__claimed(const struct vm *vm, enum boot_mode mode, uint64_t start,
			    uint64_t size);

#define IOAPIC_ADDR         0xfec00000u
#define LAPIC_ADDR          0xfee00000u

#endif
