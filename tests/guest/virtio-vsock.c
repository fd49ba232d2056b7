/* virtio-vsock through the project's own driver, against the host side of
 * tests/integration/vm/virtio (unix sockets, Firecracker's scheme):
 *  1. the guest connects to host port 5000, sends 4000 bytes (one packet with
 *     a separate header buffer, one with header and payload in one buffer),
 *     receives 6000 bytes, checks every byte, shuts down and expects RST;
 *  2. the host connects to guest port 6000 ("CONNECT 6000"), sends "ping",
 *     the guest answers "pong".
 * With "stall=1" on the command line (and a disk and virtio-rng) it shows that a
 * host peer that stops reading stalls nothing else: the guest sends a whole
 * credit's worth (256 KiB) to host port 5000, whose peer does not read; the
 * disk, virtio-rng and a second vsock connection (port 5001, at which the
 * host starts reading) must still be served; then every byte reaches the
 * host and the credit comes back. */
#include "virtio.h"

struct hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
enum { REQUEST = 1, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST };

#define NRX 16
#define RXBUF 2048
static struct vdev d;
static struct vq rx, tx, ev;
static uint8_t *rxbufs[NRX];
static uint64_t cid;
static uint32_t fwd_cnt;

static uint8_t pat(unsigned i, unsigned seed) { return (uint8_t)(i * 7 + seed + (i >> 8)); }

static void post_rx(unsigned slot)
{
	struct vbuf b = {rxbufs[slot], RXBUF, true};
	vq_submit(&rx, &b, 1, false);
}

static struct hdr mk(uint32_t sport, uint32_t dport, uint16_t op, uint32_t len)
{
	return (struct hdr){cid, 2, sport, dport, len, 1, op, 0, 65536, fwd_cnt};
}

static void send_pkt(struct hdr h, const void *payload, bool split)
{
	static uint8_t one[4096];
	struct hdr *hp = vmalloc(sizeof(h), 8);
	*hp = h;
	if (split || !h.len) {
		struct vbuf b[2] = {{hp, sizeof(h), false}, {payload, h.len, false}};
		vq_submit(&tx, b, h.len ? 2 : 1, false);
	} else {
		memcpy(one, &h, sizeof(h));
		memcpy(one + sizeof(h), payload, h.len);
		struct vbuf b = {one, (uint32_t)sizeof(h) + h.len, false};
		vq_submit(&tx, &b, 1, false);
	}
	if (!vq_wait(&tx, 5000, NULL, NULL))
		rt_fail("vsock: transmit not completed");
}

/* The next packet for port within ms (false: none); its payload copied to
 * data. Credit updates skipped unless credit. */
static bool recv_within(uint32_t port, uint8_t *data, bool credit, unsigned ms, struct hdr *out)
{
	for (;;) {
		uint16_t id;
		uint32_t len;
		if (!vq_wait(&rx, ms, &id, &len))
			return false;
		struct hdr h;
		memcpy(&h, rxbufs[id % NRX], sizeof(h));
		if (len != sizeof(h) + h.len || h.len > RXBUF - sizeof(h))
			rt_fail("vsock: used length %u for a %u-byte payload", len, h.len);
		if (data)
			memcpy(data, rxbufs[id % NRX] + sizeof(h), h.len);
		post_rx(id % NRX);
		if (h.dst_cid != cid || h.src_cid != 2)
			rt_fail("vsock: packet from cid %lu to cid %lu", (unsigned long)h.src_cid,
				(unsigned long)h.dst_cid);
		if (h.dst_port == port && (credit || h.op != CREDIT_UPDATE)) {
			*out = h;
			return true;
		}
	}
}

static struct hdr recv_pkt(uint32_t port, uint8_t *data)
{
	struct hdr h;
	if (!recv_within(port, data, false, 30000, &h))
		rt_fail("vsock: nothing received in 30 s");
	return h;
}

static struct hdr connect_to(uint32_t sport, uint32_t dport)
{
	send_pkt(mk(sport, dport, REQUEST, 0), NULL, true);
	struct hdr h = recv_pkt(sport, NULL);
	if (h.op != RESPONSE || h.src_port != dport)
		rt_fail("vsock: connect answered with op %u from port %u", h.op, h.src_port);
	return h;
}

static uint8_t blk_req(struct vq *vq, uint32_t type, void *data, uint32_t len)
{
	uint32_t *hdr = vmalloc(16, 16);
	uint8_t *status = vmalloc(1, 1);
	hdr[0] = type, hdr[1] = hdr[2] = hdr[3] = 0; /* sector 0 */
	*status = 0xee;
	struct vbuf b[3] = {{hdr, 16, false}, {data, len, type == 0}, {status, 1, true}};
	vq_submit(vq, b, 3, false);
	if (!vq_wait(vq, 10000, NULL, NULL))
		rt_fail("stall: the disk did not answer while the vsock peer is blocked");
	return *status;
}

static void stall(void)
{
	struct vdev bd, rd;
	struct vq bq, rq;
	if (!vdev_open(&bd, 2, 0) || !vdev_open(&rd, 4, 0))
		rt_fail("stall: needs a disk and virtio-rng");
	if (!vdev_negotiate(&bd, VIRTIO_F_VERSION_1) || !vdev_negotiate(&rd, VIRTIO_F_VERSION_1))
		rt_fail("stall: FEATURES_OK refused");
	vq_setup(&bd, &bq, 0, 16, 0xffff);
	vq_setup(&rd, &rq, 0, 16, 0xffff);
	vdev_driver_ok(&bd);
	vdev_driver_ok(&rd);

	uint32_t credit = connect_to(1300, 5000).buf_alloc;
	uint8_t *chunk = vmalloc(4096, 8);
	for (uint32_t off = 0; off < credit; off += 4096) {
		for (unsigned i = 0; i < 4096; i++)
			chunk[i] = pat(off + i, 3);
		send_pkt(mk(1300, 5000, RW, 4096), chunk, true);
	}
	rt_printf("stall: %u bytes sent to a host peer that does not read\n", credit);

	uint8_t *w = vmalloc(65536, 4096), *r = vmalloc(65536, 4096);
	for (unsigned i = 0; i < 65536; i++)
		w[i] = pat(i, 4);
	if (blk_req(&bq, 1, w, 65536) || blk_req(&bq, 0, r, 65536) || memcmp(w, r, 65536))
		rt_fail("stall: the disk write and read back differ");
	struct vbuf rb = {r, 32, true};
	vq_submit(&rq, &rb, 1, false);
	if (!vq_wait(&rq, 10000, NULL, NULL))
		rt_fail("stall: virtio-rng did not answer while the vsock peer is blocked");
	rt_puts("stall: disk and rng served meanwhile\n");
	connect_to(1301, 5001);
	rt_puts("stall: second vsock connection open\n");

	/* The host now reads: the credit must come back to the whole amount. */
	for (unsigned tries = 0; tries < 60; tries++) {
		struct hdr h;
		while (recv_within(1300, NULL, true, 500, &h))
			if (h.fwd_cnt == credit) {
				rt_puts("stall: all bytes forwarded, credit back; PASS\n");
				return;
			}
		send_pkt(mk(1300, 5000, CREDIT_REQUEST, 0), NULL, true);
	}
	rt_fail("stall: the host side never took all %u bytes", credit);
}

int guest_main(void)
{
	if (!vdev_open(&d, 19, 0))
		rt_fail("vsock: device not found");
	if (!vdev_negotiate(&d, VIRTIO_F_VERSION_1))
		rt_fail("vsock: FEATURES_OK refused");
	cid = mmio_read32((uint64_t)d.devcfg) | (uint64_t)mmio_read32((uint64_t)d.devcfg + 4) << 32;
	vq_setup(&d, &rx, 0, NRX, 0xffff);
	vq_setup(&d, &tx, 1, 16, 0xffff);
	vq_setup(&d, &ev, 2, 4, 0xffff);
	vdev_driver_ok(&d);
	for (unsigned i = 0; i < NRX; i++) {
		rxbufs[i] = vmalloc(RXBUF, 64);
		post_rx(i);
	}
	rt_printf("vsock: guest cid %lu\n", (unsigned long)cid);
	if (rt_cmdline_u64("stall", 0)) {
		stall();
		return 0;
	}

	/* 1. guest -> host port 5000 */
	struct hdr h = connect_to(1234, 5000);
	rt_puts("vsock: connected to host port 5000\n");
	uint8_t *out = vmalloc(4000, 8), *in = vmalloc(8192, 8);
	for (unsigned i = 0; i < 4000; i++)
		out[i] = pat(i, 1);
	send_pkt(mk(1234, 5000, RW, 3000), out, true);
	send_pkt(mk(1234, 5000, RW, 1000), out + 3000, false);
	unsigned got = 0;
	while (got < 6000) {
		h = recv_pkt(1234, in + got);
		if (h.op != RW)
			rt_fail("vsock: op %u while reading (after %u bytes)", h.op, got);
		got += h.len;
		fwd_cnt += h.len;
	}
	if (got != 6000)
		rt_fail("vsock: %u bytes received, expected 6000", got);
	for (unsigned i = 0; i < 6000; i++)
		if (in[i] != pat(i, 2))
			rt_fail("vsock: byte %u from the host is %02x, expected %02x", i, in[i], pat(i, 2));
	rt_puts("vsock: 6000 bytes from the host checked\n");
	struct hdr sd = mk(1234, 5000, SHUTDOWN, 0);
	sd.flags = 3;
	send_pkt(sd, NULL, true);
	h = recv_pkt(1234, NULL);
	if (h.op != RST)
		rt_fail("vsock: shutdown answered with op %u, expected RST", h.op);
	rt_puts("vsock: closed\n");

	/* 2. host -> guest port 6000 */
	fwd_cnt = 0;
	h = recv_pkt(6000, NULL);
	if (h.op != REQUEST)
		rt_fail("vsock: expected a connection request on port 6000, got op %u", h.op);
	uint32_t hport = h.src_port;
	send_pkt(mk(6000, hport, RESPONSE, 0), NULL, true);
	h = recv_pkt(6000, in);
	if (h.op != RW || h.len != 4 || memcmp(in, "ping", 4))
		rt_fail("vsock: expected \"ping\" (op %u, %u bytes)", h.op, h.len);
	fwd_cnt += 4;
	send_pkt(mk(6000, hport, RW, 4), "pong", false);
	rt_puts("vsock: host connection to port 6000 answered\n");
	h = recv_pkt(6000, NULL); /* the host closes: SHUTDOWN */
	if (h.op != SHUTDOWN && h.op != RST)
		rt_fail("vsock: expected the host to close, got op %u", h.op);
	send_pkt(mk(6000, hport, RST, 0), NULL, true);
	rt_puts("vsock: PASS\n");
	return 0;
}
