/* virtio-net (virtio 1.x, 5.1) on a tap device: the 12-byte
 * virtio_net_hdr_v1 passed straight to and from the tap (IFF_VNET_HDR),
 * checksum/TSO offloads set on the tap to what the driver accepted, mergeable
 * receive buffers. The tap is opened by name or handed over as an inherited
 * fd (a supervisor's fd passing). With queues=N (N > 1, a tap by name) the
 * device offers multiqueue: N rx/tx pairs, each on its own queue of a
 * multi-queue tap (IFF_MULTI_QUEUE), and the control queue, where the driver
 * picks how many pairs run (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET); the tap queues
 * of idle pairs are detached, so the kernel steers no frames to them. */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum {
	NET_F_CSUM = 0, NET_F_GUEST_CSUM = 1, NET_F_MAC = 5, NET_F_GUEST_TSO4 = 7,
	NET_F_GUEST_TSO6 = 8, NET_F_GUEST_ECN = 9, NET_F_HOST_TSO4 = 11, NET_F_HOST_TSO6 = 12,
	NET_F_HOST_ECN = 13, NET_F_MRG_RXBUF = 15, NET_F_STATUS = 16, NET_F_CTRL_VQ = 17,
	NET_F_MQ = 22,
};
#define NET_HDR_LEN 12
#define NET_FRAME_MAX (65536 + NET_HDR_LEN)
#define NET_MAX_PAIRS 4
enum { CTRL_OK = 0, CTRL_ERR = 1, CTRL_CLASS_MQ = 4, CTRL_MQ_VQ_PAIRS_SET = 0 };

struct virtio_net;

/* One rx/tx queue pair and its tap queue: receive queue 2p, transmit 2p+1. */
struct net_pair {
	struct virtio_net *n;
	unsigned index;
	struct io_watch tap;
	bool tap_watched;
	struct vq_elem elem;
	struct vq_used used[VQ_MAX_SIZE];  /* one frame's receive buffers, published together */
	uint8_t frame[NET_FRAME_MAX];   /* a received frame waiting for buffers */
	size_t frame_len;
};

struct virtio_net {
	struct virtio_dev dev;
	struct { uint8_t mac[6]; uint16_t status, max_pairs, mtu; } __attribute__((packed)) config;
	char ifname[IFNAMSIZ];
	struct net_pair *pairs;
	unsigned nr_pairs, active_pairs;
	struct vq_elem ctrl_elem;
	unsigned long rx_frames, tx_frames, rx_dropped, ctrl_commands;
	uint64_t rx_bytes, tx_bytes;
};

static void net__watch_tap(struct net_pair *p, bool on)
{
	if (on == p->tap_watched)
		return;
	struct st_err err = {0};
	if (on && iothread__add(&p->tap, EPOLLIN, &err) < 0) {
		log__warn("%s: %s", p->n->dev.name, err.msg);
		return;
	}
	if (!on)
		iothread__del(&p->tap);
	p->tap_watched = on;
}

/* Scatters the pending frame over as many receive chains as it needs (one
 * without MRG_RXBUF). Returns false when the guest has no buffers for it. */
static bool net__deliver(struct net_pair *p)
{
	struct virtio_net *n = p->n;
	struct virtio_dev *d = &n->dev;
	unsigned rxq = 2 * p->index;
	struct virtqueue *vq = &d->vqs[rxq];
	bool mrg = virtio__has_feature(d, NET_F_MRG_RXBUF);
	size_t off = 0;
	uint16_t nbufs = 0;
	uint8_t *first_hdr = NULL;
	struct st_err err = {0};
	struct vq_mark start = vq__mark(vq);
	while (off < p->frame_len) {
		int r = vq__pop(vq, &d->vm->mem, &p->elem, &err);
		if (r < 0 || (r > 0 && (p->elem.nr_out || p->elem.in_len < NET_HDR_LEN))) {
			if (r > 0)
				err__fail(&err, 0, "receive chain %u is read-only or shorter than the header",
					p->elem.head);
			virtio__queue_error(d, rxq, &err);
			return true; /* drop: the queue is dead */
		}
		if (r == 0) {
			/* Not enough buffers: give back what we took, wait for more. */
			vq__rewind(vq, &start);
			return false;
		}
		if (!first_hdr)
			first_hdr = p->elem.iov[0].iov_base; /* header sits in the first buffer */
		size_t c = iov__from_buf(p->elem.iov, p->elem.nr_in, 0, p->frame + off, p->frame_len - off);
		off += c;
		if (!mrg && off < p->frame_len) {
			n->rx_dropped++; /* larger than a non-mergeable buffer: delivered cut short */
			off = p->frame_len;
		}
		/* used entries are published after num_buffers is written, below */
		p->used[nbufs++] = (struct vq_used){p->elem.head, (uint32_t)c};
	}
	if (first_hdr && mrg)
		memcpy(first_hdr + 10, &nbufs, 2);
	vq__push_n(vq, p->used, nbufs);
	n->rx_frames++;
	n->rx_bytes += p->frame_len - NET_HDR_LEN;
	p->frame_len = 0;
	return true;
}

/* Moves frames from a pair's tap queue to the guest while it has buffers
 * (lock held). */
static void net__rx(struct net_pair *p)
{
	struct virtio_dev *d = &p->n->dev;
	unsigned rxq = 2 * p->index;
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || !d->vqs[rxq].desc || d->vqs[rxq].broken)
		return;
	bool delivered = false;
	for (int budget = 0; budget < 64; budget++) {
		if (!p->frame_len) {
			ssize_t r = read(p->tap.fd, p->frame, sizeof(p->frame));
			if (r < NET_HDR_LEN)
				break; /* EAGAIN, or a runt without its header */
			p->frame_len = (size_t)r;
		}
		if (!net__deliver(p)) {
			net__watch_tap(p, false); /* until the guest posts buffers */
			break;
		}
		delivered = true;
	}
	if (delivered)
		virtio__signal_queue(d, rxq);
}

static void net__tap_event(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct net_pair *p = w->opaque;
	pthread_mutex_lock(&p->n->dev.lock);
	net__rx(p);
	pthread_mutex_unlock(&p->n->dev.lock);
}

static int net__tx_chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	struct virtio_net *n = d->priv;
	struct net_pair *p = (struct net_pair *)((uint8_t *)e - offsetof(struct net_pair, elem));
	if (e->nr_in || e->out_len < NET_HDR_LEN)
		return err__fail(err, 0, "transmit chain %u has writable buffers or no header", e->head);
	if (writev(p->tap.fd, e->iov, (int)e->nr_out) < 0)
		log__debug("%s: tap write: %s", d->name, strerror(errno)); /* dropped, like a wire */
	else
		n->tx_frames++, n->tx_bytes += e->out_len - NET_HDR_LEN;
	return 0;
}

/* Runs pairs 0..k-1: their tap queues attached and watched, the others'
 * detached (frames are then steered to running pairs only). */
static int net__set_pairs(struct virtio_net *n, unsigned k)
{
	if (k < 1 || k > n->nr_pairs)
		return -1;
	for (unsigned i = 0; i < n->nr_pairs && n->nr_pairs > 1; i++) {
		struct ifreq ifr = {.ifr_flags = i < k ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE};
		if (ioctl(n->pairs[i].tap.fd, TUNSETQUEUE, &ifr) < 0 && i < k)
			log__warn("%s: attaching tap queue %u: %s", n->dev.name, i, strerror(errno));
		if (i >= k) {
			net__watch_tap(&n->pairs[i], false);
			n->pairs[i].frame_len = 0;
		}
	}
	n->active_pairs = k;
	for (unsigned i = 0; i < k && (n->dev.status & VIRTIO_STATUS_DRIVER_OK); i++)
		net__watch_tap(&n->pairs[i], true);
	return 0;
}

/* One control command: class, command, data, then the ack byte we write. */
static int net__ctrl_chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	struct virtio_net *n = d->priv;
	uint8_t cmd[2];
	if (!e->nr_in || iov__to_buf(e->iov, e->nr_out, 0, cmd, 2) != 2)
		return err__fail(err, 0, "control command %u without class, command or ack byte", e->head);
	uint8_t ack = CTRL_ERR;
	uint16_t pairs;
	if (cmd[0] == CTRL_CLASS_MQ && cmd[1] == CTRL_MQ_VQ_PAIRS_SET &&
	    virtio__has_feature(d, NET_F_MQ) && e->out_len == 4 &&
	    iov__to_buf(e->iov, e->nr_out, 2, &pairs, 2) == 2 && net__set_pairs(n, pairs) == 0)
		ack = CTRL_OK;
	n->ctrl_commands++;
	const struct iovec *last = &e->iov[e->nr_out + e->nr_in - 1];
	((uint8_t *)last->iov_base)[last->iov_len - 1] = ack;
	return 1;
}

/* Queue numbers: pair p's receive 2p and transmit 2p+1; the control queue
 * after the last pair's (2N with MQ, else 2). */
static unsigned net__ctrl_queue(struct virtio_net *n)
{
	return virtio__has_feature(&n->dev, NET_F_MQ) ? 2 * n->nr_pairs : 2;
}

static void net__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_net *n = d->priv;
	if (n->nr_pairs > 1 && q == net__ctrl_queue(n)) {
		virtio__serve_queue(d, q, &n->ctrl_elem, net__ctrl_chain);
		return;
	}
	if (q / 2 >= n->nr_pairs)
		return;
	struct net_pair *p = &n->pairs[q / 2];
	if (q % 2) {
		virtio__serve_queue(d, q, &p->elem, net__tx_chain);
		return;
	}
	if (q / 2 < n->active_pairs)
		net__watch_tap(p, true); /* new receive buffers */
	net__rx(p);
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
	for (unsigned i = 0; i < n->nr_pairs; i++)
		if (ioctl(n->pairs[i].tap.fd, TUNSETOFFLOAD, off) < 0)
			log__warn("%s: TUNSETOFFLOAD 0x%x: %s", d->name, off, strerror(errno));
	net__set_pairs(n, 1); /* one pair until the driver asks for more */
}

static void net__reset(struct virtio_dev *d)
{
	struct virtio_net *n = d->priv;
	for (unsigned i = 0; n->pairs && i < n->nr_pairs; i++) {
		n->pairs[i].frame_len = 0;
		if (n->pairs[i].tap.fd >= 0)
			net__watch_tap(&n->pairs[i], false);
	}
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
	json_object_set_new(o, "pairs", json_integer(n->nr_pairs));
	json_object_set_new(o, "active_pairs", json_integer(n->active_pairs));
	json_object_set_new(o, "ctrl_commands", json_integer((json_int_t)n->ctrl_commands));
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
		return err__fail(err, 0, "mac=%s is not six hex bytes like 52:54:00:12:34:56", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return err__fail(err, 0, "mac=%s is a multicast address", s);
	return 0;
}

static int net__open_tap(struct virtio_net *n, struct net_pair *p, const char *name, int fd,
			 struct st_err *err)
{
	struct ifreq ifr = {0};
	if (fd < 0) {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return err__fail_errno(err, "cannot open /dev/net/tun");
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (n->nr_pairs > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			close(fd);
			return err__fail_errno(err, "cannot attach to tap %s", name);
		}
	} else {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return err__fail_errno(err, "fd %d is not a tap device", fd);
		if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_VNET_HDR) ||
		    (ifr.ifr_flags & 0x1000 /* IFF_NO_PI missing means packet info */) == 0)
			return err__fail(err, 0, "tap fd %d needs IFF_TAP, IFF_NO_PI and IFF_VNET_HDR", fd);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	int hdr = NET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int e = errno;
		close(fd);
		return err__fail(err, e, "tap %s: TUNSETVNETHDRSZ", n->ifname);
	}
	p->tap = (struct io_watch){.fd = fd, .fn = net__tap_event, .opaque = p};
	return 0;
}

int virtio_net__create(struct vm *vm, const char *spec, struct st_err *err)
{
	cleanup_free struct virtio_net *n = calloc(1, sizeof(*n));
	if (!n)
		return err__fail(err, ENOMEM, "virtio-net");
	char buf[256], tap[IFNAMSIZ] = "";
	int fd = -1;
	/* default MAC: locally administered, unique per device in this VM */
	uint8_t mac[6] = {0x52, 0x54, 0x00, 0x57, (uint8_t)(getpid() & 0xff), (uint8_t)vm->nr_virtio};
	if (strlen(spec) >= sizeof(buf))
		return err__fail(err, 0, "net spec too long");
	strcpy(buf, spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!strncmp(tok, "tap=", 4) && strlen(tok + 4) < IFNAMSIZ) {
			strcpy(tap, tok + 4);
		} else if (!strncmp(tok, "fd=", 3)) {
			if (util__parse_u64(tok + 3, 1 << 20, &v, err) < 0)
				return err__prefix(err, "fd");
			fd = (int)v;
		} else if (!strncmp(tok, "mac=", 4)) {
			if (net__parse_mac(tok + 4, mac, err) < 0)
				return -1;
		} else if (!strncmp(tok, "queues=", 7)) {
			if (util__parse_u64(tok + 7, NET_MAX_PAIRS, &v, err) < 0 || v == 0)
				return err__fail(err, 0, "queues=%s: 1..%d queue pairs", tok + 7, NET_MAX_PAIRS);
			n->nr_pairs = (unsigned)v;
		} else {
			return err__fail(err, 0, "unknown net option '%s' (tap=NAME, fd=N, mac=MAC, queues=N)",
				       tok);
		}
	}
	if (!tap[0] && fd < 0)
		return err__fail(err, 0, "'%s': give tap=NAME or fd=N", spec);
	if (!n->nr_pairs)
		n->nr_pairs = 1;
	if (fd >= 0 && n->nr_pairs > 1)
		return err__fail(err, 0, "'%s': queues=N needs tap=NAME (one fd is one tap queue)", spec);
	cleanup_free struct net_pair *pairs = calloc(n->nr_pairs, sizeof(*pairs));
	if (!pairs)
		return err__fail(err, ENOMEM, "virtio-net");
	n->pairs = pairs;
	for (unsigned i = 0; i < n->nr_pairs; i++) {
		pairs[i] = (struct net_pair){.n = n, .index = i};
		if (net__open_tap(n, &pairs[i], tap, fd, err) < 0) {
			while (i--)
				close(pairs[i].tap.fd);
			return -1;
		}
	}
	n->active_pairs = 1;
	memcpy(n->config.mac, mac, 6);
	n->config.status = 1; /* link up */
	n->config.max_pairs = (uint16_t)n->nr_pairs;
	n->dev.priv = n;
	snprintf(n->dev.name, sizeof(n->dev.name), "virtio-net%u", vm->virtio_seq);
	uint64_t features = (1ull << NET_F_CSUM) | (1ull << NET_F_GUEST_CSUM) | (1ull << NET_F_MAC) |
			    (1ull << NET_F_GUEST_TSO4) | (1ull << NET_F_GUEST_TSO6) |
			    (1ull << NET_F_GUEST_ECN) | (1ull << NET_F_HOST_TSO4) |
			    (1ull << NET_F_HOST_TSO6) | (1ull << NET_F_HOST_ECN) |
			    (1ull << NET_F_MRG_RXBUF) | (1ull << NET_F_STATUS);
	unsigned nr_queues = 2;
	if (n->nr_pairs > 1) {
		features |= (1ull << NET_F_CTRL_VQ) | (1ull << NET_F_MQ);
		nr_queues = 2 * n->nr_pairs + 1;
	}
	if (virtio__register(vm, &n->dev, &net_ops, nr_queues, 256, features, &n->config,
			     sizeof(n->config), err) < 0)
		return -1;
	log__info("%s: tap %s, mac %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair(s)", n->dev.name,
		n->ifname, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], n->nr_pairs);
	cleanup__steal_ptr(pairs);
	cleanup__steal_ptr(n); /* the VM owns it now */
	return 0;
}
