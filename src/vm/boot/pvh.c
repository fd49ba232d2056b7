/* The PVH boot ABI (Xen's hvm_start_info, as Linux and test guests read it). */
#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/vm.h"

#include <string.h>

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

int pvh__write_start_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size,
			  struct st_err *err)
{
	uint64_t mod_gpa = LAYOUT_PVH_INFO + sizeof(struct hvm_start_info);
	uint64_t map_gpa = mod_gpa + sizeof(struct hvm_modlist_entry);
	struct e820_entry e820[E820_MAX];
	unsigned n = e820__build(vm, e820);
	struct hvm_memmap_entry map[E820_MAX];
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_entry){e820[i].addr, e820[i].size, e820[i].type, 0};
	struct hvm_modlist_entry mod = {initrd_addr, initrd_size, 0, 0};
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = 1,
		.nr_modules = initrd_size ? 1 : 0,
		.modlist_paddr = initrd_size ? mod_gpa : 0,
		.cmdline_paddr = LAYOUT_CMDLINE,
		.rsdp_paddr = LAYOUT_ACPI,
		.memmap_paddr = map_gpa,
		.memmap_entries = n,
	};
	if (mem__write(&vm->mem, LAYOUT_PVH_INFO, &si, sizeof(si), err) < 0 ||
	    mem__write(&vm->mem, mod_gpa, &mod, sizeof(mod), err) < 0 ||
	    mem__write(&vm->mem, map_gpa, map, n * sizeof(map[0]), err) < 0)
		return -1;
	vm->boot.mode = BOOT_PVH;
	vm->boot.params = LAYOUT_PVH_INFO;
	return 0;
}
