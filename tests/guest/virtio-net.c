/* virtio-net through the project's own driver, against a host peer on the
 * tap (tests/integration/vm/virtio/net_peer.py): waits for the peer's hello,
 * sends three frames (60, 1000 and 1514 bytes) whose payload the peer checks,
 * then receives three frames from the peer into small (512-byte) mergeable
 * buffers, checks every byte and echoes each back. Ethertype 0x88b5.
 * With "pairs=2" it negotiates multiqueue: the control queue switches two
 * queue pairs on (VQ_PAIRS_SET), frames go out on both transmit queues and
 * come in on whichever receive queue the tap steers them to. */
#include "virtio.h"

#define ETHERTYPE 0x88b5
#define RXBUF 512
#define NRX 32

static struct vdev d;
static struct vq rxq[2], txq[2], ctrl;
static unsigned npairs = 1, sent;
static uint8_t mac[6];
static uint8_t *rxbufs[2][NRX];

static void post_rx(unsigned q, unsigned i)
{
	struct vbuf b = {rxbufs[q][i], RXBUF, true};
	vq_submit(&rxq[q], &b, 1, false);
}

/* The next used entry of any receive queue within ms; which queue in *q. */
static bool rx_wait(unsigned ms, unsigned *q, uint16_t *id, uint32_t *len)
{
	for (unsigned t = 0; t <= ms; t++)
		for (unsigned k = 0; k < npairs; k++)
			if (vq_wait(&rxq[k], 0, id, len)) {
				*q = k;
				return true;
			}
			else if (k + 1 == npairs)
				rt_udelay(1000);
	return false;
}

static uint8_t pat(unsigned i, unsigned len) { return (uint8_t)(i * 31 + len); }

/* Reassembles the next frame (header's num_buffers says how many buffers). */
static unsigned recv_frame(uint8_t *out, unsigned ms)
{
	uint16_t id;
	uint32_t len;
	unsigned q;
	if (!rx_wait(ms, &q, &id, &len))
		return 0;
	unsigned slot = id % NRX; /* one descriptor per buffer: id is the slot */
	uint16_t nbufs;
	memcpy(&nbufs, rxbufs[q][slot] + 10, 2);
	if (nbufs < 1 || nbufs > 8)
		rt_fail("virtio-net: num_buffers %u", nbufs);
	unsigned total = len - 12;
	memcpy(out, rxbufs[q][slot] + 12, total);
	post_rx(q, slot);
	for (unsigned k = 1; k < nbufs; k++) { /* a merged frame stays on its queue */
		if (!vq_wait(&rxq[q], 5000, &id, &len))
			rt_fail("virtio-net: buffer %u of a merged frame missing", k);
		memcpy(out + total, rxbufs[q][id % NRX], len);
		total += len;
		post_rx(q, id % NRX);
	}
	if (npairs > 1)
		rt_printf("virtio-net: frame of %u bytes on receive queue %u\n", total, q);
	return total;
}

static void send_frame(const uint8_t *frame, unsigned len)
{
	static uint8_t hdr[12];
	struct vbuf b[2] = {{hdr, 12, false}, {frame, len, false}};
	struct vq *tx = &txq[sent++ % npairs]; /* both transmit queues in turn */
	vq_submit(tx, b, 2, false);
	if (!vq_wait(tx, 5000, NULL, NULL))
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
	const uint64_t mrg = 1ull << 15, f_mac = 1ull << 5, f_ctrl = 1ull << 17, f_mq = 1ull << 22;
	if (!(d.offered & mrg))
		rt_fail("virtio-net: no mergeable receive buffers offered");
	uint64_t want = VIRTIO_F_VERSION_1 | f_mac | mrg;
	if (rt_cmdline_u64("pairs", 1) == 2) {
		if ((d.offered & (f_ctrl | f_mq)) != (f_ctrl | f_mq) ||
		    mmio_read16((uint64_t)d.devcfg + 8) < 2)
			rt_fail("virtio-net: no multiqueue offered (max pairs %u)",
				mmio_read16((uint64_t)d.devcfg + 8));
		want |= f_ctrl | f_mq;
		npairs = 2;
	}
	if (!vdev_negotiate(&d, d.offered & want))
		rt_fail("virtio-net: FEATURES_OK refused");
	for (int i = 0; i < 6; i++)
		mac[i] = mmio_read8((uint64_t)d.devcfg + (uint64_t)i);
	rt_printf("virtio-net: mac %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0], mac[1], mac[2], mac[3],
		  mac[4], mac[5]);
	for (unsigned q = 0; q < npairs; q++) {
		vq_setup(&d, &rxq[q], 2 * q, NRX, 0xffff);
		vq_setup(&d, &txq[q], 2 * q + 1, 16, 0xffff);
	}
	if (npairs > 1)
		vq_setup(&d, &ctrl, 2 * npairs, 4, 0xffff);
	vdev_driver_ok(&d);
	for (unsigned q = 0; q < npairs; q++)
		for (unsigned i = 0; i < NRX; i++) {
			rxbufs[q][i] = vmalloc(RXBUF, 64);
			post_rx(q, i);
		}
	if (npairs > 1) { /* VIRTIO_NET_CTRL_MQ, VQ_PAIRS_SET 2 */
		uint8_t *cmd = vmalloc(4, 8), *ack = vmalloc(1, 1);
		cmd[0] = 4, cmd[1] = 0, cmd[2] = 2, cmd[3] = 0;
		*ack = 0xee;
		struct vbuf b[2] = {{cmd, 4, false}, {ack, 1, true}};
		vq_submit(&ctrl, b, 2, false);
		if (!vq_wait(&ctrl, 5000, NULL, NULL) || *ack != 0)
			rt_fail("virtio-net: VQ_PAIRS_SET 2 answered %u", *ack);
		cmd[2] = 9; /* more pairs than offered: refused */
		vq_submit(&ctrl, b, 2, false);
		if (!vq_wait(&ctrl, 5000, NULL, NULL) || *ack != 1)
			rt_fail("virtio-net: VQ_PAIRS_SET 9 answered %u, expected an error", *ack);
		rt_puts("virtio-net: two queue pairs running\n");
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
