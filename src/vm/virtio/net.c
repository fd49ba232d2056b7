/* virtio-net (virtio 1.x, 5.1) on a tap device: one rx/tx queue pair, the
 * 12-byte virtio_net_hdr_v1 passed straight to and from the tap
 * (IFF_VNET_HDR), checksum/TSO offloads set on the tap to what the driver
 * accepted, mergeable receive buffers. The tap is opened by name or handed
 * over as an inherited fd (a supervisor's fd passing). */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { RXQ = 0, TXQ = 1 };
enum {
	NET_F_CSUM = 0, NET_F_GUEST_CSUM = 1, NET_F_MAC = 5, NET_F_GUEST_TSO4 = 7,
	NET_F_GUEST_TSO6 = 8, NET_F_GUEST_ECN = 9, NET_F_HOST_TSO4 = 11, NET_F_HOST_TSO6 = 12,
	NET_F_HOST_ECN = 13, NET_F_MRG_RXBUF = 15, NET_F_STATUS = 16,
};
#define NET_HDR_LEN 12
#define NET_FRAME_MAX (65536 + NET_HDR_LEN)

struct virtio_net {
	struct virtio_dev dev;
	struct { uint8_t mac[6]; uint16_t status, max_pairs, mtu; } __attribute__((packed)) config;
	struct io_watch tap;
	bool tap_watched;
	char ifname[IFNAMSIZ];
	struct vq_elem elem;
	struct vq_used used[VQ_MAX_SIZE];  /* one frame's receive buffers, published together */
	uint8_t frame[NET_FRAME_MAX];   /* a received frame waiting for buffers */
	size_t frame_len;
	unsigned long rx_frames, tx_frames, rx_dropped;
	uint64_t rx_bytes, tx_bytes;
};

static void net__watch_tap(struct virtio_net *n, bool on)
{
	if (on == n->tap_watched)
		return;
	struct st_err err = {0};
	if (on && iothread__add(&n->tap, EPOLLIN, &err) < 0) {
		st_warn("%s: %s", n->dev.name, err.msg);
		return;
	}
	if (!on)
		iothread__del(&n->tap);
	n->tap_watched = on;
}

/* Scatters the pending frame over as many receive chains as it needs (one
 * without MRG_RXBUF). Returns false when the guest has no buffers for it. */
static bool net__deliver(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	struct virtqueue *vq = &d->vqs[RXQ];
	bool mrg = virtio__has_feature(d, NET_F_MRG_RXBUF);
	size_t off = 0;
	uint16_t nbufs = 0;
	uint8_t *first_hdr = NULL;
	struct st_err err = {0};
	struct vq_mark start = vq__mark(vq);
	while (off < n->frame_len) {
		int r = vq__pop(vq, &d->vm->mem, &n->elem, &err);
		if (r < 0 || (r > 0 && (n->elem.nr_out || n->elem.in_len < NET_HDR_LEN))) {
			if (r > 0)
				st_fail(&err, 0, "receive chain %u is read-only or shorter than the header",
					n->elem.head);
			virtio__queue_error(d, RXQ, &err);
			return true; /* drop: the queue is dead */
		}
		if (r == 0) {
			/* Not enough buffers: give back what we took, wait for more. */
			vq__rewind(vq, &start);
			return false;
		}
		if (!first_hdr)
			first_hdr = n->elem.iov[0].iov_base; /* header sits in the first buffer */
		size_t c = iov__from_buf(n->elem.iov, n->elem.nr_in, 0, n->frame + off, n->frame_len - off);
		off += c;
		if (!mrg && off < n->frame_len) {
			n->rx_dropped++; /* larger than a non-mergeable buffer: delivered cut short */
			off = n->frame_len;
		}
		/* used entries are published after num_buffers is written, below */
		n->used[nbufs++] = (struct vq_used){n->elem.head, (uint32_t)c};
	}
	if (first_hdr && mrg)
		memcpy(first_hdr + 10, &nbufs, 2);
	vq__push_n(vq, n->used, nbufs);
	n->rx_frames++;
	n->rx_bytes += n->frame_len - NET_HDR_LEN;
	n->frame_len = 0;
	return true;
}

/* Moves frames from the tap to the guest while it has buffers (lock held). */
static void net__rx(struct virtio_net *n)
{
	struct virtio_dev *d = &n->dev;
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || !d->vqs[RXQ].desc || d->vqs[RXQ].broken)
		return;
	bool delivered = false;
	for (int budget = 0; budget < 64; budget++) {
		if (!n->frame_len) {
			ssize_t r = read(n->tap.fd, n->frame, sizeof(n->frame));
			if (r < NET_HDR_LEN)
				break; /* EAGAIN, or a runt without its header */
			n->frame_len = (size_t)r;
		}
		if (!net__deliver(n)) {
			net__watch_tap(n, false); /* until the guest posts buffers */
			break;
		}
		delivered = true;
	}
	if (delivered)
		virtio__signal_queue(d, RXQ);
}

static void net__tap_event(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct virtio_net *n = w->opaque;
	pthread_mutex_lock(&n->dev.lock);
	net__rx(n);
	pthread_mutex_unlock(&n->dev.lock);
}

static int net__tx_chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	struct virtio_net *n = d->priv;
	if (e->nr_in || e->out_len < NET_HDR_LEN)
		return st_fail(err, 0, "transmit chain %u has writable buffers or no header", e->head);
	if (writev(n->tap.fd, e->iov, (int)e->nr_out) < 0)
		st_debug("%s: tap write: %s", d->name, strerror(errno)); /* dropped, like a wire */
	else
		n->tx_frames++, n->tx_bytes += e->out_len - NET_HDR_LEN;
	return 0;
}

static void net__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->priv;
	if (q == TXQ) {
		virtio__serve_queue(d, TXQ, &n->elem, net__tx_chain);
		return;
	}
	net__watch_tap(n, true); /* new receive buffers */
	net__rx(n);
}

/* The tap computes checksums and segments for the guest only as far as the
 * driver said it can take partial checksums and large frames. */
static void net__driver_ok(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	unsigned off = 0;
	if (virtio__has_feature(d, NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio__has_feature(d, NET_F_GUEST_TSO4)) off |= TUN_F_TSO4;
		if (virtio__has_feature(d, NET_F_GUEST_TSO6)) off |= TUN_F_TSO6;
		if (virtio__has_feature(d, NET_F_GUEST_ECN)) off |= TUN_F_TSO_ECN;
	}
	if (ioctl(n->tap.fd, TUNSETOFFLOAD, off) < 0)
		st_warn("%s: TUNSETOFFLOAD 0x%x: %s", d->name, off, strerror(errno));
	net__watch_tap(n, true);
}

static void net__reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	n->frame_len = 0;
	if (n->tap.fd >= 0)
		net__watch_tap(n, false);
}

static void net__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_net *n = d->priv;
	char mac[18];
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->config.mac[0],
		 n->config.mac[1], n->config.mac[2], n->config.mac[3], n->config.mac[4], n->config.mac[5]);
	json_object_set_new(o, "type", json_string("virtio-net"));
	json_object_set_new(o, "mac", json_string(mac));
	json_object_set_new(o, "tap", json_string(n->ifname));
	json_object_set_new(o, "stats", json_pack("{s:I, s:I, s:I, s:I, s:I}",
		"rx_frames", (json_int_t)n->rx_frames, "tx_frames", (json_int_t)n->tx_frames,
		"rx_bytes", (json_int_t)n->rx_bytes, "tx_bytes", (json_int_t)n->tx_bytes,
		"rx_dropped", (json_int_t)n->rx_dropped));
}

static const struct virtio_dev_ops net_ops = {
	.device_id = 1,
	.pci_class = 0x020000, /* ethernet */
	.queue_notify = net__queue_notify,
	.driver_ok = net__driver_ok,
	.reset = net__reset,
	.query = net__query,
};

static int net__parse_mac(const char *s, uint8_t mac[6], struct st_err *err)
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &end) != 6)
		return st_fail(err, 0, "mac=%s is not six hex bytes like 52:54:00:12:34:56", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return st_fail(err, 0, "mac=%s is a multicast address", s);
	return 0;
}

static int net__open_tap(struct virtio_net *n, const char *name, int fd, struct st_err *err)
{
	struct ifreq ifr = {0};
	if (fd < 0) {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return st_fail_errno(err, "cannot open /dev/net/tun");
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			close(fd);
			return st_fail_errno(err, "cannot attach to tap %s", name);
		}
	} else {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return st_fail_errno(err, "fd %d is not a tap device", fd);
		if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR) ||
		    (ifr.ifr_flags & 0x1000 /* IFF_NO_PI missing means packet info */) == 0)
			return st_fail(err, 0, "tap fd %d needs IFF_TAP, IFF_NO_PI and IFF_VNET_HDR", fd);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	int hdr = NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		close(fd);
		return st_fail(err, e, "tap %s: TUNSETVNETHDRSZ", n->ifname);
	}
	n->tap = (struct io_watch){.fd = fd, .fn = net__tap_event, .opaque = n};
	return 0;
}

int virtio_net__create(struct vm *vm, const char *spec, struct st_err *err)
{
	cleanup_free struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return st_fail(err, ENOMEM, "virtio-net");
	char buf[256], tap[IFNAMSIZ] = "";
	int fd = -1;
	/* default MAC: locally administered, unique per device in this VM */
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0x57, (uint8_t)(getpid() & 0xff), (uint8_t)vm->nr_virtio};
	if (strlen(spec) >= sizeof(buf))
		return st_fail(err, 0, "net spec too long");
	strcpy(buf, spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!strncmp(tok, "tap=", 4) && strlen(tok + 4) < IFNAMSIZ) {
			strcpy(tap, tok + 4);
		} else if (!strncmp(tok, "fd=", 3)) {
			if (st_parse_u64(tok + 3, 1 << 20, &v, err) < 0)
				return st_err_prefix(err, "fd");
			fd = (int)v;
		} else if (!strncmp(tok, "mac=", 4)) {
			if (net__parse_mac(tok + 4, mac, err) < 0)
				return -1;
		} else {
			return st_fail(err, 0, "unknown net option '%s' (tap=NAME, fd=N, mac=MAC)", tok);
		}
	}
	if (!tap[0] && fd < 0)
		return st_fail(err, 0, "'%s': give tap=NAME or fd=N", spec);
	if (net__open_tap(n, tap, fd, err) < 0)
		return -1;
	memcpy(n->config.mac, mac, 6);
	n->config.status = 1; /* link up */
	n->config.max_pairs = 1;
	n->dev.priv = n;
	snprintf(n->dev.name, sizeof(n->dev.name), "virtio-net%u", vm->nr_virtio);
	uint64_t features = (1ull << NET_F_CSUM) | (1ull << NET_F_GUEST_CSUM) | (1ull << NET_F_MAC) |
			    (1ull << NET_F_GUEST_TSO4) | (1ull << NET_F_GUEST_TSO6) |
			    (1ull << NET_F_GUEST_ECN) | (1ull << NET_F_HOST_TSO4) |
			    (1ull << NET_F_HOST_TSO6) | (1ull << NET_F_HOST_ECN) |
			    (1ull << NET_F_MRG_RXBUF) | (1ull << NET_F_STATUS);
	if (virtio__register(vm, &n->dev, &net_ops, 2, 256, features, &n->config,
			     sizeof(n->config), err) < 0)
		return -1;
	st_info("%s: tap %s, mac %02x:%02x:%02x:%02x:%02x:%02x", n->dev.name, n->ifname, mac[0],
		mac[1], mac[2], mac[3], mac[4], mac[5]);
	st_steal_ptr(n); /* the VM owns it now */
	return 0;
}
