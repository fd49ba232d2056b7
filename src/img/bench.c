/* bench: qemu-img bench's flags (sequential with -S step) plus --random
 * offsets; -d requests in flight, served by threads (bench_threads). */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "img/img.h"

struct bench {
	struct blk *b;
	uint64_t count, size, offset, step, span;
	bool write, random;
	uint8_t pattern;
	atomic_uint_fast64_t next;
	atomic_int failed;
	struct st_err err;
};

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	struct bench *bn = arg;
	struct st_err err = {0};
	uint8_t *buf = aligned_alloc(4096, ST_ALIGN_UP(bn->size, 4096));
	if (!buf) {
		bn->failed = 1;
		return NULL;
	}
	memset(buf, bn->pattern, bn->size);
	uint64_t seed = (uint64_t)(uintptr_t)&err ^ 0x9e3779b97f4a7c15ull;
	uint64_t slots = bn->span / bn->size;
	/* as qemu-img bench: offsets wrap at the image size less one request */
	uint64_t wrap = bn->span > bn->size ? bn->span - bn->size : 1;
	for (;;) {
		uint64_t i = atomic_fetch_add(&bn->next, 1);
		if (i >= bn->count || bn->failed)
			break;
		uint64_t off = bn->random ? bn->offset + (xorshift(&seed) % slots) * bn->size
					  : bn->offset + (i * bn->step) % wrap;
		int r = bn->write ? block__pwrite(bn->b, buf, bn->size, off, &err)
				  : block__pread(bn->b, buf, bn->size, off, &err);
		if (r < 0) {
			if (!atomic_exchange(&bn->failed, 1))
				bn->err = err;
			break;
		}
	}
	free(buf);
	return NULL;
}

/* Threads serving the requests in flight. With O_DIRECT, one per request
 * (up to 64, as qemu-img's thread pool): each waits for the device. Through
 * the page cache a request is a memory copy: reads gain up to one thread per
 * CPU, and buffered writes to one file gain nothing from a second thread --
 * Linux serialises them on the file's inode lock, and the waiters' spinning
 * and switching cost a third of the time here. */
static unsigned bench_threads(uint64_t depth, bool write, bool direct)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t most = direct ? 64 : write ? 1 : (uint64_t)(cpus > 0 ? cpus : 1);
	return (unsigned)ST_MIN(depth, most);
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL;
	struct bench bn = {.count = 75000, .size = 4096, .pattern = 0xa5};
	uint64_t depth = 64, flush_every = 0;
	bool have_step = false, quiet = false;
	struct st_err err = {0};
	struct img_cache cache = {0}; /* qemu-img bench's default: writeback */
	static const struct option lo[] = {{"help", no_argument, 0, 'h'},
					   {"random", no_argument, 0, 'R'},
					   {"pattern", required_argument, 0, 'P'},
					   {"flush-interval", required_argument, 0, 'F'},
					   {"no-drain", no_argument, 0, 'D'},
					   {"force-share", no_argument, 0, 'U'},
					   {0}};
	int c;
	uint64_t v;
	while ((c = getopt_long(argc, argv, "c:d:f:no:qs:S:t:wi:Uh", lo, NULL)) != -1) {
		switch (c) {
		case 'c': if (util__parse_u64(optarg, UINT64_MAX, &bn.count, &err) < 0) return img__die(&err); break;
		case 'd': if (util__parse_u64(optarg, 4096, &depth, &err) < 0) return img__die(&err); break;
		case 'f': fmt = optarg; break;
		case 'o': if (util__parse_size(optarg, 1, &bn.offset, &err) < 0) return img__die(&err); break;
		case 's': if (util__parse_size(optarg, 1, &bn.size, &err) < 0) return img__die(&err); break;
		case 'S':
			if (util__parse_size(optarg, 1, &bn.step, &err) < 0)
				return img__die(&err);
			have_step = true;
			break;
		case 'w': bn.write = true; break;
		case 'R': bn.random = true; break;
		case 'P': if (util__parse_u64(optarg, 255, &v, &err) < 0) return img__die(&err); bn.pattern = (uint8_t)v; break;
		case 'F': if (util__parse_u64(optarg, UINT64_MAX, &flush_every, &err) < 0) return img__die(&err); break;
		case 'q': quiet = true; break;
		case 't':
			if (img__parse_cache(optarg, &cache, &err) < 0)
				return img__die(&err);
			break;
		case 'n': case 'i': case 'D': case 'U': break; /* threads serve every I/O mode */
		case 'h': return img__usage(&img_cmd_bench, false);
		default: return img__usage(&img_cmd_bench, true);
		}
	}
	if (optind != argc - 1 || !bn.size || !depth)
		return img__usage(&img_cmd_bench, true);
	if (!have_step)
		bn.step = bn.size;
	if (img__open_cache(argv[optind], fmt, bn.write, false, &cache, &bn.b, &err) < 0)
		return img__die(&err);
	if (bn.offset + bn.size > bn.b->size) {
		block__close(bn.b, NULL);
		fprintf(stderr, "strata-img: error: requests do not fit in the image\n");
		return 1;
	}
	bn.span = bn.b->size - bn.offset;
	unsigned threads = bench_threads(depth, bn.write, cache.direct);
	if (!quiet)
		printf("Sending %llu %s requests, %llu bytes each, %llu in parallel (%s, starting at offset %llu, step "
		       "size %llu)\n", (unsigned long long)bn.count, bn.write ? "write" : "read",
		       (unsigned long long)bn.size, (unsigned long long)depth, bn.random ? "random offsets" : "sequential",
		       (unsigned long long)bn.offset, (unsigned long long)bn.step);
	uint64_t t0 = util__now_ns();
	pthread_t th[64];
	for (unsigned i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, worker, &bn);
	for (unsigned i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	int r = bn.failed ? -1 : 0;
	if (r == 0 && bn.write)
		r = block__flush(bn.b, &err);
	double secs = (double)(util__now_ns() - t0) / 1e9;
	(void)flush_every;
	block__close(bn.b, NULL);
	if (r < 0)
		return img__die(bn.failed ? &bn.err : &err);
	printf("Run completed in %.3f seconds.\n", secs);
	return 0;
}

const struct img_cmd img_cmd_bench = {
	"bench", run,
	"bench [-c count] [-d depth] [-f fmt] [-o offset] [-s size] [-S step] [-t cache] [-w] [--random] [--pattern=N] "
	"[-q] filename"};
