/* A vCPU's view of its guest for the exit handlers outside vcpu.c (emulation
 * assists, the nested SYSCALL path): memory at a guest virtual address,
 * through the page tables the vCPU uses now, and the vCPU's MSRs. Only from
 * the vCPU's own thread (vCPU ioctls from others block while it is in KVM_RUN). */
#ifndef STRATA_VM_GUEST_ACCESS_H
#define STRATA_VM_GUEST_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct vcpu;

/* Copies len bytes at guest virtual address gva, page by page. */
int guest_access__read_gva(struct vcpu *v, uint64_t gva, void *buf, unsigned len,
			   struct st_err *err);
int guest_access__write_gva(struct vcpu *v, uint64_t gva, const void *buf, unsigned len,
			    struct st_err *err);

/* Reads or writes one MSR of this vCPU; < 0 on failure. */
int guest_access__msr(struct vcpu *v, uint32_t index, uint64_t *val, bool write);

#endif
