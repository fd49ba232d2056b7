#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/pvm_syscall.h"
#include "vm/vm.h"

unsigned e820__build(const struct vm *vm, struct e820_entry out[E820_MAX])
{
	unsigned n = 0;
	/* Under the nested profile a few pages below the EBDA hold the SYSCALL
	 * trampoline's page tables (pvm_syscall.h). */
	uint64_t low_end = vm->nested ? PVM_TABLES_GPA : LAYOUT_EBDA;
	out[n++] = (struct e820_entry){0, low_end, E820_RAM};
	out[n++] = (struct e820_entry){low_end, 0xa0000 - low_end, E820_RESERVED};
	out[n++] = (struct e820_entry){LAYOUT_ACPI, LAYOUT_ACPI_END - LAYOUT_ACPI, E820_RESERVED};
	out[n++] = (struct e820_entry){LAYOUT_HIGH_RAM, vm->mem.low_size - LAYOUT_HIGH_RAM, E820_RAM};
	if (vm->mem.size > vm->mem.low_size)
		out[n++] = (struct e820_entry){MEM_4G, vm->mem.size - vm->mem.low_size, E820_RAM};
	return n;
}
