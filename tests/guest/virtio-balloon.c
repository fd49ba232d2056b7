/* virtio-balloon through the project's own driver: reports statistics,
 * waits for the target the host sets on the control socket, inflates that
 * many pages (filled with a pattern first: once the host freed them they read
 * as zeros), reports "actual", then refreshes the statistics when the host
 * asks for them. The host test drives it (balloon-set, balloon-stats). */
#include "virtio.h"

struct stat_entry {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

static struct vdev d;
static struct vq inflate, deflate, statsq;
static struct stat_entry *stats;

static void post_stats(uint64_t free_pages)
{
	stats[0] = (struct stat_entry){4, free_pages * 4096};   /* free_memory */
	stats[1] = (struct stat_entry){5, 64ull << 20};         /* total_memory */
	stats[2] = (struct stat_entry){3, 4242};                /* minor_faults */
	struct vbuf b = {stats, 3 * sizeof(*stats), false};
	vq_submit(&statsq, &b, 1, false);
}

int guest_main(void)
{
	if (!vdev_open(&d, 5, 0))
		rt_fail("balloon: device not found");
	if (!(d.offered & 2))
		rt_fail("balloon: no statistics queue offered");
	if (!vdev_negotiate(&d, d.offered & (VIRTIO_F_VERSION_1 | 2)))
		rt_fail("balloon: FEATURES_OK refused");
	vq_setup(&d, &inflate, 0, 32, 0xffff);
	vq_setup(&d, &deflate, 1, 32, 0xffff);
	vq_setup(&d, &statsq, 2, 4, 0xffff);
	stats = vmalloc(3 * sizeof(*stats), 16);
	vdev_driver_ok(&d);
	post_stats(1000);
	rt_puts("balloon: ready\n");

	uint32_t target = 0;
	for (int t = 0; t < 3000 && !target; t++) { /* up to ~30 s */
		target = mmio_read32((uint64_t)d.devcfg);
		if (!target)
			rt_udelay(10000);
	}
	if (!target || target > 2048)
		rt_fail("balloon: target of %u pages (expected 1..2048)", target);
	uint8_t *pages = vmalloc((size_t)target * 4096, 4096);
	for (uint32_t i = 0; i < target; i++)
		pages[(size_t)i * 4096] = 0xa5;
	uint32_t *pfns = vmalloc(256 * 4, 16);
	for (uint32_t done = 0; done < target;) {
		uint32_t n = target - done < 256 ? target - done : 256;
		for (uint32_t i = 0; i < n; i++)
			pfns[i] = (uint32_t)(((uint64_t)pages >> 12) + done + i);
		struct vbuf b = {pfns, n * 4, false};
		vq_submit(&inflate, &b, 1, false);
		if (!vq_wait(&inflate, 5000, NULL, NULL))
			rt_fail("balloon: inflate not acknowledged");
		done += n;
	}
	mmio_write32((uint64_t)d.devcfg + 4, target);
	unsigned freed = 0;
	for (uint32_t i = 0; i < target; i++)
		freed += pages[(size_t)i * 4096] == 0;
	rt_printf("balloon: inflated %u pages, %u read back as zeros\n", target, freed);
	if (freed != target)
		rt_fail("balloon: the host did not free the inflated pages");

	/* the host's balloon-stats hands the stats buffer back: refill it */
	if (!vq_wait(&statsq, 30000, NULL, NULL))
		rt_fail("balloon: the stats buffer never came back");
	post_stats(777);
	rt_puts("balloon: stats refreshed\n");
	/* wait for the host to read them, then end */
	if (!vq_wait(&statsq, 30000, NULL, NULL))
		rt_fail("balloon: the refreshed stats were never read");
	rt_puts("balloon: PASS\n");
	return 0;
}
