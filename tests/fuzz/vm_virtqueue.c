/* libFuzzer: the virtqueue chain walker over a guest-controlled ring, split or
 * packed. The input is the guest memory (descriptor table or ring, avail ring
 * or event areas, indirect tables);
 * every chain popped is walked and its buffers touched, so an escape outside
 * guest RAM shows up under ASan. */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "vm/virtio/virtqueue.h"

#define MEM (64u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static struct vq_elem e;
	if (!mem.host) {
		struct st_err err = {0};
		if (mem__init(&mem, MEM, false, &err) < 0)
			return 0;
	}
	if (size < 2)
		return 0;
	memset(mem.host, 0, MEM);
	/* byte 0: queue size exponent, packed (0x40) and event index (0x80); the
	 * rest is guest memory */
	struct virtqueue vq;
	vq__reset(&vq);
	vq.size = (uint16_t)(1u << (data[0] % 5)); /* up to 16: the rings sit in the first bytes */
	vq.desc_gpa = 0;
	vq.avail_gpa = 0x100;
	vq.used_gpa = 0x200;
	vq.packed = data[0] & 0x40;
	memcpy(mem.host, data + 1, size - 1 < MEM ? size - 1 : MEM);
	struct st_err err = {0};
	if (vq__start(&vq, &mem, data[0] & 0x80, &err) < 0)
		return 0;
	for (int i = 0; i < 64; i++) {
		int r = vq__pop(&vq, &mem, &e, &err);
		if (r <= 0)
			break;
		uint8_t sum = 0;
		for (unsigned j = 0; j < e.nr_out + e.nr_in; j++) {
			const uint8_t *p = e.iov[j].iov_base;
			sum ^= p[0] ^ p[e.iov[j].iov_len - 1];
		}
		vq__push(&vq, e.head, sum);
		vq__should_notify(&vq);
	}
	return 0;
}
