/* Where KVM's per-VM worker thread lives (see kvm_worker.c). */
#ifndef STRATA_VM_KVM_WORKER_H
#define STRATA_VM_KVM_WORKER_H

#include <linux/kvm.h>
#include <stdbool.h>

/* Undoes what keeps a VM alive (vCPU mappings and files, the VM file). */
typedef void kvm_worker_teardown_fn(void *arg);

/* Makes the VM's first KVM_RUN (entering no guest code) from a separate process,
 * a guardian, on kernels that start a VM worker in its caller's thread group.
 * The guardian stays until this process is gone, however it ends (SIGKILL
 * too), then calls teardown (sharing our memory and files), so that the VM
 * dies with us; or until kvm_worker__release. Call after the vCPU exists,
 * before its thread runs. Returns whether a guardian now watches the VM. */
bool kvm_worker__start_apart(int vcpu_fd, struct kvm_run *run, kvm_worker_teardown_fn *teardown,
			     void *arg);

/* The VM the guardian watches is being destroyed by us (an in-process
 * reboot): it goes without touching anything. */
void kvm_worker__release(void);

#endif
