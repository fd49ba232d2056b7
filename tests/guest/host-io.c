/* The guest stratad's tests start (tests/integration/host/test_host_guest_io.py):
 * proves that a domain's disks and NICs reach it, through the project's own
 * virtio driver (rt/virtio.c).
 *
 * Disks, in order: a writable disk gets 64 KiB of a pattern seeded by
 * `seed=` at offset 1 MiB, read back and flushed; a read-only disk (it
 * offers VIRTIO_BLK_F_RO) must refuse a write with IOERR and its first
 * sector must start with "STRATA-RO" (the host wrote it).
 * NICs: each sends three broadcast frames of ethertype 0x88b5 whose payload
 * is "strata-host-io NIC SEED"; with `dhcp=1` the first NIC then runs a DHCP
 * exchange (DISCOVER, OFFER, REQUEST, ACK; hostname "host-io") and prints
 * the address it was given. Exit 0 when every check passed. */
#include "virtio.h"

#define SECTOR 512
#define VIRTIO_BLK_F_RO (1ull << 5)
#define NET_F_MAC (1ull << 5)
#define NET_HDR 12 /* virtio 1.x: num_buffers is always there */
#define RXBUF 2048
#define NRX 16
#define ETHERTYPE_TEST 0x88b5

static uint64_t seed;

/* What the host recomputes (test_host_guest_io.py): one word per 8 bytes. */
static uint64_t pat(uint64_t off) { return (off ^ seed) * 0x9e3779b97f4a7c15ull + 0x1234567u; }

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static uint8_t blk_req(struct vq *vq, uint32_t type, uint64_t sector, void *data, uint32_t len)
{
	struct blk_hdr *h = vmalloc(sizeof(*h), 16);
	uint8_t *status = vmalloc(1, 1);
	*h = (struct blk_hdr){type, 0, sector};
	*status = 0xee;
	struct vbuf b[3] = {{h, sizeof(*h), false}, {data, len, type == 0}, {status, 1, true}};
	if (!data)
		b[1] = b[2];
	vq_submit(vq, b, data ? 3 : 2, false);
	if (!vq_wait(vq, 5000, NULL, NULL))
		rt_fail("host-io: disk request %u got no answer", type);
	return *status;
}

static void disk_check(unsigned nth)
{
	struct vdev d;
	struct vq vq;
	if (!vdev_open(&d, 2, nth))
		rt_fail("host-io: disk %u vanished", nth);
	if (!vdev_negotiate(&d, d.offered & (VIRTIO_F_VERSION_1 | VIRTIO_BLK_F_RO)))
		rt_fail("host-io: disk %u: FEATURES_OK refused", nth);
	vq_setup(&d, &vq, 0, 16, 0xffff);
	vdev_driver_ok(&d);
	uint64_t sectors = (uint64_t)mmio_read32((uint64_t)d.devcfg) | (uint64_t)mmio_read32((uint64_t)d.devcfg + 4) << 32;
	uint8_t *buf = vmalloc(65536, 4096);
	if (d.offered & VIRTIO_BLK_F_RO) {
		memset(buf, 0x5a, SECTOR);
		if (blk_req(&vq, 1, 0, buf, SECTOR) != 1)
			rt_fail("host-io: read-only disk %u accepted a write", nth);
		if (blk_req(&vq, 0, 0, buf, SECTOR) != 0)
			rt_fail("host-io: read-only disk %u: read failed", nth);
		if (memcmp(buf, "STRATA-RO", 9))
			rt_fail("host-io: read-only disk %u does not start with STRATA-RO", nth);
		rt_printf("host-io: disk %u read-only (%lu sectors): write refused, contents read\n", nth,
			  (unsigned long)sectors);
		return;
	}
	const uint64_t off = 1 << 20;
	if (sectors * SECTOR < off + 65536)
		rt_fail("host-io: disk %u is smaller than 1 MiB + 64 KiB", nth);
	for (uint32_t i = 0; i < 65536; i += 8)
		*(uint64_t *)(buf + i) = pat(off + i);
	if (blk_req(&vq, 1, off / SECTOR, buf, 65536) != 0)
		rt_fail("host-io: disk %u: write failed", nth);
	memset(buf, 0, 65536);
	if (blk_req(&vq, 0, off / SECTOR, buf, 65536) != 0)
		rt_fail("host-io: disk %u: read failed", nth);
	for (uint32_t i = 0; i < 65536; i += 8)
		if (*(uint64_t *)(buf + i) != pat(off + i))
			rt_fail("host-io: disk %u reads back differently at %u", nth, i);
	if (blk_req(&vq, 4, 0, NULL, 0) != 0)
		rt_fail("host-io: disk %u: flush failed", nth);
	rt_printf("host-io: disk %u (%lu sectors): 64 KiB written, read back, flushed\n", nth, (unsigned long)sectors);
}

struct nic {
	struct vdev d;
	struct vq rx, tx;
	uint8_t mac[6];
	uint8_t *rxbufs[NRX];
};

static void post_rx(struct nic *n, unsigned i)
{
	struct vbuf b = {n->rxbufs[i], RXBUF, true};
	vq_submit(&n->rx, &b, 1, false);
}

static void nic_open(struct nic *n, unsigned nth)
{
	if (!vdev_open(&n->d, 1, nth))
		rt_fail("host-io: NIC %u vanished", nth);
	if (!vdev_negotiate(&n->d, n->d.offered & (VIRTIO_F_VERSION_1 | NET_F_MAC)))
		rt_fail("host-io: NIC %u: FEATURES_OK refused", nth);
	for (int i = 0; i < 6; i++)
		n->mac[i] = mmio_read8((uint64_t)n->d.devcfg + (uint64_t)i);
	vq_setup(&n->d, &n->rx, 0, NRX, 0xffff);
	vq_setup(&n->d, &n->tx, 1, 16, 0xffff);
	vdev_driver_ok(&n->d);
	for (unsigned i = 0; i < NRX; i++) {
		n->rxbufs[i] = vmalloc(RXBUF, 64);
		post_rx(n, i);
	}
	rt_printf("host-io: NIC %u mac %02x:%02x:%02x:%02x:%02x:%02x\n", nth, n->mac[0], n->mac[1], n->mac[2],
		  n->mac[3], n->mac[4], n->mac[5]);
}

static void send_frame(struct nic *n, const uint8_t *frame, unsigned len)
{
	static uint8_t hdr[NET_HDR];
	struct vbuf b[2] = {{hdr, NET_HDR, false}, {frame, len, false}};
	vq_submit(&n->tx, b, 2, false);
	if (!vq_wait(&n->tx, 5000, NULL, NULL))
		rt_fail("host-io: transmit not completed");
}

/* The next received frame (copied to out), 0 after ms without one. */
static unsigned recv_frame(struct nic *n, uint8_t *out, unsigned ms)
{
	uint16_t id;
	uint32_t len;
	if (!vq_wait(&n->rx, ms, &id, &len))
		return 0;
	unsigned slot = id % NRX, flen = len > NET_HDR ? len - NET_HDR : 0;
	memcpy(out, n->rxbufs[slot] + NET_HDR, flen);
	post_rx(n, slot);
	return flen;
}

static unsigned put_dec(char *p, uint64_t v)
{
	char tmp[24];
	unsigned k = 0, i = 0;
	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (k)
		p[i++] = tmp[--k];
	return i;
}

static void send_test_frames(struct nic *n, unsigned nth)
{
	uint8_t f[64] = {0};
	memset(f, 0xff, 6);
	memcpy(f + 6, n->mac, 6);
	f[12] = ETHERTYPE_TEST >> 8, f[13] = ETHERTYPE_TEST & 0xff;
	char *p = (char *)f + 14;
	memcpy(p, "strata-host-io ", 15);
	p += 15;
	p += put_dec(p, nth);
	*p++ = ' ';
	put_dec(p, seed);
	for (int k = 0; k < 3; k++)
		send_frame(n, f, sizeof(f));
	rt_printf("host-io: NIC %u sent 3 frames\n", nth);
}

/* DHCP (RFC 2131) over UDP over IPv4, just enough to get a lease. */
static uint16_t ip_csum(const uint8_t *p, unsigned len)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

enum { DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6 };
static const uint8_t xid[4] = {0x53, 0x74, 0x72, 0x61};

static void dhcp_send(struct nic *n, int type, const uint8_t *req_ip, const uint8_t *server)
{
	static uint8_t f[400];
	memset(f, 0, sizeof(f));
	memset(f, 0xff, 6);
	memcpy(f + 6, n->mac, 6);
	be16(f + 12, 0x0800);
	uint8_t *ip = f + 14, *udp = ip + 20, *b = udp + 8;
	b[0] = 1, b[1] = 1, b[2] = 6;
	memcpy(b + 4, xid, 4);
	be16(b + 10, 0x8000); /* broadcast replies: we have no address yet */
	memcpy(b + 28, n->mac, 6);
	static const uint8_t magic[4] = {99, 130, 83, 99};
	memcpy(b + 236, magic, 4);
	uint8_t *o = b + 240;
	*o++ = 53, *o++ = 1, *o++ = (uint8_t)type;
	*o++ = 12, *o++ = 7;
	memcpy(o, "host-io", 7);
	o += 7;
	if (req_ip) {
		*o++ = 50, *o++ = 4;
		memcpy(o, req_ip, 4);
		o += 4;
		*o++ = 54, *o++ = 4;
		memcpy(o, server, 4);
		o += 4;
	}
	*o++ = 55, *o++ = 2, *o++ = 1, *o++ = 3; /* netmask, router */
	*o++ = 255;
	unsigned blen = (unsigned)(o - b);
	if (blen < 300)
		blen = 300; /* BOOTP's minimum */
	be16(udp, 68), be16(udp + 2, 67), be16(udp + 4, (uint16_t)(8 + blen));
	ip[0] = 0x45, ip[8] = 64, ip[9] = 17;
	be16(ip + 2, (uint16_t)(20 + 8 + blen));
	memset(ip + 16, 0xff, 4);
	be16(ip + 10, ip_csum(ip, 20));
	send_frame(n, f, 14 + 20 + 8 + blen);
}

/* Waits for a DHCP reply to our xid: its type, yiaddr and server id. */
static int dhcp_recv(struct nic *n, uint8_t *yiaddr, uint8_t *server, unsigned ms)
{
	static uint8_t f[RXBUF];
	for (unsigned waited = 0; waited < ms; waited += 100) {
		unsigned len = recv_frame(n, f, 100);
		if (len < 14 + 20 + 8 + 240 || f[12] != 8 || f[13] != 0 || f[14 + 9] != 17)
			continue;
		unsigned ihl = (f[14] & 15) * 4u;
		uint8_t *udp = f + 14 + ihl, *b = udp + 8;
		if (udp[2] != 0 || udp[3] != 68 || b[0] != 2 || memcmp(b + 4, xid, 4) || memcmp(b + 28, n->mac, 6))
			continue;
		memcpy(yiaddr, b + 16, 4);
		int type = 0;
		for (uint8_t *o = b + 240; o < f + len && *o != 255;) {
			if (*o == 0) {
				o++;
				continue;
			}
			if (o + 2 > f + len || o + 2 + o[1] > f + len)
				break;
			if (o[0] == 53 && o[1] == 1)
				type = o[2];
			if (o[0] == 54 && o[1] == 4)
				memcpy(server, o + 2, 4);
			o += 2 + o[1];
		}
		return type;
	}
	return 0;
}

static void dhcp(struct nic *n)
{
	uint8_t yi[4], server[4] = {0};
	int type = 0;
	/* dnsmasq may still be starting, and it pings an address before offering it */
	for (int tries = 0; tries < 10 && type != OFFER; tries++) {
		dhcp_send(n, DISCOVER, NULL, NULL);
		type = dhcp_recv(n, yi, server, 3000);
	}
	if (type != OFFER)
		rt_fail("host-io: no DHCP offer");
	rt_printf("host-io: DHCP offer %u.%u.%u.%u from %u.%u.%u.%u\n", yi[0], yi[1], yi[2], yi[3], server[0],
		  server[1], server[2], server[3]);
	uint8_t offered[4];
	memcpy(offered, yi, 4);
	for (int tries = 0; tries < 5; tries++) {
		dhcp_send(n, REQUEST, offered, server);
		type = dhcp_recv(n, yi, server, 3000);
		if (type == ACK || type == NAK)
			break;
	}
	if (type != ACK)
		rt_fail("host-io: DHCP request not acknowledged (reply type %d)", type);
	rt_printf("host-io: DHCP lease %u.%u.%u.%u\n", yi[0], yi[1], yi[2], yi[3]);
}

int guest_main(void)
{
	seed = rt_cmdline_u64("seed", 1);
	unsigned disks = 0, nics = 0;
	while (disks < 8 && pci_find(0x1af4, 0x1042, disks) >= 0)
		disk_check(disks++);
	static struct nic nic[8];
	while (nics < 8 && pci_find(0x1af4, 0x1041, nics) >= 0) {
		nic_open(&nic[nics], nics);
		send_test_frames(&nic[nics], nics);
		nics++;
	}
	if (rt_cmdline_u64("dhcp", 0)) {
		if (!nics)
			rt_fail("host-io: dhcp=1 without a NIC");
		dhcp(&nic[0]);
	}
	rt_printf("host-io: PASS (%u disks, %u NICs)\n", disks, nics);
	return 0;
}
