/* Crash-test writer: random writes and zero writes through the block layer,
 * a flush every few writes. Each request is logged on stdout BEFORE it is
 * issued ("W id off len byte"), each completed flush after it returns
 * ("F id": everything up to id is durable). The test kills it with SIGKILL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: crash-writer IMAGE SEED [L2_CACHE_BYTES [FLUSH_EVERY]]\n");
		return 2;
	}
	struct st_err err = {0};
	/* a small L2 cache evicts tables between flushes: with lazy refcounts they
	 * then reach the file before the refcounts that cover them */
	struct blk_open_opts o = {.writable = true, .l2_cache_bytes = argc >= 4 ? strtoull(argv[3], NULL, 10) : 0};
	/* most of a writer's time goes to fdatasync, when everything is written:
	 * rarer flushes let kills land between them */
	unsigned long every = argc == 5 ? strtoul(argv[4], NULL, 10) : 8;
	if (!every)
		every = 8;
	struct blk *b;
	if (block__open(argv[1], &o, &b, &err) < 0) {
		err__print(&err);
		return 1;
	}
	srandom((unsigned)strtoul(argv[2], NULL, 10));
	static unsigned char buf[1 << 18];
	for (unsigned long id = 1;; id++) {
		uint64_t len = 1 + (uint64_t)random() % (sizeof(buf) - 1);
		if (random() % 4 == 0)
			len = 4096 * (1 + (uint64_t)random() % 16);
		uint64_t off = (uint64_t)random() % (b->size - len);
		if (random() % 3 == 0)
			off &= ~4095ull;
		int zero = random() % 8 == 0;
		unsigned char byte = zero ? 0 : (unsigned char)(id % 251 + 1);
		printf("W %lu %llu %llu %u\n", id, (unsigned long long)off, (unsigned long long)len, byte);
		fflush(stdout);
		int r = zero ? block__pwrite_zeroes(b, len, off, &err)
			     : (memset(buf, byte, len), block__pwrite(b, buf, len, off, &err));
		if (r < 0) {
			err__print(&err);
			return 1;
		}
		if (id % every == 0) {
			if (block__flush(b, &err) < 0) {
				err__print(&err);
				return 1;
			}
			printf("F %lu\n", id);
			fflush(stdout);
		}
	}
}
