/* vCPUs: one thread each, running KVM_RUN and dispatching exits. */
#ifndef STRATA_VM_VCPU_H
#define STRATA_VM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vm/pvm_syscall.h"

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	unsigned long assists;   /* emulation assists performed (for status) */
	struct pvm_syscall pvm;  /* SYSCALL completion on kvm_pvm (nested profile) */
	/* A snapshot of the registers, taken by the vCPU's own thread on request
	 * (vCPU ioctls from other threads would block while it is in KVM_RUN). */
	bool snap_requested;     /* guarded by vm->lock */
	bool snap_valid;
	struct kvm_regs snap_regs;
	struct kvm_sregs snap_sregs;
	struct kvm_mp_state snap_mp;
};

int vcpu__create(struct vm *vm, unsigned id, struct st_err *err);
/* Starts every vCPU thread and returns once each exists under its name
 * (vcpuN) with its signals set up; only then may any of them run guest code, as
 * on real hardware every CPU exists from power-on. */
int vcpu__start_all(struct vm *vm, struct st_err *err);

/* Waits for every started vCPU thread to end (the VM is stopping); < 0 when one
 * did not within timeout_ms. */
int vcpu__join_all(struct vm *vm, unsigned timeout_ms);
/* Releases the vCPU's KVM objects; its thread must have ended. */
void vcpu__destroy(struct vcpu *v);

/* Makes a vCPU leave KVM_RUN soon (to pause or stop). Any thread. */
void vcpu__kick(struct vcpu *v);

/* Installs the (empty) kick signal handler; call once before vCPUs start. */
int vcpu__init_signals(struct st_err *err);

/* Asks every vCPU for a register snapshot and waits up to timeout_ms; returns
 * how many answered (their snap_valid is set). */
unsigned vcpu__snapshot_all(struct vm *vm, unsigned timeout_ms);

/* "RIP 0x... (bytes f0 48 ...)" describing where the vCPU is, for crash reports. */
void vcpu__describe_rip(struct vcpu *v, char *buf, size_t len);

#endif
