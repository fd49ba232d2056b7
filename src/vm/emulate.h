/* Assists for instructions KVM's emulator refuses (KVM_EXIT_INTERNAL_ERROR).
 * On software-assisted nested KVM the guest kernel is emulated instruction by
 * instruction and the emulator knows few newer instructions; where the meaning
 * allows, we carry the instruction out here and resume the guest. */
#ifndef STRATA_VM_EMULATE_H
#define STRATA_VM_EMULATE_H

#include "common/err.h"

struct vcpu;

/* 0: handled, the vCPU may resume. < 0: err says what stopped the guest, with RIP,
 * instruction bytes and their disassembly. */
int emulate__internal_error(struct vcpu *v, struct st_err *err);

#endif
