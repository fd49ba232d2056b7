/* virtio-net through the project's own driver, against a host peer on the
 * tap (tests/integration/virtio/net_peer.py): waits for the peer's hello,
 * sends three frames (60, 1000 and 1514 bytes) whose payload the peer checks,
 * then receives three frames from the peer into small (512-byte) mergeable
 * buffers, checks every byte and echoes each back. Ethertype 0x88b5. */
#include "virtio.h"

#define ETHERTYPE 0x88b5
#define RXBUF 512
#define NRX 32

static struct vdev d;
static struct vq rx, tx;
static uint8_t mac[6];
static uint8_t *rxbufs[NRX];

static void post_rx(unsigned i)
{
	struct vbuf b = {rxbufs[i], RXBUF, true};
	vq_submit(&rx, &b, 1, false);
}

static uint8_t pat(unsigned i, unsigned len) { return (uint8_t)(i * 31 + len); }

/* Reassembles the next frame (header's num_buffers says how many buffers). */
static unsigned recv_frame(uint8_t *out, unsigned ms)
{
	uint16_t id;
	uint32_t len;
	if (!vq_wait(&rx, ms, &id, &len))
		return 0;
	unsigned slot = id % NRX; /* one descriptor per buffer: id is the slot */
	uint16_t nbufs;
	memcpy(&nbufs, rxbufs[slot] + 10, 2);
	if (nbufs < 1 || nbufs > 8)
		rt_fail("virtio-net: num_buffers %u", nbufs);
	unsigned total = len - 12;
	memcpy(out, rxbufs[slot] + 12, total);
	post_rx(slot);
	for (unsigned k = 1; k < nbufs; k++) {
		if (!vq_wait(&rx, 5000, &id, &len))
			rt_fail("virtio-net: buffer %u of a merged frame missing", k);
		memcpy(out + total, rxbufs[id % NRX], len);
		total += len;
		post_rx(id % NRX);
	}
	return total;
}

static void send_frame(const uint8_t *frame, unsigned len)
{
	static uint8_t hdr[12];
	struct vbuf b[2] = {{hdr, 12, false}, {frame, len, false}};
	vq_submit(&tx, b, 2, false);
	if (!vq_wait(&tx, 5000, NULL, NULL))
		rt_fail("virtio-net: transmit not completed");
}

static bool ours(const uint8_t *f, unsigned len)
{
	return len >= 14 && f[12] == (ETHERTYPE >> 8) && f[13] == (ETHERTYPE & 0xff);
}

int guest_main(void)
{
	if (!vdev_open(&d, 1, 0))
		rt_fail("virtio-net: device not found");
	const uint64_t mrg = 1ull << 15, f_mac = 1ull << 5;
	if (!(d.offered & mrg))
		rt_fail("virtio-net: no mergeable receive buffers offered");
	if (!vdev_negotiate(&d, d.offered & (VIRTIO_F_VERSION_1 | f_mac | mrg)))
		rt_fail("virtio-net: FEATURES_OK refused");
	for (int i = 0; i < 6; i++)
		mac[i] = mmio_read8((uint64_t)d.devcfg + (uint64_t)i);
	rt_printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3],
		  mac[4], mac[5]);
	vq_setup(&d, &rx, 0, NRX, 0xffff);
	vq_setup(&d, &tx, 1, 16, 0xffff);
	vdev_driver_ok(&d);
	for (unsigned i = 0; i < NRX; i++) {
		rxbufs[i] = vmalloc(RXBUF, 64);
		post_rx(i);
	}
	uint8_t *f = vmalloc(2048, 64), *out = vmalloc(2048, 64);
	unsigned len;
	do {
		len = recv_frame(f, 60000);
		if (!len)
			rt_fail("virtio-net: no hello from the host peer in 60 s");
	} while (!ours(f, len) || memcmp(f + 14, "strata-hello", 12));
	uint8_t peer[6];
	memcpy(peer, f + 6, 6);
	rt_puts("virtio-net: hello received\n");

	static const unsigned sizes[3] = {60, 1000, 1514};
	for (int k = 0; k < 3; k++) {
		memcpy(out, peer, 6);
		memcpy(out + 6, mac, 6);
		out[12] = ETHERTYPE >> 8, out[13] = ETHERTYPE & 0xff;
		for (unsigned i = 14; i < sizes[k]; i++)
			out[i] = pat(i, sizes[k]);
		send_frame(out, sizes[k]);
	}
	rt_puts("virtio-net: 3 frames sent\n");
	for (int got = 0; got < 3;) {
		len = recv_frame(f, 30000);
		if (!len)
			rt_fail("virtio-net: frame %d from the peer did not come", got);
		if (!ours(f, len) || !memcmp(f + 14, "strata-hello", 12))
			continue;
		if (memcmp(f, mac, 6))
			rt_fail("virtio-net: frame for another MAC");
		for (unsigned i = 14; i < len; i++)
			if (f[i] != pat(i, len))
				rt_fail("virtio-net: peer frame of %u bytes differs at byte %u", len, i);
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		memcpy(out + 12, f + 12, len - 12);
		out[14] ^= 0xff; /* mark the echo */
		send_frame(out, len);
		got++;
		rt_printf("virtio-net: peer frame of %u bytes checked and echoed\n", len);
	}
	rt_puts("virtio-net: PASS\n");
	return 0;
}
