/* Multiboot (v1) entry: the magic in EAX, and the info block's memory
 * fields, command line and memory map (docs/vm-machine.md, "Boot entry"). */
#include "rt.h"

extern uint32_t rt_multiboot_magic, rt_multiboot_info;

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

int guest_main(void)
{
	rt_printf("multiboot: magic %x, info at %x\n", rt_multiboot_magic, rt_multiboot_info);
	if (rt_multiboot_magic != 0x2badb002)
		rt_fail("multiboot: EAX is %x, not 0x2badb002", rt_multiboot_magic);
	const struct mb_info *mbi = (const void *)(uint64_t)rt_multiboot_info;
	if (!mbi)
		rt_fail("multiboot: no info block");
	rt_printf("multiboot: flags %x mem_lower %u KiB mem_upper %u KiB\n", mbi->flags, mbi->mem_lower,
		  mbi->mem_upper);
	if (!(mbi->flags & 1) || mbi->mem_lower < 600 || mbi->mem_upper < 1024)
		rt_fail("multiboot: memory fields missing or too small (flag bit 0)");
	if (mbi->flags & 4)
		rt_printf("multiboot: cmdline '%s'\n", (const char *)(uint64_t)mbi->cmdline);
	uint64_t ram = 0;
	if (mbi->flags & 0x40) {
		for (uint32_t off = 0; off < mbi->mmap_length;) {
			const struct mb_mmap *e = (const void *)(uint64_t)(mbi->mmap_addr + off);
			rt_printf("multiboot: mmap %lx-%lx type %u\n", e->addr, e->addr + e->len - 1, e->type);
			if (e->type == 1)
				ram += e->len;
			off += e->size + 4;
		}
		rt_printf("multiboot: ram %lu KiB\n", ram >> 10);
	}
	rt_puts("multiboot: PASS\n");
	return 0;
}
