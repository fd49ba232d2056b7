/* Loading a kernel and describing the machine to it: Linux boot protocol
 * (bzImage, vmlinux), PVH, e820, MP table and ACPI tables. */
#ifndef STRATA_VM_BOOT_BOOT_H
#define STRATA_VM_BOOT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "vm/vm.h"

struct vm;
struct vcpu;

/* Loads cfg.kernel (bzImage or ELF) and cfg.initrd, writes the boot structures
 * and fills vm->boot. */
int boot__load(struct vm *vm, struct st_err *err);

/* Puts the boot CPU in the state its entry point expects. */
int boot__setup_bsp(struct vm *vm, struct vcpu *bsp, struct st_err *err);

/* Firmware tables. */
int mptable__write(struct vm *vm, struct st_err *err);
int acpi__write(struct vm *vm, uint64_t *rsdp, struct st_err *err);

/* The e820 map of vm's memory. */
struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));
enum { E820_RAM = 1, E820_RESERVED = 2, E820_MAX = 8 };
unsigned e820__build(const struct vm *vm, struct e820_entry out[E820_MAX]);

/* Kernel payload decompression (gzip, xz, lz4, zstd) on the host. */
int unpack__payload(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len,
		    struct st_err *err);

/* ELF loading: PT_LOAD segments at their physical addresses. */
struct elf_image {
	uint64_t entry;       /* e_entry (physical for Linux vmlinux) */
	uint64_t pvh_entry;   /* 0 when there is no PVH note */
	uint64_t end;         /* highest loaded byte + 1 */
	bool linux_note;      /* an ELF note named "Linux" (every vmlinux has one) */
};
/* Refuses a segment over what strata-vm places for a boot in this mode
 * (layout__claimed), naming it. */
int elf__load(struct vm *vm, const uint8_t *img, size_t len, enum boot_mode mode,
	      struct elf_image *out, struct st_err *err);
/* How strata-vm enters this ELF: PVH note, else multiboot header, else Linux. */
enum boot_mode elf__boot_mode(const uint8_t *img, size_t len);
int elf__is_elf(const uint8_t *img, size_t len);
/* A Linux vmlinux: its "Linux" note, or an ELF with neither a PVH note nor a
 * multiboot header (entered by the 64-bit Linux boot protocol). */
bool elf__is_linux(const uint8_t *img, size_t len);

/* The guest's command line: the user's, after the nested profile's Linux
 * options when the kernel is Linux (those mean nothing to other guests, and a
 * kernel reading its arguments by position would see them first). */
int boot__build_cmdline(struct vm *vm, bool linux_kernel, struct st_err *err);

/* Linux boot protocol. */
int linux__is_bzimage(const uint8_t *img, size_t len);
int linux__load_bzimage(struct vm *vm, const uint8_t *img, size_t len, struct st_err *err);
/* boot_params for a kernel entered at its 64-bit entry; hdr may be NULL (vmlinux). */
int linux__write_boot_params(struct vm *vm, const uint8_t *hdr, size_t hdr_len,
			     uint64_t initrd_addr, uint64_t initrd_size, struct st_err *err);
int multiboot__has_header(const uint8_t *img, size_t len);
int multiboot__write_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size,
			  struct st_err *err);
int pvh__write_start_info(struct vm *vm, uint64_t initrd_addr, uint64_t initrd_size,
			  struct st_err *err);

/* Places cfg.initrd at the top of low RAM (below limit), above vm->boot.kernel_end. */
int initrd__load(struct vm *vm, uint64_t limit, uint64_t *addr, uint64_t *size,
		 struct st_err *err);

#endif
