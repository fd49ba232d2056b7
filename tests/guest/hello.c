/* Serial output and the PVH hand-over: prints the start info, command line
 * and memory map; passes if the start info is sane and RAM covers 1 MiB.
 * lines=N adds N numbered lines (console volume: none may be lost). */
#include "rt.h"

int guest_main(void)
{
	const struct hvm_start_info *si = rt_start_info;
	rt_puts("hello: strata test guest\n");
	rt_printf("hello: start_info version %u flags %x rsdp %lx\n", si->version, si->flags, si->rsdp_paddr);
	rt_printf("hello: cmdline '%s'\n", rt_cmdline());
	if (si->version < 1 || !si->memmap_paddr || !si->memmap_entries)
		rt_fail("start_info version %u has no memory map", si->version);
	const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
	uint64_t ram = 0;
	bool kernel_ram = false;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		rt_printf("hello: memmap %lx-%lx type %u\n", e[i].addr, e[i].addr + e[i].size - 1, e[i].type);
		if (e[i].type != 1)
			continue;
		ram += e[i].size;
		if (e[i].addr <= 0x100000 && e[i].addr + e[i].size >= 0x200000)
			kernel_ram = true;
	}
	rt_printf("hello: ram %lu KiB\n", ram >> 10);
	if (!kernel_ram)
		rt_fail("no RAM entry covers 1-2 MiB, where this guest was loaded");
	uint64_t lines = rt_cmdline_u64("lines", 0);
	for (uint64_t i = 0; i < lines; i++)
		rt_printf("hello: line %05lu of %lu abcdefghijklmnopqrstuvwxyz0123456789\n", i, lines);
	rt_puts("hello: PASS\n");
	return 0;
}
