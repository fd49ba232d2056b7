/* A slow disk stalls neither a vCPU nor another device. Disk 0 sits on a file
 * whose requests at sector HELD the host test holds as long as it likes
 * (tests/integration/vm/virtio/slow_fuse.py, a FUSE file system); disk 1 is a
 * plain file; virtio-rng. For a read, a write-zeroes (without unmap), then a
 * write, of 4 KiB at HELD on disk 0:
 *  1. the request is submitted, and not waited for;
 *  2. round after round, until a byte arrives on COM1 (the host has seen the
 *     request held in its file system, and rounds after that): disk 0's
 *     device status and capacity are read (exits to the VMM that take disk
 *     0's device lock), a 4 KiB write on disk 1 is read back and compared,
 *     virtio-rng gives 32 bytes, and a line "slowdisk: <step> held, round N"
 *     shows the vCPU running;
 *  3. disk 0's used ring must still be empty: "slowdisk: <step> still held";
 *  4. the host releases the request; it must succeed, and the read must bring
 *     the bytes the host put in the image (rpat); the host checks the zeros
 *     and, at the end, the write's wpat.
 * Polled queues, no interrupts. */
#include "virtio.h"

#define SECTOR 512
#define HELD 128        /* sector; the host test holds requests that touch it */
#define LEN 4096
#define MAX_ROUNDS 5000 /* the host says "go" long before */
#define BLK_F_WRITE_ZEROES (1ull << 14)

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct blk_req {
	struct blk_hdr hdr;
	uint8_t status;
	uint16_t head;
};

static uint8_t rpat(unsigned i) { return (uint8_t)(i * 13 + 7 + (i >> 8)); }
static uint8_t wpat(unsigned i) { return (uint8_t)(i * 29 + 3 + (i >> 8)); }
static uint8_t dpat(unsigned i, unsigned round) { return (uint8_t)(i * 5 + round + (i >> 8)); }

static void blk_submit(struct vq *vq, struct blk_req *r, uint32_t type, uint64_t sector, void *data,
		       uint32_t len)
{
	r->hdr = (struct blk_hdr){type, 0, sector};
	r->status = 0xee;
	struct vbuf b[3] = {{&r->hdr, sizeof(r->hdr), false}, {data, len, type == 0},
			    {&r->status, 1, true}};
	r->head = vq_submit(vq, b, 3, false);
}

static void blk_wait(struct vq *vq, struct blk_req *r, unsigned ms, const char *what)
{
	uint16_t id;
	if (!vq_wait(vq, ms, &id, NULL))
		rt_fail("slowdisk: %s got no answer", what);
	if (id != r->head)
		rt_fail("slowdisk: %s: used id %u, expected %u", what, id, r->head);
	if (r->status != 0)
		rt_fail("slowdisk: %s: status %u", what, r->status);
}

static bool used_pending(const struct vq *vq)
{
	return *(volatile uint16_t *)(vq->used + 2) != vq->last_used;
}

static bool host_says_go(void)
{
	if (!(inb(COM1 + 5) & 1)) /* LSR: data ready */
		return false;
	(void)inb(COM1);
	return true;
}

static struct vdev slow, plain, rng;
static struct vq slow_q, plain_q, rng_q;

static void open_dev(struct vdev *d, struct vq *q, unsigned type, unsigned nth)
{
	if (!vdev_open(d, type, nth))
		rt_fail("slowdisk: virtio device type %u #%u not found", type, nth);
	if (!vdev_negotiate(d, d->offered & (VIRTIO_F_VERSION_1 | BLK_F_WRITE_ZEROES)))
		rt_fail("slowdisk: FEATURES_OK refused");
	vq_setup(d, q, 0, 16, 0xffff);
	vdev_driver_ok(d);
}

/* Everything else, while disk 0's request is held: until the host says go. */
static unsigned serve_others(const char *step, uint64_t capacity)
{
	static uint8_t *w, *r, *noise;
	static unsigned total;
	if (!w)
		w = vmalloc(LEN, 4096), r = vmalloc(LEN, 4096), noise = vmalloc(32, 32);
	struct blk_req req;
	unsigned round = 0;
	while (!host_says_go()) {
		if (++round > MAX_ROUNDS)
			rt_fail("slowdisk: the host never let the %s go", step);
		if (!(vdev_status(&slow) & VIRTIO_S_DRIVER_OK) ||
		    mmio_read32((uint64_t)slow.devcfg) != (uint32_t)capacity)
			rt_fail("slowdisk: disk 0's registers changed while its %s is held", step);
		uint64_t sector = 8 * (total++ % 64);
		for (unsigned i = 0; i < LEN; i++)
			w[i] = dpat(i, total);
		blk_submit(&plain_q, &req, 1, sector, w, LEN);
		blk_wait(&plain_q, &req, 10000, "a disk 1 write while disk 0 is held");
		memset(r, 0, LEN);
		blk_submit(&plain_q, &req, 0, sector, r, LEN);
		blk_wait(&plain_q, &req, 10000, "a disk 1 read while disk 0 is held");
		if (memcmp(w, r, LEN))
			rt_fail("slowdisk: disk 1 read back other bytes than written");
		struct vbuf nb = {noise, 32, true};
		vq_submit(&rng_q, &nb, 1, false);
		if (!vq_wait(&rng_q, 10000, NULL, NULL))
			rt_fail("slowdisk: virtio-rng did not answer while disk 0 is held");
		rt_printf("slowdisk: %s held, round %u\n", step, round);
	}
	return round;
}

static void held_step(const char *step, uint32_t type, void *buf, uint32_t len, uint64_t capacity)
{
	struct blk_req req;
	blk_submit(&slow_q, &req, type, HELD, buf, len);
	rt_printf("slowdisk: %s of sector %u submitted on disk 0\n", step, HELD);
	unsigned rounds = serve_others(step, capacity);
	if (used_pending(&slow_q))
		rt_fail("slowdisk: disk 0's %s finished before the host released it", step);
	rt_printf("slowdisk: %s still held after %u rounds; disk 1, virtio-rng and the vCPU "
		  "served meanwhile\n", step, rounds);
	blk_wait(&slow_q, &req, 120000, step);
	rt_printf("slowdisk: %s released and done\n", step);
}

int guest_main(void)
{
	open_dev(&slow, &slow_q, 2, 0);
	open_dev(&plain, &plain_q, 2, 1);
	open_dev(&rng, &rng_q, 4, 0);
	uint64_t capacity = mmio_read32((uint64_t)slow.devcfg);
	if (capacity <= HELD + LEN / SECTOR)
		rt_fail("slowdisk: disk 0 has %lu sectors, too few", (unsigned long)capacity);

	uint8_t *buf = vmalloc(LEN, 4096);
	held_step("read", 0, buf, LEN, capacity);
	for (unsigned i = 0; i < LEN; i++)
		if (buf[i] != rpat(i))
			rt_fail("slowdisk: the held read brought %02x at byte %u, expected %02x", buf[i],
				i, rpat(i));
	rt_puts("slowdisk: the held read brought the image's bytes\n");

	struct { uint64_t sector; uint32_t num_sectors, flags; } *zeroes = vmalloc(16, 16);
	*zeroes = (typeof(*zeroes)){HELD, LEN / SECTOR, 0};
	held_step("write-zeroes", 13, zeroes, sizeof(*zeroes), capacity);

	for (unsigned i = 0; i < LEN; i++)
		buf[i] = wpat(i);
	held_step("write", 1, buf, LEN, capacity);
	rt_puts("slowdisk: PASS\n");
	return 0;
}
