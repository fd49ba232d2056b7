/* libFuzzer: any bytes as a qcow2 image through open, reads, block status
 * and a read-only check. The image lives in a memfd; the backing chain is
 * not followed (names in the input must not reach real files). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/block.h"
#include "block/qcow2_public.h"
#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet) {
		log__set_level(ST_LOG_ERROR);
		quiet = 1;
		qcow2_check_log = fopen("/dev/null", "w");
	}
	int fd = memfd_create("fuzz-qcow2", 0);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct blk_open_opts o = {.format = "qcow2", .no_backing = true, .l2_cache_bytes = 1 << 16};
	struct blk *b;
	struct st_err err = {0};
	if (block__open(path, &o, &b, &err) == 0) {
		static uint8_t buf[1 << 16];
		uint64_t step = b->size / 7 + 1;
		for (uint64_t off = 0; off < b->size && off < (64ull << 20); off += step) {
			uint64_t n = b->size - off < sizeof(buf) ? b->size - off : sizeof(buf);
			block__pread(b, buf, n, off, &err);
			struct block__status st;
			block__status(b, off, n, &st, &err);
		}
		struct qcow2_check_result r;
		if (size < (1 << 20))
			qcow2__check(b, QCOW2_REPAIR_NONE, &r, &err);
		block__close(b, NULL);
	}
	/* the write path on hostile metadata: allocation, COW, refcount updates */
	if (size < (64 << 10) && lseek(fd, 0, SEEK_SET) == 0 && ftruncate(fd, (off_t)size) == 0 &&
	    pwrite(fd, data, size, 0) == (ssize_t)size) {
		o.writable = true;
		if (block__open(path, &o, &b, &err) == 0) {
			static uint8_t wbuf[70000];
			memset(wbuf, 0x5a, sizeof(wbuf));
			uint64_t n = b->size < sizeof(wbuf) ? b->size : sizeof(wbuf);
			if (block__pwrite(b, wbuf, n / 2 + 1 < n ? n / 2 + 1 : n, b->size - n, &err) == 0 &&
			    block__pwrite_zeroes(b, n / 3, 0, &err) == 0)
				block__flush(b, &err);
			block__close(b, NULL);
		}
	}
	close(fd);
	return 0;
}
