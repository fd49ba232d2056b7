/* virtio-console through the project's own driver: says hello on the
 * transmit queue, then waits for a line on the receive queue and echoes it
 * back (the host test talks to it over --vconsole socket:PATH). */
#include "virtio.h"

int guest_main(void)
{
	struct vdev d;
	struct vq rx, tx;
	if (!vdev_open(&d, 3, 0))
		rt_fail("virtio-console: device not found");
	if (!vdev_negotiate(&d, d.offered & (VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX)))
		rt_fail("virtio-console: FEATURES_OK refused");
	vq_setup(&d, &rx, 0, 16, 0xffff);
	vq_setup(&d, &tx, 1, 16, 0xffff);
	vdev_driver_ok(&d);
	static const char hello[] = "hvc0: hello from the strata test guest\n";
	struct vbuf b = {hello, sizeof(hello) - 1, false};
	vq_submit(&tx, &b, 1, false);
	if (!vq_wait(&tx, 5000, NULL, NULL))
		rt_fail("virtio-console: transmit not completed");
	rt_puts("virtio-console: hello sent\n");

	/* collect input until a newline (several receive buffers may be needed) */
	char *line = vmalloc(256, 16);
	uint32_t have = 0;
	while (!have || line[have - 1] != '\n') {
		char *piece = vmalloc(64, 16);
		struct vbuf r = {piece, 64, true};
		uint32_t len = 0;
		vq_submit(&rx, &r, 1, false);
		if (!vq_wait(&rx, 30000, NULL, &len))
			rt_fail("virtio-console: no input in 30 s");
		if (len > 64 || have + len > 200)
			rt_fail("virtio-console: bad receive length %u", len);
		memcpy(line + have, piece, len);
		have += len;
	}
	char *out = vmalloc(256, 16);
	memcpy(out, "echo: ", 6);
	memcpy(out + 6, line, have);
	struct vbuf e = {out, 6 + have, false};
	vq_submit(&tx, &e, 1, false);
	if (!vq_wait(&tx, 5000, NULL, NULL))
		rt_fail("virtio-console: echo not completed");
	rt_puts("virtio-console: PASS\n");
	return 0;
}
