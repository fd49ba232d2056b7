/* What strata-vm itself places in guest RAM for a boot, so that a kernel may
 * load anywhere else (a multiboot kernel at 0x8000 is fine). */
#include "vm/boot/layout.h"

#include <stdbool.h>
#include <string.h>

#include "vm/boot/boot.h"
#include "vm/pvm_syscall.h"
#include "vm/vm.h"

struct claim {
	uint64_t start, size;
	const char *what;
};

/* The structures of a boot in this mode; returns how many. */
static unsigned claims(const struct vm *vm, enum boot_mode mode, struct claim out[8])
{
	unsigned n = 0;
	out[n++] = (struct claim){LAYOUT_GDT, LAYOUT_GDT_SIZE, "the boot GDT"};
	out[n++] = (struct claim){LAYOUT_CMDLINE, vm->cmdline ? strlen(vm->cmdline) + 1 : 1,
				  "the kernel command line"};
	out[n++] = (struct claim){LAYOUT_EBDA, 0xa0000 - LAYOUT_EBDA, "the MP floating pointer"};
	out[n++] = (struct claim){LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI,
				  "the ACPI tables and MP table"};
	if (mode == BOOT_PVH)
		out[n++] = (struct claim){LAYOUT_PVH_INFO, 0x1000, "the PVH start info"};
	if (mode == BOOT_MULTIBOOT)
		out[n++] = (struct claim){LAYOUT_PVH_INFO, 0x1000, "the multiboot info"};
	if (mode == BOOT_LINUX64) {
		out[n++] = (struct claim){LAYOUT_BOOT_PARAMS, 0x1000, "boot_params (the zero page)"};
		out[n++] = (struct claim){LAYOUT_PML4, LAYOUT_PD + 4 * 0x1000 - LAYOUT_PML4,
					  "the boot page tables"};
	}
	if (vm->nested)
		out[n++] = (struct claim){PVM_TABLES_GPA, PVM_TABLES_SIZE,
					  "the SYSCALL trampoline's page tables (nested profile)"};
	return n;
}

const char *layout__claimed(const struct vm *vm, enum boot_mode mode, uint64_t start,
			    uint64_t size)
{
	struct claim c[8];
	unsigned n = claims(vm, mode, c);
	for (unsigned i = 0; i < n; i++)
		if (start < c[i].start + c[i].size && c[i].start < start + size)
			return c[i].what;
	struct e820_entry map[E820_MAX];
	unsigned m = e820__build(vm, map);
	for (unsigned i = 0; i < m; i++)
		if (map[i].type == E820_RAM && start >= map[i].addr &&
		    start + size <= map[i].addr + map[i].size)
			return NULL;
	return "memory that is not RAM in the e820 map";
}
