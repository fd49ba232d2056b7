/* libFuzzer: any bytes through the safe format inspector, probed and
 * checked against a few declared formats. The input's first 4 KiB are the
 * file's head (every magic and the small headers); the rest, if any, lands
 * at 192 KiB, where VHDX keeps its region table, so offsets in the head can
 * point into it. The file is a memfd: nothing the input names is opened. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/image_inspect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 4096
#define TAIL_AT 0x30000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const declared[] = {"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "luks"};
	int fd = memfd_create("fuzz-inspect", 0);
	if (fd < 0)
		return 0;
	size_t head = size < HEAD ? size : HEAD;
	if (pwrite(fd, data, head, 0) != (ssize_t)head ||
	    (size > HEAD && pwrite(fd, data + HEAD, size - HEAD, TAIL_AT) != (ssize_t)(size - HEAD))) {
		close(fd);
		return 0;
	}
	struct image_inspect ii = {0};
	struct st_err err = {0};
	if (image_inspect__probe(fd, &ii, &err) == 0) {
		/* what the probe says must be self-consistent */
		if (!ii.format || ii.file_size != (size > HEAD ? TAIL_AT + size - HEAD : size))
			abort();
		if (ii.unsafe && strlen(ii.detail) >= sizeof(ii.detail))
			abort();
	}
	for (size_t i = 0; i < sizeof(declared) / sizeof(declared[0]); i++) {
		ii = (struct image_inspect){.max_virtual_size = 1ull << 40};
		err.msg[0] = 0;
		int rc = image_inspect__fd(fd, declared[i], &ii, &err);
		/* a refusal is one line; an acceptance is the declared format's data */
		if (rc < 0 && (!err.msg[0] || strchr(err.msg, '\n')))
			abort();
		if (rc == 0 && ii.virtual_size > (1ull << 40))
			abort();
	}
	close(fd);
	return 0;
}
