/* The host profile for software-assisted nested KVM (kvm_pvm): detection and
 * the kernel options a stock Linux guest needs there. */
#ifndef STRATA_VM_NESTED_H
#define STRATA_VM_NESTED_H

#include <stdbool.h>
#include <stddef.h>

/* Linux copies clearcpuid='s argument into a 128-byte buffer (arch/x86/kernel/
 * cpu/common.c) and silently drops the rest, so ours must fit in this. */
#define NESTED_CLEARCPUID_MAX 127

bool nested__host_is_pvm(void);

/* The options strata-vm puts in front of the user's command line under the
 * nested profile. Static storage; built once. */
const char *nested__kernel_options(void);

/* Just clearcpuid='s argument (comma list of feature bit numbers). */
const char *nested__clearcpuid(void);

/* Linux's bit number of a feature hidden through clearcpuid=, or -1. */
int nested__cleared_bit(const char *name);

#endif
