#include "vm/pvm_syscall.h"
#include "common/log.h"
#include "vm/cpuid.h"
#include "vm/guest_access.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define PTE_P      0x1ull
#define PTE_W      0x2ull
#define PTE_U      0x4ull
#define PTE_ADDR   0x000ffffffffff000ull
#define CR0_PG     0x80000000ull
#define POLL_EVERY 1024


/* PML4[256] -> PDPT -> PD -> PT -> the trampoline page, user-accessible, in the
 * reserved pages; the PML4 entry goes into the page table the vCPU uses now (at
 * boot the kernel's own, which every later process copies). */
static int map_trampoline(struct vcpu *v, uint64_t cr3)
{
	struct guest_mem *mem = &v->vm->mem;
	uint64_t *pml4 = mem__ptr(mem, cr3 & PTE_ADDR, 4096);
	uint64_t *pdpt = mem__ptr(mem, PVM_TABLES_GPA, PVM_TABLES_SIZE);
	if (!pml4 || !pdpt)
		return -1;
	uint64_t *pd = pdpt + 512, *pt = pd + 512;
	const uint64_t table = PTE_P | PTE_W | PTE_U;
	pdpt[0] = (PVM_TABLES_GPA + 0x1000) | table;
	pd[0] = (PVM_TABLES_GPA + 0x2000) | table;
	pt[0] = PVM_TRAMPOLINE_GPA | PTE_P | PTE_U;
	uint64_t slot = (PVM_TRAMPOLINE_VA >> 39) & 511;
	if ((pml4[slot] & PTE_P) && (pml4[slot] & PTE_ADDR) != PVM_TABLES_GPA)
		return -1; /* the guest uses this slot itself */
	pml4[slot] = PVM_TABLES_GPA | table;
	return 0;
}

/* The guest's LSTAR (its paging on): the trampoline takes its place in the
 * vCPU's MSR. False when it could not. */
static bool arm(struct vcpu *v, uint64_t lstar, uint64_t cr3)
{
	v->pvm.guest_lstar = lstar;
	if (map_trampoline(v, cr3) < 0) {
		log__warn("vcpu%u: no room for the SYSCALL trampoline; guest user space will fault",
			v->id);
		return false;
	}
	uint64_t t = PVM_TRAMPOLINE_VA;
	if (guest_access__msr(v, MSR_LSTAR, &t, true) < 0) {
		log__warn("vcpu%u: cannot move LSTAR: %s", v->id, strerror(errno));
		return false;
	}
	log__info("vcpu%u: SYSCALL entry 0x%llx reached through the trampoline", v->id,
		(unsigned long long)lstar);
	return true;
}

int pvm_syscall__trap_lstar(int vm_fd)
{
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_USER_SPACE_MSR,
				     .args = {KVM_MSR_EXIT_REASON_FILTER}};
	static uint8_t deny; /* one MSR, its bit clear: reads and writes exit to us */
	struct kvm_msr_filter f = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges = {{.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .nmsrs = 1,
			    .base = MSR_LSTAR, .bitmap = &deny}},
	};
	if (ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0 || ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &f) < 0) {
		log__debug("no MSR filter (%s): LSTAR is looked at after exits", strerror(errno));
		return -1;
	}
	return 0;
}

bool pvm_syscall__canonical(uint64_t addr, unsigned bits)
{
	unsigned shift = 64 - bits;
	return (uint64_t)((int64_t)(addr << shift) >> shift) == addr;
}

bool pvm_syscall__msr_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	if (run->msr.index != MSR_LSTAR)
		return false;
	run->msr.error = 0;
	if (run->exit_reason == KVM_EXIT_X86_WRMSR &&
	    !pvm_syscall__canonical(run->msr.data, cpuid__va_bits(v->vm->cpuid))) {
		run->msr.error = 1; /* #GP, the MSR unchanged, as the CPU does */
		return true;
	}
	if (run->exit_reason == KVM_EXIT_X86_RDMSR) {
		uint64_t real = 0;
		if (!v->pvm.guest_lstar && guest_access__msr(v, MSR_LSTAR, &real, false) < 0)
			run->msr.error = 1;
		run->msr.data = v->pvm.guest_lstar ? v->pvm.guest_lstar : real;
		return true;
	}
	struct kvm_sregs sregs;
	uint64_t lstar = run->msr.data;
	if (lstar && ioctl(v->fd, KVM_GET_SREGS, &sregs) == 0 && (sregs.cr0 & CR0_PG) &&
	    arm(v, lstar, sregs.cr3))
		return true;
	/* not armed: the guest's own value goes in */
	v->pvm.guest_lstar = 0;
	if (guest_access__msr(v, MSR_LSTAR, &lstar, true) < 0)
		run->msr.error = 1;
	return true;
}

void pvm_syscall__poll(struct vcpu *v)
{
	struct pvm_syscall *s = &v->pvm;
	if (s->guest_lstar && ++s->exits < POLL_EVERY)
		return;
	s->exits = 0;
	uint64_t lstar;
	struct kvm_sregs sregs;
	if (guest_access__msr(v, MSR_LSTAR, &lstar, false) < 0 || !lstar || lstar == PVM_TRAMPOLINE_VA ||
	    ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 || !(sregs.cr0 & CR0_PG))
		return;
	arm(v, lstar, sregs.cr3); /* (re)programmed by the guest: take it over */
}

/* STRATA_TRACE_FS=1: one stderr line per SYSCALL or SYSRET that touches the
 * FS base (arch_prctl, exec, fork/clone) or finds it 0 or not agreeing with
 * MSR_FS_BASE -- to find where guest processes on kvm_pvm lose their TLS
 * base (docs/virtio.md). */
#define NR_FORK 57
#define NR_VFORK 58
#define NR_EXECVE 59
#define NR_CLONE 56
#define NR_ARCH_PRCTL 158

static bool trace_fs(void)
{
	static int on = -1;
	if (on < 0) {
		const char *e = getenv("STRATA_TRACE_FS");
		on = e && *e && *e != '0';
	}
	return on;
}

static void trace_fs_event(struct vcpu *v, const char *what, const struct kvm_regs *r,
			   const struct kvm_sregs *sr, uint64_t nr)
{
	uint64_t msr = 0;
	bool watched = nr == NR_ARCH_PRCTL || nr == NR_EXECVE || nr == NR_FORK || nr == NR_VFORK ||
		       nr == NR_CLONE;
	if (guest_access__msr(v, MSR_FS_BASE, &msr, false) < 0)
		msr = ~0ull;
	if (!watched && sr->fs.base && msr == sr->fs.base)
		return;
	fprintf(stderr, "fs-trace vcpu%u %s nr=%llu rdi=%llx rsi=%llx rax=%llx cr3=%llx fs=%x/%llx msr=%llx "
		"rip=%llx\n", v->id, what, (unsigned long long)nr, (unsigned long long)r->rdi,
		(unsigned long long)r->rsi, (unsigned long long)r->rax, (unsigned long long)sr->cr3,
		sr->fs.selector, (unsigned long long)sr->fs.base, (unsigned long long)msr,
		(unsigned long long)r->rcx);
}

static struct kvm_segment flat_segment(uint16_t selector, bool code, unsigned dpl)
{
	return (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = selector, .type = code ? 11 : 3,
		.present = 1, .dpl = (uint8_t)dpl, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

/* At the trampoline in ring 0: a kernel's own SYSCALL (valid at CPL 0: KVM's
 * emulator carried it out, to the trampoline our LSTAR names) when the two
 * bytes before RCX, the return address it saved, are one; else a wild jump. */
static bool syscall_from_ring0(struct vcpu *v, const struct kvm_regs *regs)
{
	uint8_t insn[2];
	struct st_err err = {0};
	return regs->rcx >= 2 && guest_access__read_gva(v, regs->rcx - 2, insn, 2, &err) == 0 &&
	       insn[0] == 0x0f && insn[1] == 0x05;
}

bool pvm_syscall__complete(struct vcpu *v, struct st_err *err, int *result)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t star;
	*result = 0;
	if (!v->pvm.guest_lstar || ioctl(v->fd, KVM_GET_REGS, &regs) < 0 ||
	    regs.rip != PVM_TRAMPOLINE_VA)
		return false;
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 || guest_access__msr(v, MSR_STAR, &star, false) < 0) {
		*result = err__fail_errno(err, "reading state at the SYSCALL trampoline");
		return true;
	}
	bool from_kernel = sregs.cs.dpl != 3;
	if (from_kernel && !syscall_from_ring0(v, &regs)) {
		*result = err__fail(err, 0, "the kernel jumped to the SYSCALL trampoline");
		return true;
	}
	if (trace_fs()) {
		trace_fs_event(v, "syscall", &regs, &sregs, regs.rax);
		v->pvm.last_nr = regs.rax;
	}
	/* The rest of SYSCALL: RCX and R11 are already as the CPU leaves them, and
	 * RFLAGS masked (again: the mask is idempotent). */
	uint64_t fmask = 0;
	if (guest_access__msr(v, MSR_SYSCALL_MASK, &fmask, false) == 0)
		regs.rflags = (regs.rflags & ~fmask) | 0x2;
	uint16_t kcs = (uint16_t)((star >> 32) & 0xfffc);
	sregs.cs = flat_segment(kcs, true, 0);
	sregs.ss = flat_segment((uint16_t)(kcs + 8), false, 0);
	regs.rip = v->pvm.guest_lstar;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		*result = err__fail_errno(err, "entering ring 0 for a SYSCALL");
	else
		v->pvm.syscalls++;
	if (from_kernel)
		log__debug("vcpu%u: SYSCALL from ring 0 completed", v->id);
	return true;
}

int pvm_syscall__sysret(struct vcpu *v, struct st_err *err)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint64_t star;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0 ||
	    guest_access__msr(v, MSR_STAR, &star, false) < 0)
		return err__fail_errno(err, "reading registers for SYSRET");
	if (trace_fs()) {
		trace_fs_event(v, "sysret", &regs, &sregs, v->pvm.last_nr);
		v->pvm.last_nr = ~0ull;
	}
	uint16_t base = (uint16_t)((star >> 48) & 0xfffc);
	/* SYSRETQ: 64-bit user CS = base + 16, SS = base + 8, both RPL 3. */
	sregs.cs = flat_segment((uint16_t)((base + 16) | 3), true, 3);
	sregs.ss = flat_segment((uint16_t)((base + 8) | 3), false, 3);
	regs.rip = regs.rcx;
	regs.rflags = (regs.r11 & 0x3c7fd7ull) | 0x2;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return err__fail_errno(err, "returning to user mode for SYSRET");
	v->pvm.sysrets++;
	return 0;
}
