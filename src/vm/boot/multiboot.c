/* Multiboot (v1) ELF kernels, as GRUB legacy and QEMU start them: 32-bit
 * protected mode, paging off, EAX = 0x2badb002, EBX = the info block with the
 * memory sizes, command line, memory map and the initrd as a module. */
#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/vm.h"

#include <string.h>

#define MB_HEADER_MAGIC 0x1badb002u
#define MB_SEARCH       8192
#define MB_INFO_MEMORY  0x001u
#define MB_INFO_CMDLINE 0x004u
#define MB_INFO_MODS    0x008u
#define MB_INFO_MMAP    0x040u

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

int multiboot__has_header(const uint8_t *img, size_t len)
{
	for (size_t off = 0; off + 12 <= len && off < MB_SEARCH; off += 4) {
		uint32_t h[3];
		memcpy(h, img + off, sizeof(h));
		if (h[0] == MB_HEADER_MAGIC && h[0] + h[1] + h[2] == 0)
			return 1;
	}
	return 0;
}

int multiboot__write_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size,
			  struct st_err *err)
{
	/* The info block, its module and map follow one another where PVH's start info
	 * would go (a kernel is entered one way only). */
	const uint64_t info_gpa = LAYOUT_PVH_INFO;
	const uint64_t mod_gpa = info_gpa + sizeof(struct mb_info);
	const uint64_t map_gpa = mod_gpa + sizeof(struct mb_module);
	struct e820_entry e820[E820_MAX];
	unsigned n = e820__build(vm, e820);
	struct mb_mmap map[E820_MAX];
	for (unsigned i = 0; i < n; i++)
		map[i] = (struct mb_mmap){sizeof(map[0]) - 4, e820[i].addr, e820[i].size, e820[i].type};
	struct mb_module mod = {(uint32_t)initrd_addr, (uint32_t)(initrd_addr + initrd_size), 0, 0};
	struct mb_info info = {
		.flags = MB_INFO_MEMORY | MB_INFO_CMDLINE | MB_INFO_MMAP | (initrd_size ? MB_INFO_MODS : 0),
		.mem_lower = (uint32_t)(e820[0].size >> 10),
		.mem_upper = (uint32_t)((vm->mem.low_size - LAYOUT_HIGH_RAM) >> 10),
		.cmdline = (uint32_t)LAYOUT_CMDLINE,
		.mods_count = initrd_size ? 1 : 0,
		.mods_addr = initrd_size ? (uint32_t)mod_gpa : 0,
		.mmap_length = (uint32_t)(n * sizeof(map[0])),
		.mmap_addr = (uint32_t)map_gpa,
	};
	if (initrd_addr + initrd_size > UINT32_MAX)
		return err__fail(err, 0, "multiboot: the initrd must lie below 4 GiB");
	if (mem__write(&vm->mem, info_gpa, &info, sizeof(info), err) < 0 ||
	    mem__write(&vm->mem, mod_gpa, &mod, sizeof(mod), err) < 0 ||
	    mem__write(&vm->mem, map_gpa, map, n * sizeof(map[0]), err) < 0)
		return -1;
	vm->boot.mode = BOOT_MULTIBOOT;
	vm->boot.params = info_gpa;
	return 0;
}
