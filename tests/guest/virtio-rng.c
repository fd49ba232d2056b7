/* virtio-rng through the project's own driver: two requests (direct and
 * indirect) must come back full and different. */
#include "virtio.h"

int guest_main(void)
{
	struct vdev d;
	struct vq vq;
	if (!vdev_open(&d, 4, 0))
		rt_fail("virtio-rng: device not found");
	if (!vdev_negotiate(&d, d.offered & (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT)))
		rt_fail("virtio-rng: FEATURES_OK refused");
	vq_setup(&d, &vq, 0, 16, 0xffff);
	vdev_driver_ok(&d);
	uint8_t *a = vmalloc(64, 64), *b = vmalloc(64, 64);
	struct vbuf ba = {a, 64, true}, bb[2] = {{b, 20, true}, {b + 20, 44, true}};
	uint32_t la = 0, lb = 0;
	vq_submit(&vq, &ba, 1, false);
	if (!vq_wait(&vq, 5000, NULL, &la))
		rt_fail("virtio-rng: no answer");
	vq_submit(&vq, bb, 2, true);
	if (!vq_wait(&vq, 5000, NULL, &lb))
		rt_fail("virtio-rng: no answer to the indirect request");
	if (la != 64 || lb != 64)
		rt_fail("virtio-rng: used lengths %u and %u, expected 64", la, lb);
	if (!memcmp(a, b, 64))
		rt_fail("virtio-rng: two requests gave the same bytes");
	unsigned zeros = 0;
	for (int i = 0; i < 64; i++)
		zeros += !a[i];
	if (zeros > 8)
		rt_fail("virtio-rng: %u zero bytes of 64", zeros);
	rt_printf("virtio-rng: %02x%02x%02x%02x... PASS\n", a[0], a[1], a[2], a[3]);
	return 0;
}
