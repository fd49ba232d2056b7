#include "vm/kvm.h"
#include "common/cleanup.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Addresses KVM needs for real-mode emulation on Intel; just below the BIOS area
 * at the top of 4 GiB, where no RAM or device lives. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR          0xfeffd000ull

int kvm__check_cap(const struct kvm *k, long cap)
{
	int fd = k->vm_fd >= 0 ? k->vm_fd : k->sys_fd;
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	return r < 0 ? 0 : r;
}

int kvm__open(struct kvm *k, const char *dev, struct st_err *err)
{
	k->vm_fd = -1;
	k->sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		if (errno == ENOENT)
			return err__fail(err, errno, "%s is missing (is the kvm module loaded?)", dev);
		if (errno == EACCES || errno == EPERM)
			return err__fail(err, errno,
				       "%s is not accessible (add yourself to the kvm group)", dev);
		return err__fail_errno(err, "cannot open %s", dev);
	}
	int ver = ioctl(k->sys_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return err__fail(err, 0, "%s: KVM API version %d, expected %d", dev, ver,
			       KVM_API_VERSION);
	static const struct { long cap; const char *name; } needed[] = {
		{KVM_CAP_IRQCHIP, "IRQCHIP"},
		{KVM_CAP_PIT2, "PIT2"},
		{KVM_CAP_USER_MEMORY, "USER_MEMORY"},
		{KVM_CAP_EXT_CPUID, "EXT_CPUID"},
		{KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT"},
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!kvm__check_cap(k, needed[i].cap))
			return err__fail(err, 0, "%s lacks KVM_CAP_%s", dev, needed[i].name);
	k->vcpu_mmap_size = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->vcpu_mmap_size <= 0)
		return err__fail_errno(err, "KVM_GET_VCPU_MMAP_SIZE");
	k->max_vcpus = kvm__check_cap(k, KVM_CAP_MAX_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = kvm__check_cap(k, KVM_CAP_NR_VCPUS);
	if (k->max_vcpus <= 0)
		k->max_vcpus = 4;
	return 0;
}

static int kvm__add_slot(struct kvm *k, unsigned slot, uint64_t gpa, uint64_t size, void *host,
			 struct st_err *err)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};
	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return err__fail_errno(err, "KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB)", slot,
				     (unsigned long long)(size >> 20));
	return 0;
}

int kvm__create_vm(struct kvm *k, const struct guest_mem *mem, struct st_err *err)
{
	k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
	if (k->vm_fd < 0)
		return err__fail_errno(err, "KVM_CREATE_VM");
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0)
		return err__fail_errno(err, "KVM_SET_TSS_ADDR");
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		return err__fail_errno(err, "KVM_SET_IDENTITY_MAP_ADDR");
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return err__fail_errno(err, "KVM_CREATE_IRQCHIP");
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return err__fail_errno(err, "KVM_CREATE_PIT2");
	/* KVM's default GSI routing is what the MADT and MP table describe: ISA IRQ n
	 * on PIC pin n and IOAPIC pin n (no IRQ0 override, as Firecracker does);
	 * replacing it would cost an SRCU grace period at start-up. */
	/* Report emulation failures with the instruction bytes instead of a bare error. */
	if (kvm__check_cap(k, KVM_CAP_EXIT_ON_EMULATION_FAILURE)) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE, .args = {1}};
		if (ioctl(k->vm_fd, KVM_ENABLE_CAP, &cap) < 0)
			log__debug("KVM_CAP_EXIT_ON_EMULATION_FAILURE: %s", strerror(errno));
	}
	/* RAM after the irqchip. Registering it first makes start-up ~7 ms faster
	 * (bench/vm-teardown.py) but, on kvm_pvm, Debian's kernel then stalls for good
	 * after "vgaarb: loaded", before switching to kvm-clock (seen three times; with
	 * this order it goes on). */
	if (kvm__add_slot(k, 0, 0, mem->low_size, mem->host, err) < 0)
		return -1;
	if (mem->size > mem->low_size &&
	    kvm__add_slot(k, 1, MEM_4G, mem->size - mem->low_size, mem->host + mem->low_size,
			  err) < 0)
		return -1;
	return 0;
}

void kvm__irq_line(const struct kvm *k, unsigned gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = level};
	if (ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log__warn("KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
}

void kvm__destroy_vm(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	k->vm_fd = -1;
}

void kvm__close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	k->vm_fd = k->sys_fd = -1;
}
