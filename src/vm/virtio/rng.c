/* virtio-rng (virtio 1.x, 5.4): fills the driver's buffers from getrandom(). */
#include "common/cleanup.h"
#include "common/log.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct virtio_rng {
	struct virtio_dev dev;
	struct vq_elem elem;
	unsigned long bytes;
};

static void rng__fill(const struct iovec *iov, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		size_t done = 0;
		while (done < iov[i].iov_len) {
			ssize_t r = getrandom((uint8_t *)iov[i].iov_base + done, iov[i].iov_len - done, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				log__warn("virtio-rng: getrandom: %s", r < 0 ? strerror(errno) : "no bytes");
				return;
			}
			done += (size_t)r;
		}
	}
}

static int rng__chain(struct virtio_dev *d, struct vq_elem *e, struct st_err *err)
{
	struct virtio_rng *rng = d->priv;
	if (e->nr_out)
		return err__fail(err, 0, "request %u offers read-only buffers to fill", e->head);
	rng__fill(e->iov, e->nr_in);
	rng->bytes += e->in_len;
	return (int)e->in_len;
}

static void rng__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_rng *rng = d->priv;
	virtio__serve_queue(d, q, &rng->elem, rng__chain);
}

static void rng__query(struct virtio_dev *d, json_t *o)
{
	struct virtio_rng *rng = d->priv;
	json_object_set_new(o, "type", json_string("virtio-rng"));
	json_object_set_new(o, "bytes", json_integer((json_int_t)rng->bytes));
}

static const struct virtio_dev_ops rng_ops = {
	.device_id = 4,
	.pci_class = 0xff0000,
	.queue_notify = rng__queue_notify,
	.query = rng__query,
};

int virtio_rng__create(struct vm *vm, const char *spec, struct st_err *err)
{
	(void)spec;
	cleanup_free struct virtio_rng *rng = calloc(1, sizeof(*rng));
	if (!rng)
		return err__fail(err, ENOMEM, "virtio-rng");
	rng->dev.priv = rng;
	snprintf(rng->dev.name, sizeof(rng->dev.name), "virtio-rng%u", vm->virtio_seq);
	if (virtio__register(vm, &rng->dev, &rng_ops, 1, 64, 0, NULL, 0, err) < 0)
		return -1;
	cleanup__steal_ptr(rng); /* the VM owns it now */
	return 0;
}
