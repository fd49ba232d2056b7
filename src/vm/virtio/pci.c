/* The virtio-pci modern transport (virtio 1.x, 4.1): vendor capabilities
 * pointing into BAR 0 for the common, ISR, device and notify structures. */
#include "common/log.h"
#include "common/util.h"
#include "vm/pci_hotplug.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4 };

/* Common configuration structure offsets (4.1.4.3). */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c, CC_MSIX = 0x10,
	CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15, CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18,
	CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c, CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20,
	CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30, CC_END = 0x38,
};

bool virtio__has_feature(const struct virtio_dev *d, unsigned bit)
{
	return (d->driver_features >> bit) & 1;
}

/* MSI-X when the driver enabled it; otherwise INTx, which stays asserted
 * until the driver reads the ISR status. */
static void virtio__interrupt(struct virtio_dev *d, uint16_t vector, uint8_t isr_bit)
{
	d->isr |= isr_bit;
	if (!pci__msix_enabled(&d->pci))
		pci__intx(&d->pci, true);
	else if (vector != VIRTIO_NO_VECTOR)
		pci__msix_notify(&d->pci, vector);
}

void virtio__signal_queue(struct virtio_dev *d, unsigned q)
{
	struct virtqueue *vq = &d->vqs[q];
	if (vq__should_notify(vq))
		virtio__interrupt(d, vq->msix_vector, 1);
}

void virtio__config_changed(struct virtio_dev *d)
{
	d->config_generation++;
	virtio__interrupt(d, d->config_vector, 2);
}

static void virtio__needs_reset(struct virtio_dev *d, const char *what)
{
	d->errors++;
	if (!d->error_logged)
		log__warn("%s: %s; the device needs a reset", d->name, what);
	d->error_logged = true;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
		virtio__config_changed(d);
	}
}

void virtio__queue_error(struct virtio_dev *d, unsigned q, const struct st_err *err)
{
	d->vqs[q].broken = true;
	char what[ST_ERR_MSG_MAX + 32];
	snprintf(what, sizeof(what), "queue %u: %s; queue stopped", q, err->msg);
	virtio__needs_reset(d, what);
}

void virtio__serve_queue(struct virtio_dev *d, unsigned q, struct vq_elem *e, virtio_chain_fn fn)
{
	struct virtqueue *vq = &d->vqs[q];
	struct st_err err = {0};
	bool pushed = false;
	int r;
	while ((r = vq__pop(vq, &d->vm->mem, e, &err)) > 0) {
		int len = fn(d, e, &err);
		if (len == -1) {
			r = -1;
			break;
		}
		d->requests++;
		if (len != VIRTIO_CHAIN_HELD) {
			vq__push(vq, e->head, (uint32_t)len);
			pushed = true;
		}
	}
	if (r < 0)
		virtio__queue_error(d, q, &err);
	if (pushed)
		virtio__signal_queue(d, q);
}

static void virtio__reset(struct virtio_dev *d)
{
	d->status = 0;
	d->driver_features = 0;
	d->dev_feature_sel = d->drv_feature_sel = 0;
	d->config_vector = VIRTIO_NO_VECTOR;
	d->queue_sel = 0;
	d->isr = 0;
	if (d->pci.bus)
		pci__intx(&d->pci, false);
	d->error_logged = false;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vq__reset(&d->vqs[q]);
		d->vqs[q].size = d->max_queue_size;
	}
	if (d->ops->reset)
		d->ops->reset(d);
}

static void virtio__kick_queue(struct virtio_dev *d, unsigned q)
{
	uint64_t one = 1;
	if (write(d->kick[q].fd, &one, sizeof(one)) < 0)
		log__debug("%s: kick: %s", d->name, strerror(errno));
}

static void virtio__start_queue(struct virtio_dev *d, unsigned q)
{
	struct st_err err = {0};
	struct virtqueue *vq = &d->vqs[q];
	vq->packed = virtio__has_feature(d, VIRTIO_F_RING_PACKED);
	if (vq__start(vq, &d->vm->mem, virtio__has_feature(d, VIRTIO_F_RING_EVENT_IDX), &err) < 0) {
		virtio__queue_error(d, q, &err);
		return;
	}
	virtio__kick_queue(d, q); /* buffers may already be there */
}

static void virtio__set_status(struct virtio_dev *d, uint8_t v)
{
	if (v == 0) {
		virtio__reset(d);
		return;
	}
	uint8_t old = d->status;
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		const char *bad = NULL;
		if (d->driver_features & ~d->features)
			bad = "the driver accepted features that were not offered";
		else if (!virtio__has_feature(d, VIRTIO_F_VERSION_1))
			bad = "the driver did not accept VERSION_1 (legacy drivers are not supported)";
		if (bad) {
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
			virtio__needs_reset(d, bad);
		}
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			d->status = (uint8_t)(v | VIRTIO_STATUS_NEEDS_RESET);
			virtio__needs_reset(d, "DRIVER_OK without FEATURES_OK");
			return;
		}
		d->status = v;
		for (unsigned q = 0; q < d->nr_queues; q++)
			if (d->vqs[q].enabled)
				virtio__start_queue(d, q);
		if (d->ops->driver_ok)
			d->ops->driver_ok(d);
		return;
	}
	d->status = (uint8_t)(v | (old & VIRTIO_STATUS_NEEDS_RESET));
}

static uint64_t le_value(const uint8_t *data, unsigned size)
{
	uint64_t v = 0;
	memcpy(&v, data, size > 8 ? 8 : size);
	return v;
}

static void virtio__common_read(struct virtio_dev *d, unsigned off, uint8_t *data, unsigned size)
{
	uint8_t cc[CC_END] = {0};
	struct virtqueue *vq = d->queue_sel < d->nr_queues ? &d->vqs[d->queue_sel] : NULL;
	uint32_t df = d->dev_feature_sel < 2 ? (uint32_t)(d->features >> (32 * d->dev_feature_sel)) : 0;
	uint32_t gf = d->drv_feature_sel < 2 ? (uint32_t)(d->driver_features >> (32 * d->drv_feature_sel)) : 0;
	uint16_t numq = (uint16_t)d->nr_queues;
	memcpy(cc + CC_DFSELECT, &d->dev_feature_sel, 4);
	memcpy(cc + CC_DF, &df, 4);
	memcpy(cc + CC_GFSELECT, &d->drv_feature_sel, 4);
	memcpy(cc + CC_GF, &gf, 4);
	memcpy(cc + CC_MSIX, &d->config_vector, 2);
	memcpy(cc + CC_NUMQ, &numq, 2);
	cc[CC_STATUS] = d->status;
	cc[CC_CFGGEN] = d->config_generation;
	memcpy(cc + CC_Q_SELECT, &d->queue_sel, 2);
	if (vq) {
		uint16_t en = vq->enabled, noff = d->queue_sel;
		memcpy(cc + CC_Q_SIZE, &vq->size, 2);
		memcpy(cc + CC_Q_MSIX, &vq->msix_vector, 2);
		memcpy(cc + CC_Q_ENABLE, &en, 2);
		memcpy(cc + CC_Q_NOFF, &noff, 2);
		memcpy(cc + CC_Q_DESC, &vq->desc_gpa, 8);
		memcpy(cc + CC_Q_AVAIL, &vq->avail_gpa, 8);
		memcpy(cc + CC_Q_USED, &vq->used_gpa, 8);
	}
	memset(data, 0, size);
	if (off < CC_END)
		memcpy(data, cc + off, ST_MIN(size, CC_END - off));
}

static void set_half(uint64_t *field, unsigned off_in_field, uint64_t v, unsigned size)
{
	if (size == 8)
		*field = v;
	else if (off_in_field == 0)
		*field = (*field & ~0xffffffffull) | (uint32_t)v;
	else
		*field = (*field & 0xffffffffull) | (v << 32);
}

static void virtio__common_write(struct virtio_dev *d, unsigned off, const uint8_t *data,
				 unsigned size)
{
	uint64_t v = le_value(data, size);
	struct virtqueue *vq = d->queue_sel < d->nr_queues ? &d->vqs[d->queue_sel] : NULL;
	/* Ring setup is frozen once the queue is enabled (4.1.4.3.2). */
	bool q_writable = vq && !vq->enabled;
	switch (off) {
	case CC_DFSELECT: d->dev_feature_sel = (uint32_t)v; break;
	case CC_GFSELECT: d->drv_feature_sel = (uint32_t)v; break;
	case CC_GF:
		if (d->drv_feature_sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
			unsigned shift = 32 * d->drv_feature_sel;
			d->driver_features = (d->driver_features & ~(0xffffffffull << shift)) |
					     ((uint64_t)(uint32_t)v << shift);
		}
		break;
	case CC_MSIX: d->config_vector = (uint16_t)v; break;
	case CC_STATUS: virtio__set_status(d, (uint8_t)v); break;
	case CC_Q_SELECT: d->queue_sel = (uint16_t)v; break;
	case CC_Q_SIZE:
		/* The driver may shrink the queue to any power of two. */
		if (q_writable && v && v <= d->max_queue_size && !(v & (v - 1)))
			vq->size = (uint16_t)v;
		break;
	case CC_Q_MSIX:
		if (vq)
			vq->msix_vector = (uint16_t)v;
		break;
	case CC_Q_ENABLE:
		if (q_writable && v == 1) {
			vq->enabled = true;
			if (d->status & VIRTIO_STATUS_DRIVER_OK)
				virtio__start_queue(d, d->queue_sel);
		}
		break;
	case CC_Q_DESC: case CC_Q_DESC + 4:
		if (q_writable) set_half(&vq->desc_gpa, off - CC_Q_DESC, v, size);
		break;
	case CC_Q_AVAIL: case CC_Q_AVAIL + 4:
		if (q_writable) set_half(&vq->avail_gpa, off - CC_Q_AVAIL, v, size);
		break;
	case CC_Q_USED: case CC_Q_USED + 4:
		if (q_writable) set_half(&vq->used_gpa, off - CC_Q_USED, v, size);
		break;
	default: break; /* read-only or unknown: ignored */
	}
}

void virtio__bar_access(struct virtio_dev *d, uint64_t off, bool is_write, uint8_t *data,
			unsigned size)
{
	if (off >= VIRTIO_NOTIFY_OFF && off < VIRTIO_NOTIFY_OFF + 0x1000) {
		/* Only reached without ioeventfd, or for an access size it does not match. */
		unsigned q = (unsigned)(off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT;
		if (is_write && q < d->nr_queues) {
			pthread_mutex_lock(&d->lock); /* an eject closes the eventfds */
			if (!d->unplugged)
				virtio__kick_queue(d, q);
			pthread_mutex_unlock(&d->lock);
		} else if (!is_write) {
			memset(data, 0, size);
		}
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (d->unplugged) { /* a vCPU that found the device just before it was ejected */
		if (!is_write)
			memset(data, 0xff, size);
	} else if (off < VIRTIO_ISR_OFF) {
		if (is_write)
			virtio__common_write(d, (unsigned)off, data, size);
		else
			virtio__common_read(d, (unsigned)off, data, size);
	} else if (off == VIRTIO_ISR_OFF) {
		if (!is_write) {
			memset(data, 0, size);
			data[0] = d->isr;
			d->isr = 0; /* reading acknowledges, and lowers INTx */
			pci__intx(&d->pci, false);
		}
	} else if (off >= VIRTIO_DEVCFG_OFF && off < VIRTIO_DEVCFG_OFF + 0x1000) {
		unsigned o = (unsigned)(off - VIRTIO_DEVCFG_OFF);
		if (is_write) {
			if (d->ops->config_write && o < d->config_len && size <= d->config_len - o)
				d->ops->config_write(d, o, data, size);
		} else {
			memset(data, 0, size);
			if (o < d->config_len)
				memcpy(data, d->config + o, ST_MIN(size, d->config_len - o));
		}
	} else if (!is_write) {
		memset(data, 0, size);
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio__pci_bar_access(struct pci_dev *p, int bar, uint64_t off, bool is_write,
				   uint8_t *data, unsigned size)
{
	if (bar == 0)
		virtio__bar_access(p->opaque, off, is_write, data, size);
	else if (!is_write)
		memset(data, 0, size);
}

static int virtio__ioeventfd(struct virtio_dev *d, uint64_t base, bool assign)
{
	for (unsigned q = 0; q < d->nr_queues; q++) {
		struct kvm_ioeventfd io = {
			.addr = base + VIRTIO_NOTIFY_OFF + VIRTIO_NOTIFY_MULT * q,
			.len = 2, /* drivers write the 16-bit queue index */
			.fd = d->kick[q].fd,
			.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
		};
		if (ioctl(d->vm->kvm.vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -1;
	}
	return 0;
}

/* The guest moved BAR 0 or toggled decoding: follow it with the ioeventfds. */
static void virtio__decode_changed(struct pci_dev *p)
{
	struct virtio_dev *d = p->opaque;
	pthread_mutex_lock(&d->lock); /* against an eject, and two vCPUs moving the BAR */
	pthread_mutex_lock(&p->lock);
	uint64_t base = pci__bar_addr(p, 0);
	pthread_mutex_unlock(&p->lock);
	if (d->ioeventfd && !d->unplugged && base != d->notify_gpa) {
		if (d->notify_gpa)
			virtio__ioeventfd(d, d->notify_gpa, false);
		d->notify_gpa = 0;
		if (base && virtio__ioeventfd(d, base, true) == 0)
			d->notify_gpa = base;
	}
	pthread_mutex_unlock(&d->lock);
}

static void virtio__forget_kicks(struct virtio_dev *d, unsigned n)
{
	for (unsigned q = 0; q < n; q++) {
		if (d->kick[q].fd < 0)
			continue;
		iothread__del(&d->kick[q]);
		close(d->kick[q].fd);
		d->kick[q].fd = -1;
	}
}

/* The guest ejected the device (main thread, pci__unplug; the slot is hidden
 * already): notifications unbound, the device reset (which waits for its
 * requests in flight), its back end shut down (a disk image flushed and
 * closed), and it leaves the device list. Its memory is kept on vm->retired:
 * a vCPU or the I/O thread may still hold a pointer to it, and finds it
 * unplugged. */
static void virtio__unplug(struct pci_dev *p)
{
	struct virtio_dev *d = p->opaque;
	struct vm *vm = d->vm;
	pthread_mutex_lock(&d->lock);
	d->unplugged = true;
	if (d->notify_gpa)
		virtio__ioeventfd(d, d->notify_gpa, false);
	d->notify_gpa = 0;
	virtio__reset(d);
	if (d->ops->shutdown)
		d->ops->shutdown(d);
	virtio__forget_kicks(d, d->nr_queues);
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		if (vm->virtio[i] != d)
			continue;
		memmove(&vm->virtio[i], &vm->virtio[i + 1], (vm->nr_virtio - i - 1) * sizeof(d));
		vm->nr_virtio--;
		break;
	}
	d->retired_next = vm->retired;
	vm->retired = d;
	log__info("%s: removed from slot %u", d->name, d->pci.slot);
}

static const struct pci_dev_ops virtio_pci_ops = {
	.bar_access = virtio__pci_bar_access,
	.decode_changed = virtio__decode_changed,
	.unplug = virtio__unplug,
};

static void virtio__kick_event(struct io_watch *w, uint32_t events)
{
	(void)events;
	struct virtio_dev *d = w->opaque;
	uint64_t n;
	pthread_mutex_lock(&d->lock);
	/* An eject closes the eventfd under the lock: an event fetched before that
	 * finds the device unplugged. */
	if (d->unplugged || read(w->fd, &n, sizeof(n)) < 0) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	struct virtqueue *vq = &d->vqs[w->index];
	if (!(d->status & VIRTIO_STATUS_DRIVER_OK) || !vq->enabled)
		log__debug("%s: queue %u notified before it is live; ignored", d->name, w->index);
	else if (!vq->broken && vq->desc)
		d->ops->queue_notify(d, w->index);
	pthread_mutex_unlock(&d->lock);
}

static int virtio__add_caps(struct virtio_dev *d, struct st_err *err)
{
	static const struct { uint8_t type; uint32_t off, len; } caps[] = {
		{CAP_COMMON, VIRTIO_COMMON_OFF, CC_END},
		{CAP_ISR, VIRTIO_ISR_OFF, 1},
		{CAP_DEVICE, VIRTIO_DEVCFG_OFF, 0x1000},
		{CAP_NOTIFY, VIRTIO_NOTIFY_OFF, 0x1000},
	};
	for (size_t i = 0; i < ST_ARRAY_SIZE(caps); i++) {
		/* struct virtio_pci_cap after id/next: cap_len, cfg_type, bar, id,
		 * padding[2], offset, length; notify adds the multiplier. */
		uint8_t body[18] = {0};
		unsigned body_len = 14;
		body[0] = caps[i].type == CAP_NOTIFY ? 20 : 16;
		body[1] = caps[i].type;
		body[2] = 0; /* BAR 0 */
		memcpy(body + 6, &caps[i].off, 4);
		memcpy(body + 10, &caps[i].len, 4);
		if (caps[i].type == CAP_NOTIFY) {
			uint32_t mult = VIRTIO_NOTIFY_MULT;
			memcpy(body + 14, &mult, 4);
			body_len = 18;
		}
		if (pci__add_cap(&d->pci, PCI_CAP_ID_VENDOR, body, body_len, err) < 0)
			return -1;
	}
	return 0;
}

int virtio__register(struct vm *vm, struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     unsigned nr_queues, uint16_t queue_size, uint64_t features, void *config,
		     unsigned config_len, struct st_err *err)
{
	if (!nr_queues || nr_queues > VIRTIO_MAX_QUEUES)
		return err__fail(err, 0, "%u queues (1..%d)", nr_queues, VIRTIO_MAX_QUEUES);
	if (vm->nr_virtio == ST_ARRAY_SIZE(vm->virtio))
		return err__fail(err, 0, "too many virtio devices");
	d->vm = vm;
	d->ops = ops;
	d->nr_queues = nr_queues;
	d->max_queue_size = queue_size;
	d->features = features | (1ull << VIRTIO_F_VERSION_1) |
		      (1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_F_RING_EVENT_IDX);
	if (vm->cfg.virtio_packed)
		d->features |= 1ull << VIRTIO_F_RING_PACKED;
	d->config = config;
	d->config_len = config_len;
	pthread_mutex_init(&d->lock, NULL);
	virtio__reset(d);
	if (pci__add_device(vm->pci, &d->pci, 0x1af4, (uint16_t)(0x1040 + ops->device_id),
			    ops->pci_class, &virtio_pci_ops, d, err) < 0)
		return -1;
	d->pci.removable = ops->hotplug;
	d->pci.cfg[PCI_REVISION] = 1;
	uint16_t subsys[2] = {0x1af4, 0x40};
	memcpy(d->pci.cfg + PCI_SUBSYS_VENDOR, subsys, 4);
	if (pci__add_bar(&d->pci, 0, VIRTIO_BAR_SIZE, err) < 0 || virtio__add_caps(d, err) < 0 ||
	    pci__add_msix(&d->pci, nr_queues + 1, 0, VIRTIO_MSIX_TABLE_OFF, VIRTIO_MSIX_PBA_OFF,
			  err) < 0) {
		pci__release_slot(&d->pci);
		return -1;
	}
	for (unsigned q = 0; q < nr_queues; q++) {
		d->kick[q] = (struct io_watch){.fn = virtio__kick_event, .opaque = d, .index = q};
		d->kick[q].fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->kick[q].fd < 0 || iothread__add(&d->kick[q], EPOLLIN, err) < 0) {
			if (d->kick[q].fd < 0)
				err__fail_errno(err, "eventfd");
			else
				close(d->kick[q].fd);
			d->kick[q].fd = -1;
			virtio__forget_kicks(d, q);
			pci__release_slot(&d->pci);
			return -1;
		}
	}
	vm->virtio[vm->nr_virtio++] = d;
	vm->virtio_seq++;
	return 0;
}

void virtio__publish_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		pci__publish(&vm->virtio[i]->pci);
}

struct virtio_dev *virtio__find(struct vm *vm, const char *name)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		if (!strcmp(vm->virtio[i]->name, name))
			return vm->virtio[i];
	return NULL;
}

/* Binds the device's notifications to ioeventfds at BAR 0 (lock held or the
 * device not yet visible). */
static void virtio__bind(struct virtio_dev *d, bool have)
{
	pthread_mutex_lock(&d->pci.lock);
	uint64_t base = pci__bar_addr(&d->pci, 0);
	pthread_mutex_unlock(&d->pci.lock);
	d->ioeventfd = have;
	d->notify_gpa = 0;
	if (have && base && virtio__ioeventfd(d, base, true) == 0)
		d->notify_gpa = base;
	else
		log__info("%s: no ioeventfd; notifications exit to the VMM", d->name);
}

void virtio__plug(struct virtio_dev *d)
{
	d->hotplugged = true;
	virtio__bind(d, kvm__check_cap(&d->vm->kvm, KVM_CAP_IOEVENTFD) > 0);
	pci__publish(&d->pci);
	if (d->vm->hotplug)
		pci_hotplug__plugged(d->vm->hotplug, d->pci.slot);
}

int virtio__attach_kvm(struct vm *vm, struct st_err *err)
{
	(void)err; /* without ioeventfd, notifications still work through MMIO exits */
	bool have = kvm__check_cap(&vm->kvm, KVM_CAP_IOEVENTFD) > 0;
	for (unsigned i = 0; i < vm->nr_virtio; i++)
		virtio__bind(vm->virtio[i], have);
	return 0;
}

void virtio__shutdown(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *d = vm->virtio[i];
		pthread_mutex_lock(&d->lock); /* never released: the process is ending */
		if (d->ops->shutdown)
			d->ops->shutdown(d);
	}
}

void virtio__reset_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *d = vm->virtio[i];
		pthread_mutex_lock(&d->lock);
		virtio__reset(d);
		pci__reset_dev(&d->pci);
		d->notify_gpa = 0; /* the ioeventfds go with the old KVM VM */
		pthread_mutex_unlock(&d->lock);
	}
}

json_t *virtio__query_all(struct vm *vm)
{
	json_t *list = json_array();
	for (unsigned i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *d = vm->virtio[i];
		pthread_mutex_lock(&d->lock);
		char bdf[16], bar[24];
		snprintf(bdf, sizeof(bdf), "00:%02x.0", d->pci.slot);
		snprintf(bar, sizeof(bar), "0x%llx", (unsigned long long)pci__bar_addr(&d->pci, 0));
		bool pending = vm->hotplug && pci_hotplug__unplug_pending(vm->hotplug, d->pci.slot);
		json_t *o = json_pack("{s:s, s:i, s:s, s:i, s:b, s:b, s:s, s:i, s:b, s:b, s:I, s:I, s:I}",
				      "name", d->name, "virtio_id", d->ops->device_id, "pci", bdf,
				      "slot", (int)d->pci.slot, "hotplugged", d->hotplugged,
				      "unplug_pending", pending,
				      "bar0", bar, "status", d->status,
				      "driver_ok", (d->status & VIRTIO_STATUS_DRIVER_OK) != 0,
				      "needs_reset", (d->status & VIRTIO_STATUS_NEEDS_RESET) != 0,
				      "features", (json_int_t)d->driver_features,
				      "requests", (json_int_t)d->requests, "errors", (json_int_t)d->errors);
		if (d->ops->query)
			d->ops->query(d, o);
		pthread_mutex_unlock(&d->lock);
		json_array_append_new(list, o);
	}
	return list;
}
