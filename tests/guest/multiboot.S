/* Multiboot (v1) header: flags ask for the memory fields and the memory map;
 * the loader enters rt_mb_start (the ELF entry point) in 32-bit protected
 * mode with EAX = 0x2badb002, EBX = the multiboot info. */
#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* 4 KiB-aligned modules, memory info */

	.section .text.entry, "ax"
	.p2align 2
multiboot_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
