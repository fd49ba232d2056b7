/* Where KVM's per-VM worker thread lives (see kvm_worker.c). */
#ifndef STRATA_VM_KVM_WORKER_H
#define STRATA_VM_KVM_WORKER_H

#include <linux/kvm.h>

struct kvm_worker_start {
	int vcpu_fd;
	struct kvm_run *run;
};

/* Makes the VM's first KVM_RUN (entering no guest code) from a separate,
 * short-lived process, on kernels that start a VM worker in its caller's
 * thread group. Call after the vCPU exists, before its thread runs. */
void kvm_worker__start_apart(int vcpu_fd, struct kvm_run *run);

#endif
