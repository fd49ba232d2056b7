/* A hostile virtio driver: malformed chains, bad feature negotiation and
 * notifications before DRIVER_OK, each on a freshly reset virtio-blk with two
 * queues. After each bad chain on queue 0 the device must answer nothing on
 * that queue, set NEEDS_RESET, and still serve a good read on queue 1; the VMM
 * must stay alive (this guest reaching its end proves it) and log one line per
 * case (the host test counts them). Needs one writable disk with queues=2.
 * The chain cases run on split rings, then the packed ring's own on packed
 * rings (VIRTIO_F_RING_PACKED). */
#include "virtio.h"

static struct vdev d;
static struct vq q0, q1;
static bool packed;

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct blk_hdr *hdr;
static uint8_t *buf, *status;
static struct vdesc *itable;

static void setup(void)
{
	if (!vdev_open(&d, 2, 0))
		rt_fail("hostile: no virtio-blk");
	uint64_t want = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT | (1ull << 12) | (packed ? VIRTIO_F_PACKED : 0);
	if (!vdev_negotiate(&d, d.offered & want))
		rt_fail("hostile: FEATURES_OK refused for good features");
	vq_setup(&d, &q0, 0, 16, 0xffff);
	vq_setup(&d, &q1, 1, 16, 0xffff);
	if (packed && !q0.packed)
		rt_fail("hostile: the device does not offer packed rings");
	vdev_driver_ok(&d);
}

static bool wait_status(uint8_t bit, unsigned ms)
{
	for (unsigned t = 0; t < ms * 10; t++) {
		if (vdev_status(&d) & bit)
			return true;
		rt_udelay(100);
	}
	return false;
}

/* A good 512-byte read on queue 1 must still complete. */
static void other_queue_serves(const char *name)
{
	struct blk_hdr *h = vmalloc(sizeof(*h), 16);
	uint8_t *s = vmalloc(1, 1), *data = vmalloc(512, 512);
	*h = (struct blk_hdr){0, 0, 0};
	*s = 0xee;
	struct vbuf b[3] = {{h, 16, false}, {data, 512, true}, {s, 1, true}};
	vq_submit(&q1, b, 3, false);
	if (!vq_wait(&q1, 3000, NULL, NULL) || *s != 0)
		rt_fail("hostile: %s: queue 1 stopped serving (status %u)", name, *s);
}

static void expect_refused(const char *name)
{
	if (vq_wait(&q0, 200, NULL, NULL))
		rt_fail("hostile: %s: the device completed a malformed chain", name);
	if (!wait_status(VIRTIO_S_NEEDS_RESET, 3000))
		rt_fail("hostile: %s: no NEEDS_RESET (status %02x)", name, vdev_status(&d));
	other_queue_serves(name);
	rt_printf("hostile: %s: refused, NEEDS_RESET set, queue 1 still serves\n", name);
}

#define R(a, l) (struct vdesc){(uint64_t)(a), (l), VQ_DESC_NEXT, 0}
static void chain_case(const char *name, struct vdesc *descs, unsigned n)
{
	setup();
	*hdr = (struct blk_hdr){0, 0, 0};
	vq_submit_raw(&q0, descs, n);
	expect_refused(name);
}

static void packed_case(const char *name, struct vpdesc *descs, unsigned n)
{
	setup();
	*hdr = (struct blk_hdr){0, 0, 0};
	vq_submit_raw_packed(&q0, descs, n);
	expect_refused(name);
}

/* The packed walker's own refusals. */
static void packed_cases(void)
{
	const uint64_t H = (uint64_t)hdr, B = (uint64_t)buf, S = (uint64_t)status;
	const uint16_t N = VQ_DESC_NEXT, W = VQ_DESC_WRITE;
	packed = true;
	static struct vpdesc ring[16];
	for (unsigned i = 0; i < 16; i++)
		ring[i] = (struct vpdesc){B, 512, 0, N};
	packed_case("packed: chain longer than the ring", ring, 16);

	struct vpdesc outside[3] = {{H, 16, 0, N}, {0x200000000ull, 512, 0, N | W}, {S, 1, 0, W}};
	packed_case("packed: buffer outside guest RAM", outside, 3);

	struct vpdesc badid[3] = {{H, 16, 0, N}, {B, 512, 0, N | W}, {S, 1, 500, W}};
	packed_case("packed: buffer id beyond the queue size", badid, 3);

	struct vpdesc zero[3] = {{H, 16, 0, N}, {B, 0, 0, N | W}, {S, 1, 0, W}};
	packed_case("packed: zero-length buffer", zero, 3);

	struct vpdesc *pt = (struct vpdesc *)itable;
	pt[0] = (struct vpdesc){H, 16, 0, 0};
	pt[1] = (struct vpdesc){(uint64_t)itable, 32, 0, VQ_DESC_INDIRECT};
	struct vpdesc nested[1] = {{(uint64_t)itable, 32, 0, VQ_DESC_INDIRECT}};
	packed_case("packed: nested indirect table", nested, 1);

	struct vpdesc oddtable[1] = {{(uint64_t)itable, 24, 0, VQ_DESC_INDIRECT}};
	packed_case("packed: indirect table of 24 bytes", oddtable, 1);
	packed = false;
}

int guest_main(void)
{
	hdr = vmalloc(sizeof(*hdr), 16);
	buf = vmalloc(4096, 4096);
	status = vmalloc(1, 1);
	itable = vmalloc(16 * 16, 16);
	const uint64_t H = (uint64_t)hdr, B = (uint64_t)buf, S = (uint64_t)status;
	const uint16_t N = VQ_DESC_NEXT, W = VQ_DESC_WRITE;

	struct vdesc loop[3] = {{H, 16, N, 1}, {B, 512, N | W, 2}, {S, 1, N | W, 1}};
	chain_case("looping chain", loop, 3);

	struct vdesc outside[3] = {{H, 16, N, 1}, {0x200000000ull, 512, N | W, 2}, {S, 1, W, 0}};
	chain_case("buffer outside guest RAM", outside, 3);

	struct vdesc beyond[2] = {{H, 16, N, 1}, {B, 512, N | W, 200}};
	chain_case("next index beyond the queue size", beyond, 2);

	struct vdesc zero[3] = {{H, 16, N, 1}, {B, 0, N | W, 2}, {S, 1, W, 0}};
	chain_case("zero-length buffer", zero, 3);

	struct vdesc huge[3] = {{H, 16, N, 1}, {0x100000, 0xffffffffu, N | W, 2}, {S, 1, W, 0}};
	chain_case("4 GiB buffer", huge, 3);

	struct vdesc ro[3] = {{H, 16, N, 1}, {B, 512, N, 2}, {S, 1, W, 0}};
	chain_case("read into a device-readable buffer", ro, 3);

	struct vdesc nostatus[2] = {{H, 16, N, 1}, {B, 512, 0, 0}};
	chain_case("no writable status byte", nostatus, 2);

	itable[0] = (struct vdesc){H, 16, N, 1};
	itable[1] = (struct vdesc){(uint64_t)itable, 32, VQ_DESC_INDIRECT, 0};
	struct vdesc nested[1] = {{(uint64_t)itable, 32, VQ_DESC_INDIRECT, 0}};
	chain_case("nested indirect table", nested, 1);

	struct vdesc oddtable[1] = {{(uint64_t)itable, 24, VQ_DESC_INDIRECT, 0}};
	chain_case("indirect table of 24 bytes", oddtable, 1);

	/* the available index runs ahead of the queue size */
	setup();
	q0.avail[1] = (uint16_t)(q0.size + 3);
	vq_kick(&q0);
	expect_refused("available index beyond the queue size");

	packed_cases();

	/* features that were not offered, and no VERSION_1 */
	if (!vdev_open(&d, 2, 0))
		rt_fail("hostile: no virtio-blk");
	if (vdev_negotiate(&d, d.offered | (1ull << 50)))
		rt_fail("hostile: FEATURES_OK accepted a feature that was not offered");
	vdev_reset(&d);
	if (vdev_negotiate(&d, d.offered & ~VIRTIO_F_VERSION_1))
		rt_fail("hostile: FEATURES_OK accepted a driver without VERSION_1");
	rt_puts("hostile: bad feature negotiation refused\n");

	/* a notification before DRIVER_OK is not served; DRIVER_OK then serves it */
	if (!vdev_open(&d, 2, 0) || !vdev_negotiate(&d, d.offered & VIRTIO_F_VERSION_1))
		rt_fail("hostile: negotiation failed");
	vq_setup(&d, &q0, 0, 16, 0xffff);
	*hdr = (struct blk_hdr){0, 0, 0};
	*status = 0xee;
	struct vbuf b[3] = {{hdr, 16, false}, {buf, 512, true}, {status, 1, true}};
	vq_submit(&q0, b, 3, false);
	if (vq_wait(&q0, 300, NULL, NULL))
		rt_fail("hostile: the device served a queue before DRIVER_OK");
	vdev_driver_ok(&d);
	if (!vq_wait(&q0, 3000, NULL, NULL) || *status != 0)
		rt_fail("hostile: the early request was not served after DRIVER_OK");
	rt_puts("hostile: notification before DRIVER_OK ignored until DRIVER_OK\n");
	rt_puts("hostile: PASS\n");
	return 0;
}
