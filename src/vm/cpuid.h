/* The guest CPU model: KVM's supported CPUID, minus what a template and the
 * user's feature list remove, with per-vCPU topology filled in. */
#ifndef STRATA_VM_CPUID_H
#define STRATA_VM_CPUID_H

#include "common/err.h"

struct cpuid_table;
struct vcpu;

/* template: "host" (all KVM supports) or "nested" (what this kind of nested KVM
 * cannot emulate removed); features: comma list of [+|-]name, applied after. */
int cpuid__init(int kvm_sys_fd, const char *template_name, const char *features,
		unsigned nr_vcpus, struct cpuid_table **out, struct st_err *err);
int cpuid__set_vcpu(const struct cpuid_table *t, struct vcpu *v, struct st_err *err);
void cpuid__free(struct cpuid_table *t);
/* The guest CPU's linear-address width: 57 with LA57, else 48. What WRMSR's
 * canonical checks use, whatever CR4.LA57 is (Intel SDM vol. 3, 4.1.4). */
unsigned cpuid__va_bits(const struct cpuid_table *t);

/* Feature names strata-vm knows, one per line, for --cpu-features help. */
void cpuid__print_features(void);

#endif
