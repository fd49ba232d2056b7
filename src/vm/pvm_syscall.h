/* Guest user space on kvm_pvm. A SYSCALL from ring 3 there arrives at the kernel
 * entry (MSR_LSTAR) with RCX, R11 and RFLAGS set as the CPU would, but still in
 * ring 3, so the kernel's first instruction fetch faults and /init dies. What
 * works: the vCPU's LSTAR is pointed at a trampoline page that the guest's page
 * tables map, for ring 3, onto an address with no memory behind it. The SYSCALL's
 * fetch there is an emulation failure that exits to us; we finish the SYSCALL
 * (CS/SS from MSR_STAR, ring 0) and enter the guest's real entry point. SYSRETQ,
 * which KVM's emulator refuses, is carried out the other way (emulate.c).
 * docs/nested-kvm.md tells the whole story. */
#ifndef STRATA_VM_PVM_SYSCALL_H
#define STRATA_VM_PVM_SYSCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* Guest RAM kept back (e820 reserved) for the trampoline's page tables. */
#define PVM_TABLES_GPA     0x9c000ull
#define PVM_TABLES_SIZE    0x3000ull
/* Where the trampoline page points: no RAM, no device. */
#define PVM_TRAMPOLINE_GPA 0xfebfe000ull
/* The trampoline's virtual address: PML4 slot 401, a hole in Linux's layout
 * without KASLR (Documentation/arch/x86/x86_64/mm.rst); slot 256, the hole Linux
 * leaves to hypervisors, is refused by kvm_pvm. */
#define PVM_TRAMPOLINE_VA  0xffffc88000000000ull

struct vcpu;

struct pvm_syscall {
	uint64_t guest_lstar;   /* the entry the guest programmed; 0: not yet seen */
	unsigned long exits;    /* exits since the last look at LSTAR */
	unsigned long syscalls; /* SYSCALLs completed */
	unsigned long sysrets;  /* SYSRETs carried out */
	uint64_t last_nr;       /* STRATA_TRACE_FS: the SYSCALL the next SYSRET answers */
};

/* Makes the guest's reads and writes of MSR_LSTAR exit to the VMM (KVM's MSR
 * filter), so the trampoline is in place before the first SYSCALL however
 * soon it follows; < 0 when KVM cannot (then pvm_syscall__poll). */
int pvm_syscall__trap_lstar(int vm_fd);

/* KVM_EXIT_X86_RDMSR/WRMSR: true when it was LSTAR and is answered. A write
 * arms the trampoline; a read returns the guest's own entry. A write of an
 * address not canonical for the guest CPU's width gets #GP (KVM's own check
 * is bypassed when the filter sends the write here). */
bool pvm_syscall__msr_exit(struct vcpu *v);

/* addr is canonical for a bits-wide linear address (48 or 57). */
bool pvm_syscall__canonical(uint64_t addr, unsigned bits);

/* Without the MSR filter, called after exits under the nested profile: when
 * the guest has (re)programmed LSTAR, moves it to the trampoline. Looks only
 * now and then once armed. */
void pvm_syscall__poll(struct vcpu *v);

/* KVM_EXIT_INTERNAL_ERROR at the trampoline: true when it was a SYSCALL we finished
 * (or failed to: then err is set and the return is still true). */
bool pvm_syscall__complete(struct vcpu *v, struct st_err *err, int *result);

/* SYSRETQ refused by KVM's emulator: returns to ring 3 as the CPU would. */
int pvm_syscall__sysret(struct vcpu *v, struct st_err *err);

#endif
