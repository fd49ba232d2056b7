/* virtio-blk device throughput on the host: a fake driver in this process puts
 * requests on a split virtqueue in (fake) guest memory and the device's own
 * data path (vblk__serve/vblk__complete: chain walker, request parser, raw
 * backend on io_uring) serves them, keeping QD requests in flight: the driver
 * refills a slot as soon as its request completes. Beside it, plain
 * pread/pwrite of the same sizes and offsets on the same file, one at a time,
 * in the same run. Prints requests/s and the ratio (target >= 0.8).
 *   virtio-blk-bench [FILE [SIZE_MIB [FILTER]]]   (default: a 256 MiB file in /var/tmp;
 *   FILTER keeps the workloads whose name contains it, e.g. "randread  QD1") */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "vm/virtio/blk.h"

#define QSIZE 256
#define DESC 0x10000ull
#define AVAIL 0x20000ull
#define USED 0x30000ull
#define HDRS 0x40000ull    /* 16-byte headers, then status bytes at +0x4000 */
#define DATA (16ull << 20) /* 32 data buffers of up to 1 MiB */
#define MEM (64ull << 20)

static struct guest_mem mem;
static struct virtqueue vq;
static struct vblk_engine engine;
static struct disk *dk;
static uint16_t avail_idx, last_used;
static uint64_t rng = 88172645463325252ull;

#define ROUNDS 9

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static uint64_t next_rand(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

struct workload {
	const char *name;
	uint32_t type, bs;
	bool random;
	unsigned qd, requests;
};

static uint64_t offset_of(const struct workload *w, unsigned i, uint64_t disk_size)
{
	uint64_t slots = disk_size / w->bs;
	return (w->random ? next_rand() % slots : i % slots) * w->bs;
}

/* Puts one 3-descriptor request (header, data, status) at slot s. */
static void submit(const struct workload *w, unsigned s, uint64_t off)
{
	struct virtq_desc *d = (struct virtq_desc *)(mem.host + DESC) + 3 * s;
	uint64_t hdr = HDRS + 16 * s, status = HDRS + 0x4000 + s, data = DATA + (uint64_t)s * (1 << 20);
	uint32_t h[4] = {w->type, 0, (uint32_t)(off / 512), (uint32_t)(off / 512 >> 32)};
	memcpy(mem.host + hdr, h, 16);
	uint16_t wflag = w->type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;
	d[0] = (struct virtq_desc){hdr, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(3 * s + 1)};
	d[1] = (struct virtq_desc){data, w->bs, (uint16_t)(VIRTQ_DESC_F_NEXT | wflag), (uint16_t)(3 * s + 2)};
	d[2] = (struct virtq_desc){status, 1, VIRTQ_DESC_F_WRITE, 0};
	uint16_t *avail = (uint16_t *)(mem.host + AVAIL);
	avail[2 + avail_idx % QSIZE] = (uint16_t)(3 * s);
	__atomic_store_n(&avail[1], ++avail_idx, __ATOMIC_RELEASE);
}

#define QD_MAX 32

static double run_virtio(const struct workload *w)
{
	struct st_err err = {0};
	unsigned slots[QD_MAX], nfree = 0, issued = 0, done = 0, pushed;
	for (unsigned s = 0; s < w->qd; s++)
		slots[nfree++] = s;
	uint64_t t0 = util__now_ns();
	while (done < w->requests) {
		for (; nfree && issued < w->requests; issued++)
			submit(w, slots[--nfree], offset_of(w, issued, dk->size));
		if (vblk__serve(&engine, 0, &pushed, &err) < 0) {
			fprintf(stderr, "virtio-blk-bench: device failed: %s\n", err.msg);
			exit(1);
		}
		disk__commit(dk);
		uint32_t queues;
		if (!vblk__complete(&engine, &queues) && !pushed) {
			disk__wait(dk);
			vblk__complete(&engine, &queues);
		}
		/* the driver's side: reap, check every status byte, reuse the slot */
		uint16_t used = __atomic_load_n((uint16_t *)(mem.host + USED + 2), __ATOMIC_ACQUIRE);
		for (; last_used != used; last_used++, done++) {
			uint32_t id;
			memcpy(&id, mem.host + USED + 4 + 8 * (last_used % QSIZE), 4);
			if (mem.host[HDRS + 0x4000 + id / 3] != VIRTIO_BLK_S_OK) {
				fprintf(stderr, "virtio-blk-bench: request failed\n");
				exit(1);
			}
			slots[nfree++] = id / 3;
		}
	}
	return w->requests / ((util__now_ns() - t0) / 1e9);
}

static double run_plain(const struct workload *w, uint8_t *buf)
{
	uint64_t t0 = util__now_ns();
	for (unsigned i = 0; i < w->requests; i++) {
		uint64_t off = offset_of(w, i, dk->size);
		uint8_t *b = buf + (uint64_t)(i % w->qd) * (1 << 20);
		ssize_t r = w->type == VIRTIO_BLK_T_IN ? pread(dk->fd, b, w->bs, (off_t)off)
						       : pwrite(dk->fd, b, w->bs, (off_t)off);
		if (r != (ssize_t)w->bs) {
			fprintf(stderr, "virtio-blk-bench: plain I/O failed: %s\n", strerror(errno));
			exit(1);
		}
	}
	return w->requests / ((util__now_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/var/tmp/strata-virtio-blk-bench.img";
	uint64_t size_mib = argc > 2 ? strtoull(argv[2], NULL, 10) : 256;
	struct st_err err = {0};
	uint8_t *buf = aligned_alloc(4096, 32u << 20);
	if (!buf || mem__init(&mem, MEM, false, &err) < 0) {
		fprintf(stderr, "virtio-blk-bench: %s\n", err.msg[0] ? err.msg : "out of memory");
		return 1;
	}
	for (size_t i = 0; i < (32u << 20); i++)
		buf[i] = (uint8_t)next_rand();
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(size_mib << 20)) < 0) {
		fprintf(stderr, "virtio-blk-bench: cannot create %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (uint64_t off = 0; off < size_mib << 20; off += 32u << 20) /* real data, no holes */
		if (pwrite(fd, buf, ST_MIN(32ull << 20, (size_mib << 20) - off), (off_t)off) < 0)
			return 1;
	close(fd);
	if (disk__open_raw(path, false, &dk, &err) < 0) {
		fprintf(stderr, "virtio-blk-bench: %s\n", err.msg);
		return 1;
	}
	vq__reset(&vq);
	vq.size = QSIZE, vq.desc_gpa = DESC, vq.avail_gpa = AVAIL, vq.used_gpa = USED;
	if (vq__start(&vq, &mem, false, &err) < 0)
		return 1;
	engine = (struct vblk_engine){.dk = dk, .serial = "bench", .mem = &mem, .vqs = &vq};

	static const struct workload loads[] = {
		{"4k-randread  QD1", VIRTIO_BLK_T_IN, 4096, true, 1, 100000},
		{"4k-randread  QD32", VIRTIO_BLK_T_IN, 4096, true, 32, 100000},
		{"4k-randwrite QD1", VIRTIO_BLK_T_OUT, 4096, true, 1, 20000},
		{"4k-randwrite QD32", VIRTIO_BLK_T_OUT, 4096, true, 32, 20000},
		{"1m-seqread   QD1", VIRTIO_BLK_T_IN, 1 << 20, false, 1, 200},
		{"1m-seqread   QD32", VIRTIO_BLK_T_IN, 1 << 20, false, 32, 200},
		{"1m-seqwrite  QD1", VIRTIO_BLK_T_OUT, 1 << 20, false, 1, 200},
		{"1m-seqwrite  QD32", VIRTIO_BLK_T_OUT, 1 << 20, false, 32, 200},
	};
	printf("virtio-blk device path (%s) vs plain pread/pwrite one at a time, %s\n"
	       "(%llu MiB, page cache warm); medians of 9 alternating rounds. QDn: n requests in\n"
	       "flight at the disk.\n", dk->ops->submit ? "io_uring" : "synchronous", path,
	       (unsigned long long)size_mib);
	printf("%-18s %14s %14s %7s\n", "workload", "virtio req/s", "plain req/s", "ratio");
	for (size_t i = 0; i < ST_ARRAY_SIZE(loads); i++) {
		if (argc > 3 && !strstr(loads[i].name, argv[3]))
			continue;
		/* Alternate the two (each goes first in every other round), nine
		 * rounds each, and keep the medians: a shared machine's noise and the
		 * page cache's writeback then hit both sides alike. */
		double v[ROUNDS], p[ROUNDS];
		for (int round = 0; round < ROUNDS; round++) {
			if (round % 2) {
				v[round] = run_virtio(&loads[i]);
				p[round] = run_plain(&loads[i], buf);
			} else {
				p[round] = run_plain(&loads[i], buf);
				v[round] = run_virtio(&loads[i]);
			}
		}
		qsort(v, ROUNDS, sizeof(double), cmp_double);
		qsort(p, ROUNDS, sizeof(double), cmp_double);
		printf("%-18s %14.0f %14.0f %6.2fx\n", loads[i].name, v[ROUNDS / 2], p[ROUNDS / 2],
		       v[ROUNDS / 2] / p[ROUNDS / 2]);
		fflush(stdout);
	}
	vblk__engine_free(&engine);
	disk__close(dk);
	if (argc < 2)
		unlink(path);
	return 0;
}
