/* The KVM VM: /dev/kvm, the VM fd, in-kernel irqchip/PIT, memory slots. */
#ifndef STRATA_VM_KVM_H
#define STRATA_VM_KVM_H

#include <stdint.h>

#include "common/err.h"
#include "vm/memory.h"

struct kvm {
	int sys_fd;
	int vm_fd;
	int vcpu_mmap_size;
	int max_vcpus;
};

/* Opens dev (normally /dev/kvm), checks the API and the capabilities we rely on. */
int kvm__open(struct kvm *k, const char *dev, struct st_err *err);

/* Creates the VM with in-kernel IOAPIC/PIC/LAPIC and PIT, IRQ routing and RAM. */
int kvm__create_vm(struct kvm *k, const struct guest_mem *mem, struct st_err *err);

int kvm__check_cap(const struct kvm *k, long cap);

/* Drives an ISA/GSI interrupt line (level 0/1). */
void kvm__irq_line(const struct kvm *k, unsigned gsi, int level);

/* Closes the VM (for a reboot), keeping /dev/kvm open. */
void kvm__destroy_vm(struct kvm *k);
void kvm__close(struct kvm *k);

#endif
