/* Random operations through the block layer on one image, mirrored on a
 * plain buffer: writes, zero writes, discards, compressed writes, flushes
 * and internal snapshots (create / apply / delete). At the end the mirror is
 * written to MIRROR; the test compares it with the image through qemu-img.
 * usage: torture IMAGE MIRROR SEED OPS */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "block/qcow2_public.h"

#define MAX_SNAPS 3

static unsigned long rnd(void)
{
	return (unsigned long)random();
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: torture IMAGE MIRROR SEED OPS\n");
		return 2;
	}
	struct st_err err = {0};
	struct blk_open_opts o = {.writable = true};
	/* the smallest caches: every lookup may evict (and write back) a table */
	if (getenv("TORTURE_TINY_CACHES"))
		o.l2_cache_bytes = o.refcount_cache_bytes = 1;
	struct blk *b;
	if (block__open(argv[1], &o, &b, &err) < 0)
		goto fail;
	srandom((unsigned)strtoul(argv[3], NULL, 10));
	long ops = strtol(argv[4], NULL, 10);
	uint64_t size = b->size, cs = block__cluster_size(b);
	struct qcow2_info qi;
	qcow2__get_info(b, &qi);
	const char *bname, *bfmt;
	bool backed = block__backing_file(b, &bname, &bfmt);
	uint8_t *mirror = malloc(size), *buf = malloc(cs > (1 << 20) ? cs : (1 << 20));
	uint8_t *snaps[MAX_SNAPS] = {0};
	char names[MAX_SNAPS][8];
	if (!mirror || !buf || block__pread(b, mirror, size, 0, &err) < 0)
		goto fail;
	/* snapshots of an earlier run are not mirrored: start without them */
	struct blk_snapshot *old;
	unsigned nold;
	if (block__snapshot_list(b, &old, &nold, &err) < 0)
		goto fail;
	for (unsigned k = 0; k < nold; k++)
		if (block__snapshot_delete(b, old[k].id, &err) < 0)
			goto fail;
	block__snapshots_free(old, nold);
	bool verify = getenv("TORTURE_CHECK") != NULL; /* debugging: check after every operation */
	for (long i = 0; i < ops; i++) {
		if (verify) {
			struct qcow2_check_result cr;
			if (block__flush(b, &err) < 0 || qcow2__check(b, QCOW2_REPAIR_NONE, &cr, &err) < 0)
				goto fail;
			if (cr.corruptions || cr.leaks) {
				fprintf(stderr, "torture: inconsistent before operation %ld\n", i);
				return 1;
			}
		}
		unsigned long what = rnd() % 100;
		if (verify)
			fprintf(stderr, "op %ld: %lu\n", i, what);
		uint64_t len = 1 + rnd() % (rnd() % 4 ? 70000 : (1 << 20) - 1);
		if (len > size)
			len = size;
		uint64_t off = rnd() % (size - len + 1);
		if (rnd() % 2)
			off -= off % 512;
		uint8_t byte = (uint8_t)(1 + rnd() % 255);
		if (what < 50) {
			memset(buf, byte, len);
			for (uint64_t k = 0; k < len; k += 97)
				buf[k] = (uint8_t)(k ^ i);
			if (block__pwrite(b, buf, len, off, &err) < 0)
				goto fail;
			memcpy(mirror + off, buf, len);
		} else if (what < 62) {
			if (block__pwrite_zeroes(b, len, off, &err) < 0)
				goto fail;
			memset(mirror + off, 0, len);
		} else if (what < 72) {
			if (block__discard(b, len, off, &err) < 0)
				goto fail;
			/* whole clusters only; v2 over a backing file keeps the data */
			uint64_t from = (off + cs - 1) / cs * cs, to = (off + len) / cs * cs;
			if (off + len == size)
				to = size;
			if (to > from && !(qi.version == 2 && backed))
				memset(mirror + from, 0, to - from);
		} else if (what < 82) {
			uint64_t c = (rnd() % ((size + cs - 1) / cs)) * cs;
			uint64_t n = size - c < cs ? size - c : cs;
			memset(buf, byte, cs);
			if (rnd() % 2)
				for (uint64_t k = 0; k < cs; k += 61)
					buf[k] = (uint8_t)rnd();
			if (block__pwrite_compressed(b, buf, c, &err) < 0)
				goto fail;
			memcpy(mirror + c, buf, n);
		} else if (what < 88) {
			if (block__flush(b, &err) < 0)
				goto fail;
		} else if (qi.refcount_bits >= 2) {
			/* a few snapshots only where refcounts have room (qemu refuses the same way) */
			int s = (int)(rnd() % (qi.refcount_bits >= 4 ? MAX_SNAPS : 1));
			snprintf(names[s], sizeof(names[s]), "s%d", s);
			/* a refusal for lack of refcount room must leave the image as it was */
			if (!snaps[s]) {
				if (block__snapshot_create(b, names[s], &err) < 0) {
					if (err.errnum != EOVERFLOW)
						goto fail;
					continue;
				}
				snaps[s] = malloc(size);
				memcpy(snaps[s], mirror, size);
			} else if (rnd() % 2) {
				if (block__snapshot_apply(b, names[s], &err) < 0) {
					if (err.errnum != EOVERFLOW)
						goto fail;
					continue;
				}
				memcpy(mirror, snaps[s], size);
			} else {
				if (block__snapshot_delete(b, names[s], &err) < 0)
					goto fail;
				free(snaps[s]);
				snaps[s] = NULL;
			}
		}
	}
	if (block__pread(b, buf, size < (1 << 20) ? size : (1 << 20), 0, &err) < 0)
		goto fail;
	if (memcmp(buf, mirror, size < (1 << 20) ? size : (1 << 20))) {
		fprintf(stderr, "torture: the image does not read back what was written\n");
		return 1;
	}
	if (block__close(b, &err) < 0)
		goto fail;
	FILE *f = fopen(argv[2], "wb");
	int ret = !f || fwrite(mirror, 1, size, f) != size || fclose(f);
	for (int k = 0; k < MAX_SNAPS; k++)
		free(snaps[k]);
	free(mirror);
	free(buf);
	return ret;
fail:
	err__print(&err);
	return 1;
}
