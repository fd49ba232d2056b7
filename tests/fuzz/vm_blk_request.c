/* libFuzzer: the virtio-blk request parser and executor. The input is one
 * chain: a little header says how to cut the rest into readable and writable
 * buffers; the request then runs against a 1 MiB raw disk in a memfd. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm/virtio/blk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct disk *dk;
	static struct vq_elem e;
	static struct vblk_req r;
	static uint8_t buf[1 << 16];
	if (!dk) {
		int fd = memfd_create("fuzz-disk", 0);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
			return 0;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct st_err err = {0};
		if (disk__open_raw(path, false, &dk, &err) < 0)
			return 0;
	}
	if (size < 2)
		return 0;
	/* byte 0: number of buffers (1..16); byte 1: bitmap of writable ones from the
	 * end; then one length byte per buffer, then the contents */
	unsigned n = data[0] % 16 + 1, nw = data[1] % (n + 1);
	size_t off = 2 + n;
	if (size < off)
		return 0;
	memset(&e, 0, sizeof(e));
	size_t used = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t len = (size_t)data[2 + i] * 64 + 1;
		if (used + len > sizeof(buf))
			return 0;
		size_t avail = off < size ? size - off : 0;
		size_t c = avail < len ? avail : len;
		memset(buf + used, 0, len);
		memcpy(buf + used, data + off, c);
		off += c;
		e.iov[i] = (struct iovec){buf + used, len};
		if (i >= n - nw)
			e.nr_in++, e.in_len += len;
		else
			e.nr_out++, e.out_len += len;
		used += len;
	}
	struct st_err err = {0};
	if (vblk__parse(&e, &r, &err) == 0)
		*r.status = vblk__execute(dk, "fuzz", &r);
	return 0;
}
