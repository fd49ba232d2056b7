/* virtio-rng (virtio 1.x, 5.4): fills the driver's buffers from getrandom(). */
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
				st_warn("virtio-rng: getrandom: %s", r < 0 ? strerror(errno) : "no bytes");
				return;
			}
			done += (size_t)r;
		}
	}
}

static void rng__queue_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_rng *rng = d->priv;
	struct st_err err = {0};
	bool pushed = false;
	int r;
	while ((r = vq__pop(&d->vqs[q], &d->vm->mem, &rng->elem, &err)) > 0) {
		if (rng->elem.nr_out) {
			st_fail(&err, 0, "request %u offers read-only buffers to fill", rng->elem.head);
			r = -1;
			break;
		}
		/* Large requests get what a single getrandom() call gives cheaply. */
		rng__fill(&rng->elem.iov[0], rng->elem.nr_in);
		rng->bytes += rng->elem.in_len;
		vq__push(&d->vqs[q], rng->elem.head, (uint32_t)rng->elem.in_len);
		d->requests++;
		pushed = true;
	}
	if (r < 0)
		virtio__queue_error(d, q, &err);
	if (pushed)
		virtio__signal_queue(d, q);
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
	struct virtio_rng *rng = calloc(1, sizeof(*rng));
	if (!rng)
		return st_fail(err, ENOMEM, "virtio-rng");
	rng->dev.priv = rng;
	snprintf(rng->dev.name, sizeof(rng->dev.name), "virtio-rng%u", vm->nr_virtio);
	return virtio__register(vm, &rng->dev, &rng_ops, 1, 64, 0, NULL, 0, err);
}
