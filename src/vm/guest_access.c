#include "vm/guest_access.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm/memory.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

static int translate(struct vcpu *v, uint64_t gva, uint64_t *gpa, struct st_err *err)
{
	struct kvm_translation t = {.linear_address = gva};
	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0)
		return err__fail_errno(err, "KVM_TRANSLATE 0x%llx", (unsigned long long)gva);
	if (!t.valid)
		return err__fail(err, 0, "guest address 0x%llx is not mapped",
			       (unsigned long long)gva);
	*gpa = t.physical_address;
	return 0;
}

static int access_gva(struct vcpu *v, uint64_t gva, void *buf, unsigned len, bool write,
		      struct st_err *err)
{
	uint8_t *p = buf;
	while (len) {
		unsigned chunk = 4096 - (unsigned)(gva & 4095);
		if (chunk > len)
			chunk = len;
		uint64_t gpa = 0;
		if (translate(v, gva, &gpa, err) < 0)
			return -1;
		uint8_t *host = mem__ptr(&v->vm->mem, gpa, chunk);
		if (!host)
			return err__fail(err, 0, "guest address 0x%llx is not RAM",
				       (unsigned long long)gva);
		if (write)
			memcpy(host, p, chunk);
		else
			memcpy(p, host, chunk);
		p += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}

int guest_access__read_gva(struct vcpu *v, uint64_t gva, void *buf, unsigned len,
			   struct st_err *err)
{
	return access_gva(v, gva, buf, len, false, err);
}

int guest_access__write_gva(struct vcpu *v, uint64_t gva, const void *buf, unsigned len,
			    struct st_err *err)
{
	return access_gva(v, gva, (void *)buf, len, true, err);
}

int guest_access__msr(struct vcpu *v, uint32_t index, uint64_t *val, bool write)
{
	/* struct kvm_msrs ends in a flexible array: one entry rides behind it. */
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
	} m;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.hdr.entries[0].index = index;
	m.hdr.entries[0].data = write ? *val : 0;
	if (ioctl(v->fd, write ? KVM_SET_MSRS : KVM_GET_MSRS, &m) != 1)
		return -1;
	*val = m.hdr.entries[0].data;
	return 0;
}
