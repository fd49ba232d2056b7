/* Kernel format detection, initrd placement and the boot CPU's entry state. */
#include "vm/boot/boot.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/boot/layout.h"
#include "vm/hw/fw_cfg.h"
#include "vm/nested.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define KERNEL_MAX (512ull << 20)

int initrd__load(struct vm *vm, uint64_t limit, uint64_t *addr, uint64_t *size,
		 struct st_err *err)
{
	*addr = *size = 0;
	if (!vm->cfg.initrd)
		return 0;
	uint64_t len;
	cleanup_close int fd = util__open_regular("initrd", vm->cfg.initrd, &len, err);
	if (fd < 0)
		return -1;
	uint64_t top = ST_MIN(limit, vm->mem.low_size);
	uint64_t kernel_end = ST_ALIGN_UP(vm->boot.kernel_end, 4096ull);
	if (len > top || ((top - len) & ~4095ull) < kernel_end)
		return err__fail(err, 0,
			       "initrd %s (%llu MiB) does not fit in guest memory (%llu MiB) above the kernel",
			       vm->cfg.initrd, (unsigned long long)(len >> 20),
			       (unsigned long long)(vm->mem.size >> 20));
	uint64_t gpa = (top - len) & ~4095ull;
	/* Straight into guest memory: no intermediate copy of a large initrd. */
	if (util__pread_all(fd, mem__ptr(&vm->mem, gpa, len), len, 0, err) < 0)
		return err__prefix(err, "initrd %s", vm->cfg.initrd);
	*addr = gpa;
	*size = len;
	return 0;
}

static int boot__load_elf(struct vm *vm, const uint8_t *img, size_t len, struct st_err *err)
{
	struct elf_image ei;
	if (elf__load(vm, img, len, elf__boot_mode(img, len), &ei, err) < 0)
		return -1;
	vm->boot.kernel_end = ei.end;
	uint64_t initrd, initrd_size;
	if (initrd__load(vm, vm->mem.low_size, &initrd, &initrd_size, err) < 0)
		return -1;
	if (ei.pvh_entry) {
		vm->boot.entry = ei.pvh_entry;
		return pvh__write_start_info(vm, initrd, initrd_size, err);
	}
	if (multiboot__has_header(img, len)) {
		vm->boot.entry = ei.entry;
		return multiboot__write_info(vm, initrd, initrd_size, err);
	}
	vm->boot.entry = ei.entry;
	return linux__write_boot_params(vm, NULL, 0, initrd, initrd_size, err);
}

int boot__build_cmdline(struct vm *vm, bool linux_kernel, struct st_err *err)
{
	const char *user = vm->cfg.cmdline ? vm->cfg.cmdline : "";
	const char *ours = vm->nested && linux_kernel ? nested__kernel_options() : "";
	size_t n = strlen(user) + strlen(ours) + 2;
	free(vm->cmdline);
	vm->cmdline = malloc(n);
	if (!vm->cmdline)
		return err__fail(err, ENOMEM, "cmdline");
	/* The user's own options come last, so they win where they repeat ours. */
	snprintf(vm->cmdline, n, "%s%s%s", ours, *ours && *user ? " " : "", user);
	log__info("kernel command line (%s%s): '%s'", linux_kernel ? "Linux" : "not Linux",
		*ours ? ", nested profile options first" : "", vm->cmdline);
	return 0;
}

int boot__load(struct vm *vm, struct st_err *err)
{
	const char *path = vm->cfg.kernel;
	uint64_t size;
	cleanup_close int fd = util__open_regular("kernel", path, &size, err);
	if (fd < 0)
		return -1;
	if (size < 64 || size > KERNEL_MAX)
		return err__fail(err, 0, "kernel %s is not a kernel (size %llu bytes)", path,
			       (unsigned long long)size);
	size_t len = (size_t)size;
	uint8_t *img = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED)
		return err__fail_errno(err, "kernel %s", path);

	bool is_linux = linux__is_bzimage(img, len) || (elf__is_elf(img, len) && elf__is_linux(img, len));
	if (boot__build_cmdline(vm, is_linux, err) < 0) {
		munmap(img, len);
		return -1;
	}
	if (fw_cfg__set_cmdline(vm->fw_cfg, vm->cmdline, err) < 0) {
		munmap(img, len);
		return -1;
	}
	size_t cmdlen = strlen(vm->cmdline);
	int r;
	if (cmdlen >= LAYOUT_CMDLINE_MAX)
		r = err__fail(err, 0, "command line too long (%zu bytes)", cmdlen);
	else if (mem__write(&vm->mem, LAYOUT_CMDLINE, vm->cmdline, cmdlen + 1, err) < 0)
		r = -1;
	else if (linux__is_bzimage(img, len))
		r = linux__load_bzimage(vm, img, len, err);
	else if (elf__is_elf(img, len))
		r = boot__load_elf(vm, img, len, err);
	else
		r = err__fail(err, 0, "not a kernel: neither a bzImage nor an ELF image");
	munmap(img, len);
	if (r < 0)
		return err__prefix(err, "kernel %s", path);
	if (mptable__write(vm, err) < 0)
		return -1;
	uint64_t rsdp;
	return acpi__write(vm, &rsdp, err);
}

/* One GDT serves both entries: 0x08 code32 (PVH), 0x10 code64 and 0x18 data
 * (Linux's __BOOT_CS/__BOOT_DS), 0x20 a TSS so that VM entry sees a valid TR. */
static const uint64_t boot_gdt[] = {
	0, 0x00cf9b000000ffffull, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
	0x00008b0000000067ull,
};
_Static_assert(sizeof(boot_gdt) == LAYOUT_GDT_SIZE, "layout.c claims the GDT's size");

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type, .present = 1,
		.s = 1, .l = code64, .db = !code64, .g = 1,
	};
}

static int boot__write_page_tables(struct vm *vm, struct st_err *err)
{
	uint64_t *pml4 = mem__ptr(&vm->mem, LAYOUT_PML4, 4096);
	uint64_t *pdpt = mem__ptr(&vm->mem, LAYOUT_PDPT, 4096);
	uint64_t *pd = mem__ptr(&vm->mem, LAYOUT_PD, 4 * 4096);
	if (!pml4 || !pdpt || !pd)
		return err__fail(err, 0, "no room for boot page tables");
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = LAYOUT_PDPT | 3;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (LAYOUT_PD + i * 4096) | 3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
	return 0;
}

int boot__setup_bsp(struct vm *vm, struct vcpu *bsp, struct st_err *err)
{
	if (mem__write(&vm->mem, LAYOUT_GDT, boot_gdt, sizeof(boot_gdt), err) < 0)
		return -1;
	struct kvm_sregs s;
	if (ioctl(bsp->fd, KVM_GET_SREGS, &s) < 0)
		return err__fail_errno(err, "KVM_GET_SREGS");
	struct kvm_regs r = {.rflags = 2, .rip = vm->boot.entry};
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = sizeof(boot_gdt) - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.tr = (struct kvm_segment){.limit = 0x67, .selector = 0x20, .type = 11, .present = 1};
	s.ds = s.es = s.fs = s.gs = s.ss = seg(0x18, 3, false);
	if (vm->boot.mode == BOOT_PVH || vm->boot.mode == BOOT_MULTIBOOT) {
		s.cs = seg(0x08, 0xb, false);
		s.cr0 = 0x11; /* PE, ET */
		s.cr4 = 0;
		s.efer = 0;
		r.rbx = vm->boot.params;
		if (vm->boot.mode == BOOT_MULTIBOOT)
			r.rax = 0x2badb002; /* the multiboot boot loader magic */
	} else {
		if (boot__write_page_tables(vm, err) < 0)
			return -1;
		s.cs = seg(0x10, 0xb, true);
		s.cr0 = 0x80000031; /* PG, NE, ET, PE */
		s.cr3 = LAYOUT_PML4;
		s.cr4 = 0x20;       /* PAE */
		s.efer = 0x500;     /* LME, LMA */
		r.rsi = vm->boot.params;
	}
	if (ioctl(bsp->fd, KVM_SET_SREGS, &s) < 0)
		return err__fail_errno(err, "KVM_SET_SREGS");
	if (ioctl(bsp->fd, KVM_SET_REGS, &r) < 0)
		return err__fail_errno(err, "KVM_SET_REGS");
	return 0;
}
