/* virtio-vsock (virtio 1.x, 5.10) in user space, bridged to unix sockets the
 * way Firecracker does it: a guest connecting to host port P reaches the
 * unix socket "UDS_P"; a host client connecting to UDS and writing
 * "CONNECT P\n" reaches guest port P and reads "OK <port>\n" back. Stream
 * sockets only, with the spec's credit-based flow control. Host sockets are
 * non-blocking: what a full host socket does not take waits in the
 * connection's buffer (at most the credit the guest was given), and the guest
 * gets credit back only as bytes reach the socket, so a host peer that stops
 * reading stalls its own connection and nothing else. */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { RXQ = 0, TXQ = 1, EVQ = 2 };
enum { OP_REQUEST = 1, OP_RESPONSE, OP_RST, OP_SHUTDOWN, OP_RW, OP_CREDIT_UPDATE,
       OP_CREDIT_REQUEST };
#define TYPE_STREAM 1
#define HOST_CID 2
#define VSOCK_CONNS 32
#define VSOCK_BUF_ALLOC (256u << 10)   /* what we tell the guest it may send unread */

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

enum conn_state { C_FREE, C_HOST_LINE, C_HOST_WAIT, C_OPEN, C_CLOSING /* host side at EOF */ };

struct vsock_conn {
	struct virtio_vsock *vs;
	enum conn_state state;
	struct io_watch w;
	uint32_t events;                        /* what the I/O thread waits for */
	bool want_in, readable;
	uint32_t guest_port, host_port;
	uint32_t peer_buf_alloc, peer_fwd_cnt;  /* the guest's receive credit */
	uint32_t rx_cnt;                        /* bytes we sent to the guest */
	uint32_t fwd_cnt, fwd_told;             /* bytes forwarded to the host fd, last told */
	uint16_t pending_op;                    /* a control packet waiting for a buffer */
	uint8_t *tx_buf;                        /* bytes the host socket did not take yet */
	size_t tx_len;
	size_t tx_own;                          /* of those, ours ("OK <port>\n"), not the guest's */
	char line[32];
	size_t line_len;
};

struct virtio_vsock {
	struct virtio_dev dev;
	struct { uint64_t guest_cid; } config;
	char uds[100];
	struct io_watch listen;
	struct vsock_conn conns[VSOCK_CONNS];
	struct vq_elem elem;
	uint32_t next_host_port;
	/* a reset for a packet that had no connection: one at a time */
	struct vsock_hdr orphan_rst;
	bool orphan_pending;
	unsigned long connects, bytes_to_host, bytes_to_guest;
};

/* Waits for input when on (and the connection wants it), and for room in the
 * host socket while guest bytes are buffered. */
static void conn__update(struct vsock_conn *c)
{
	if (c->w.fd < 0)
		return;
	uint32_t events = (c->want_in ? EPOLLIN : 0) | (c->tx_len ? EPOLLOUT : 0);
	if (events == c->events)
		return;
	struct st_err err = {0};
	if (!c->events && iothread__add(&c->w, events, &err) < 0)
		return;
	if (c->events && events)
		iothread__mod(&c->w, events);
	if (!events)
		iothread__del(&c->w);
	c->events = events;
}

static void conn__watch(struct vsock_conn *c, bool on)
{
	c->want_in = on;
	conn__update(c);
}

static void conn__free(struct vsock_conn *c)
{
	c->want_in = false;
	c->tx_len = 0;
	conn__update(c);
	if (c->w.fd >= 0)
		close(c->w.fd);
	free(c->tx_buf);
	struct virtio_vsock *vs = c->vs;
	memset(c, 0, sizeof(*c));
	c->vs = vs;
	c->w.fd = -1;
}

static struct vsock_conn *conn__alloc(struct virtio_vsock *vs)
{
	for (int i = 0; i < VSOCK_CONNS; i++)
		if (vs->conns[i].state == C_FREE)
			return &vs->conns[i];
	return NULL;
}

static struct vsock_conn *conn__find(struct virtio_vsock *vs, uint32_t guest_port,
				     uint32_t host_port)
{
	for (int i = 0; i < VSOCK_CONNS; i++) {
		struct vsock_conn *c = &vs->conns[i];
		if (c->state != C_FREE && c->guest_port == guest_port && c->host_port == host_port)
			return c;
	}
	return NULL;
}

static uint32_t conn__credit(const struct vsock_conn *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;
	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/* Bytes reached the host socket: the guest may send as many again. */
static void conn__forwarded(struct vsock_conn *c, size_t n)
{
	c->fwd_cnt += (uint32_t)n;
	c->vs->bytes_to_host += n;
	if (c->fwd_cnt - c->fwd_told > VSOCK_BUF_ALLOC / 2 && !c->pending_op)
		c->pending_op = OP_CREDIT_UPDATE;
}

/* Writes what the buffer holds; -1 when the host socket is gone. */
static int conn__flush(struct vsock_conn *c)
{
	size_t done = 0;
	while (done < c->tx_len) {
		ssize_t n = send(c->w.fd, c->tx_buf + done, c->tx_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			c->tx_len = c->tx_own = 0;
			conn__update(c);
			c->pending_op = OP_RST;
			return -1;
		}
		done += (size_t)n;
	}
	memmove(c->tx_buf, c->tx_buf + done, c->tx_len - done);
	c->tx_len -= done;
	size_t own = ST_MIN(done, c->tx_own);
	c->tx_own -= own;
	if (done > own)
		conn__forwarded(c, done - own);
	conn__update(c);
	return 0;
}

/* Guest bytes (or the "OK" line) to the host socket, never blocking: what the
 * socket does not take now waits in the buffer. A guest that sends beyond the
 * credit it was given (the buffer's size) is refused: -1. */
static int conn__send(struct vsock_conn *c, const void *data, size_t len, bool own)
{
	if (!c->tx_buf && !(c->tx_buf = malloc(VSOCK_BUF_ALLOC + 64)))
		return -1;
	if (c->tx_len + len > VSOCK_BUF_ALLOC + 64)
		return -1;
	memcpy(c->tx_buf + c->tx_len, data, len);
	c->tx_len += len;
	if (own)
		c->tx_own = c->tx_len;
	return conn__flush(c);
}

static void vsock__fill_hdr(struct virtio_vsock *vs, struct vsock_conn *c, struct vsock_hdr *h,
			    uint16_t op, uint32_t len)
{
	*h = (struct vsock_hdr){.src_cid = HOST_CID, .dst_cid = vs->config.guest_cid,
				.src_port = c->host_port, .dst_port = c->guest_port, .len = len,
				.type = TYPE_STREAM, .op = op, .buf_alloc = VSOCK_BUF_ALLOC,
				.fwd_cnt = c->fwd_cnt};
	c->fwd_told = c->fwd_cnt;
}

/* One packet into the next receive buffer; false when there is none. */
static bool vsock__put(struct virtio_vsock *vs, struct vsock_conn *c, uint16_t op,
		       const struct vsock_hdr *raw)
{
	struct virtio_dev *d = &vs->dev;
	struct st_err err = {0};
	struct vq_mark before = vq__mark(&d->vqs[RXQ]);
	int r = vq__pop(&d->vqs[RXQ], &d->vm->mem, &vs->elem, &err);
	if (r > 0 && (vs->elem.nr_out || vs->elem.in_len < sizeof(struct vsock_hdr))) {
		err__fail(&err, 0, "receive buffer %u is read-only or shorter than a header", vs->elem.head);
		r = -1;
	}
	if (r < 0)
		virtio__queue_error(d, RXQ, &err);
	if (r <= 0)
		return false;
	struct vsock_hdr h;
	uint32_t len = 0;
	if (raw) {
		h = *raw;
	} else if (op == OP_RW) {
		/* payload straight from the host socket into the guest's buffers */
		size_t room = ST_MIN((uint64_t)vs->elem.in_len - sizeof(h), conn__credit(c));
		struct iovec iov[VQ_MAX_SEGS];
		unsigned n = 0;
		size_t skip = sizeof(h), want = room;
		for (unsigned i = 0; i < vs->elem.nr_in && want; i++) {
			struct iovec v = vs->elem.iov[i];
			if (skip >= v.iov_len) { skip -= v.iov_len; continue; }
			v.iov_base = (uint8_t *)v.iov_base + skip, v.iov_len -= skip, skip = 0;
			if (v.iov_len > want) v.iov_len = want;
			want -= v.iov_len;
			iov[n++] = v;
		}
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = n};
		ssize_t got = recvmsg(c->w.fd, &msg, MSG_DONTWAIT);
		if (got <= 0) {
			vq__rewind(&d->vqs[RXQ], &before);
			c->readable = false;
			if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
				c->pending_op = OP_SHUTDOWN; /* the host side went away */
				c->state = C_CLOSING;
				conn__watch(c, false);
			}
			return true;
		}
		len = (uint32_t)got;
		vsock__fill_hdr(vs, c, &h, OP_RW, len);
		c->rx_cnt += len;
		vs->bytes_to_guest += len;
	} else {
		vsock__fill_hdr(vs, c, &h, op, 0);
		if (op == OP_SHUTDOWN)
			h.flags = 3; /* will neither receive nor send */
	}
	iov__from_buf(vs->elem.iov, vs->elem.nr_in, 0, &h, sizeof(h));
	vq__push(&d->vqs[RXQ], vs->elem.head, (uint32_t)sizeof(h) + len);
	return true;
}

/* Everything that waits for the guest: control packets, then data (lock held). */
static void vsock__rx(struct virtio_vsock *vs)
{
	struct virtio_dev *d = &vs->dev;
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || !d->vqs[RXQ].desc || d->vqs[RXQ].broken)
		return;
	uint32_t before = d->vqs[RXQ].published;
	bool room = true;
	if (vs->orphan_pending && (room = vsock__put(vs, NULL, OP_RST, &vs->orphan_rst)))
		vs->orphan_pending = false;
	for (int i = 0; i < VSOCK_CONNS && room; i++) {
		struct vsock_conn *c = &vs->conns[i];
		if (c->state == C_FREE)
			continue;
		/* a control packet, the data, and a control packet the data raised (EOF) */
		for (int pass = 0; pass < 2 && room; pass++) {
			if (c->pending_op) {
				uint16_t op = c->pending_op;
				if (!(room = vsock__put(vs, c, op, NULL)))
					break;
				c->pending_op = 0;
				if (op == OP_RST) {
					conn__free(c);
					break;
				}
			}
			while (c->state == C_OPEN && c->readable && conn__credit(c) && !c->pending_op)
				if (!(room = vsock__put(vs, c, OP_RW, NULL)))
					break;
		}
		if (c->state == C_FREE)
			continue;
		/* no credit or no buffers: stop polling the socket until the guest catches up */
		conn__watch(c, c->state == C_HOST_LINE ||
				       (c->state == C_OPEN && room && conn__credit(c) && !c->pending_op));
	}
	if (d->vqs[RXQ].published != before)
		virtio__signal_queue(d, RXQ);
}

static void vsock__host_event(struct io_watch *w, uint32_t events)
{
	struct vsock_conn *c = w->opaque;
	struct virtio_vsock *vs = c->vs;
	pthread_mutex_lock(&vs->dev.lock);
	if (c->state == C_HOST_LINE) {
		/* "CONNECT <port>\n" from a host client */
		ssize_t n = read(w->fd, c->line + c->line_len, sizeof(c->line) - 1 - c->line_len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* spurious: wait for more */
		} else if (n <= 0) {
			conn__free(c);
		} else {
			c->line_len += (size_t)n;
			c->line[c->line_len] = 0;
			unsigned port;
			char *nl = strchr(c->line, '\n');
			if (nl && sscanf(c->line, "CONNECT %u", &port) == 1) {
				c->guest_port = port;
				c->host_port = vs->next_host_port++;
				c->state = C_HOST_WAIT;
				c->pending_op = OP_REQUEST;
				conn__watch(c, false);
			} else if (nl || c->line_len == sizeof(c->line) - 1) {
				conn__free(c); /* not the protocol */
			}
		}
	} else {
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			c->readable = true;
		if (c->tx_len && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
			conn__flush(c);
	}
	vsock__rx(vs);
	pthread_mutex_unlock(&vs->dev.lock);
}

static void vsock__accept(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct virtio_vsock *vs = w->opaque;
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	pthread_mutex_lock(&vs->dev.lock);
	struct vsock_conn *c = conn__alloc(vs);
	if (!c) {
		close(fd);
	} else {
		c->state = C_HOST_LINE;
		c->w = (struct io_watch){.fd = fd, .fn = vsock__host_event, .opaque = c};
		conn__watch(c, true);
	}
	pthread_mutex_unlock(&vs->dev.lock);
}

static int vsock__connect_host(struct virtio_vsock *vs, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", vs->uds, port) >=
	    sizeof(sa.sun_path))
		return -1;
	/* Non-blocking: a unix connect either completes at once or the
	 * listener's backlog is full (EAGAIN), which counts as refused. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void vsock__orphan_rst(struct virtio_vsock *vs, const struct vsock_hdr *h)
{
	vs->orphan_rst = (struct vsock_hdr){.src_cid = HOST_CID, .dst_cid = vs->config.guest_cid,
					    .src_port = h->dst_port, .dst_port = h->src_port,
					    .type = TYPE_STREAM, .op = OP_RST};
	vs->orphan_pending = true;
}

/* One packet from the guest. Returns < 0 for a malformed one. */
static int vsock__tx_chain(struct virtio_dev *d, struct vq_elem *elem, struct st_err *err)
{
	struct virtio_vsock *vs = d->priv;
	struct vsock_hdr h;
	const struct vq_elem *e = elem;
	if (e->nr_in || iov__to_buf(e->iov, e->nr_out, 0, &h, sizeof(h)) != sizeof(h))
		return err__fail(err, 0, "packet %u: writable buffers or a short header", e->head);
	if (h.len != e->out_len - sizeof(h))
		return err__fail(err, 0, "packet %u: header says %u payload bytes, chain has %llu", e->head,
			       h.len, (unsigned long long)(e->out_len - sizeof(h)));
	if (h.type != TYPE_STREAM || h.dst_cid != HOST_CID || h.src_cid != vs->config.guest_cid) {
		if (h.op != OP_RST)
			vsock__orphan_rst(vs, &h);
		return 0;
	}
	struct vsock_conn *c = conn__find(vs, h.src_port, h.dst_port);
	if (c) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case OP_REQUEST: {
		if (c)
			break; /* a duplicate: ignore */
		int fd = vsock__connect_host(vs, h.dst_port);
		c = fd >= 0 ? conn__alloc(vs) : NULL;
		if (!c) {
			if (fd >= 0)
				close(fd);
			vsock__orphan_rst(vs, &h); /* nobody listens there */
			break;
		}
		c->state = C_OPEN;
		c->guest_port = h.src_port;
		c->host_port = h.dst_port;
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		c->w = (struct io_watch){.fd = fd, .fn = vsock__host_event, .opaque = c};
		c->pending_op = OP_RESPONSE;
		vs->connects++;
		break;
	}
	case OP_RESPONSE:
		if (c && c->state == C_HOST_WAIT) {
			char ok[32];
			int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);
			c->state = C_OPEN;
			vs->connects++;
			if (conn__send(c, ok, (size_t)n, true) < 0)
				c->pending_op = OP_RST;
		}
		break;
	case OP_RW:
		if (!c || (c->state != C_OPEN && c->state != C_CLOSING)) {
			vsock__orphan_rst(vs, &h);
			break;
		}
		for (size_t off = 0; off < h.len;) { /* the payload may start mid-buffer */
			uint8_t chunk[4096];
			size_t n = iov__to_buf(e->iov, e->nr_out, sizeof(h) + off, chunk,
					       ST_MIN(sizeof(chunk), h.len - off));
			if (conn__send(c, chunk, n, false) < 0) {
				c->pending_op = OP_RST;
				break;
			}
			off += n;
		}
		break;
	case OP_CREDIT_REQUEST:
		if (c && !c->pending_op)
			c->pending_op = OP_CREDIT_UPDATE;
		break;
	case OP_SHUTDOWN:
		if (c)
			c->pending_op = OP_RST; /* close both ways and confirm */
		break;
	case OP_RST:
		if (c)
			conn__free(c);
		break;
	default: /* CREDIT_UPDATE: the credit was taken above */
		break;
	}
	return 0;
}

static void vsock__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_vsock *vs = d->priv;
	if (q == TXQ)
		virtio__serve_queue(d, TXQ, &vs->elem, vsock__tx_chain);
	/* rx buffers posted, credit granted or control replies queued: try to deliver */
	for (int i = 0; i < VSOCK_CONNS; i++)
		if (vs->conns[i].state == C_OPEN && conn__credit(&vs->conns[i]))
			conn__watch(&vs->conns[i], true);
	vsock__rx(vs);
}

static void vsock__reset(struct virtio_dev *d)
{
	struct virtio_vsock *vs = d->priv;
	for (int i = 0; i < VSOCK_CONNS; i++)
		if (vs->conns[i].state != C_FREE)
			conn__free(&vs->conns[i]);
	vs->orphan_pending = false;
}

static void vsock__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_vsock *vs = d->priv;
	json_object_set_new(o, "type", json_string("virtio-vsock"));
	json_object_set_new(o, "guest_cid", json_integer((json_int_t)vs->config.guest_cid));
	json_object_set_new(o, "uds", json_string(vs->uds));
	json_object_set_new(o, "connects", json_integer((json_int_t)vs->connects));
	json_object_set_new(o, "bytes_to_host", json_integer((json_int_t)vs->bytes_to_host));
	json_object_set_new(o, "bytes_to_guest", json_integer((json_int_t)vs->bytes_to_guest));
}

static const struct virtio_dev_ops vsock_ops = {
	.device_id = 19,
	.pci_class = 0x078000,
	.queue_notify = vsock__queue_notify,
	.reset = vsock__reset,
	.query = vsock__query,
};

int virtio_vsock__create(struct vm *vm, const char *spec, struct st_err *err)
{
	cleanup_free struct virtio_vsock *vs = calloc(1, sizeof(*vs));
	if (!vs)
		return err__fail(err, ENOMEM, "virtio-vsock");
	char buf[256];
	if (strlen(spec) >= sizeof(buf))
		return err__fail(err, 0, "vsock spec too long");
	strcpy(buf, spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;
		if (!strncmp(tok, "cid=", 4)) {
			if (util__parse_u64(tok + 4, UINT32_MAX - 1, &v, err) < 0 || v < 3)
				return err__fail(err, 0, "cid=%s: guest CIDs start at 3", tok + 4);
			vs->config.guest_cid = v;
		} else if (!strncmp(tok, "uds=", 4) && strlen(tok + 4) < sizeof(vs->uds) - 12) {
			strcpy(vs->uds, tok + 4);
		} else {
			return err__fail(err, 0, "unknown vsock option '%s' (cid=N, uds=PATH)", tok);
		}
	}
	if (!vs->config.guest_cid || !vs->uds[0])
		return err__fail(err, 0, "'%s': give cid=N and uds=PATH", spec);
	for (int i = 0; i < VSOCK_CONNS; i++) {
		vs->conns[i].vs = vs;
		vs->conns[i].w.fd = -1;
	}
	vs->next_host_port = 1u << 30;
	vs->listen = (struct io_watch){.fn = vsock__accept, .opaque = vs};
	vs->listen.fd = sock__unix_listen(vs->uds, err);
	if (vs->listen.fd < 0 || iothread__add(&vs->listen, EPOLLIN, err) < 0)
		return -1;
	vs->dev.priv = vs;
	snprintf(vs->dev.name, sizeof(vs->dev.name), "virtio-vsock%u", vm->virtio_seq);
	if (virtio__register(vm, &vs->dev, &vsock_ops, 3, 128, 0, &vs->config, sizeof(vs->config),
			     err) < 0)
		return -1;
	cleanup__steal_ptr(vs); /* the VM owns it now */
	return 0;
}
