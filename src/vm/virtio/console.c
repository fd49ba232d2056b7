/* virtio-console (virtio 1.x, 5.3), one port, no multiport: the guest's hvc0.
 * Output goes to stdout, a file or a unix-socket client; input comes from the
 * socket client (with stdio the 8250 keeps stdin). All on the I/O thread. */
#include "common/cleanup.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { RXQ = 0, TXQ = 1 };

struct virtio_console {
	struct virtio_dev dev;
	struct vq_elem elem;
	int out_fd;                 /* -1 while no socket client */
	struct io_watch listen, client;
	uint8_t pending[4096];      /* input read but not yet given to the guest */
	size_t pending_len;
	unsigned long tx_bytes, rx_bytes;
};

static void console__write_out(struct virtio_console *c, const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		c->tx_bytes += iov[i].iov_len;
		if (c->out_fd >= 0 && util__write_all(c->out_fd, iov[i].iov_base, iov[i].iov_len, NULL) < 0)
			log__debug("virtio-console: output: %s", strerror(errno));
	}
}

/* Moves pending input into receive buffers; called with the lock held. */
static void console__fill_rx(struct virtio_console *c)
{
	struct virtio_dev *d = &c->dev;
	struct st_err err = {0};
	bool pushed = false;
	while (c->pending_len) {
		int r = vq__pop(&d->vqs[RXQ], &d->vm->mem, &c->elem, &err);
		if (r < 0 || (r > 0 && c->elem.nr_out)) {
			if (r > 0)
				err__fail(&err, 0, "receive buffer %u is read-only", c->elem.head);
			virtio__queue_error(d, RXQ, &err);
			break;
		}
		if (r == 0)
			break;
		size_t n = iov__from_buf(c->elem.iov, c->elem.nr_in, 0, c->pending, c->pending_len);
		memmove(c->pending, c->pending + n, c->pending_len - n);
		c->pending_len -= n;
		c->rx_bytes += n;
		vq__push(&d->vqs[RXQ], c->elem.head, (uint32_t)n);
		d->requests++;
		pushed = true;
	}
	if (pushed)
		virtio__signal_queue(d, RXQ);
}

static int console__tx_chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	(void)err;
	console__write_out(d->priv, e->iov, e->nr_out);
	return 0;
}

static void console__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_console *c = d->priv;
	if (q == RXQ)
		console__fill_rx(c);
	else
		virtio__serve_queue(d, TXQ, &c->elem, console__tx_chain);
}

static void console__client_event(struct io_watch *w, uint32_t events)
{
	struct virtio_console *c = w->opaque;
	pthread_mutex_lock(&c->dev.lock);
	if (c->pending_len < sizeof(c->pending)) {
		ssize_t n = read(w->fd, c->pending + c->pending_len, sizeof(c->pending) - c->pending_len);
		if (n > 0)
			c->pending_len += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			events |= EPOLLHUP;
	}
	if (events & (EPOLLHUP | EPOLLERR)) {
		iothread__del(w);
		close(w->fd);
		c->out_fd = w->fd = -1;
	}
	if (c->dev.status & VIRTIO_STATUS_DRIVER_OK)
		console__fill_rx(c);
	pthread_mutex_unlock(&c->dev.lock);
	/* Input that found no buffer waits; the guest's next rx notify takes it.
	 * Until then a full pending buffer stops reading (the socket backs up). */
}

static void console__accept(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct virtio_console *c = w->opaque;
	int fd = accept4(w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->dev.lock);
	if (c->client.fd >= 0) { /* one client at a time: the newest wins */
		iothread__del(&c->client);
		close(c->client.fd);
	}
	c->client = (struct io_watch){.fd = fd, .fn = console__client_event, .opaque = c};
	c->out_fd = fd;
	struct st_err err = {0};
	if (iothread__add(&c->client, EPOLLIN, &err) < 0)
		log__warn("virtio-console: %s", err.msg);
	pthread_mutex_unlock(&c->dev.lock);
}

static void console__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_console *c = d->priv;
	json_object_set_new(o, "type", json_string("virtio-console"));
	json_object_set_new(o, "tx_bytes", json_integer((json_int_t)c->tx_bytes));
	json_object_set_new(o, "rx_bytes", json_integer((json_int_t)c->rx_bytes));
}

static const struct virtio_dev_ops console_ops = {
	.device_id = 3,
	.pci_class = 0x078000, /* communication, other */
	.queue_notify = console__queue_notify,
	.query = console__query,
};

int virtio_console__create(struct vm *vm, const char *spec, struct st_err *err)
{
	cleanup_free struct virtio_console *c = calloc(1, sizeof(*c));
	if (!c)
		return err__fail(err, ENOMEM, "virtio-console");
	c->out_fd = c->client.fd = c->listen.fd = -1;
	if (!strcmp(spec, "stdio")) {
		c->out_fd = STDOUT_FILENO;
	} else if (!strncmp(spec, "file:", 5)) {
		c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
		if (c->out_fd < 0)
			return err__fail_errno(err, "cannot open %s", spec + 5);
	} else if (!strncmp(spec, "socket:", 7)) {
		c->listen = (struct io_watch){.fn = console__accept, .opaque = c};
		c->listen.fd = sock__unix_listen(spec + 7, err);
		if (c->listen.fd < 0 || iothread__add(&c->listen, EPOLLIN, err) < 0)
			return -1;
	} else {
		return err__fail(err, 0, "'%s' is not stdio, file:PATH or socket:PATH", spec);
	}
	c->dev.priv = c;
	snprintf(c->dev.name, sizeof(c->dev.name), "virtio-console%u", vm->virtio_seq);
	/* config: cols, rows, max_nr_ports, emerg_wr; no feature uses them */
	static uint8_t config[12];
	if (virtio__register(vm, &c->dev, &console_ops, 2, 64, 0, config, sizeof(config), err) < 0)
		return -1;
	cleanup__steal_ptr(c); /* the VM owns it now */
	return 0;
}
