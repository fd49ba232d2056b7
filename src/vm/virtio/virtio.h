/* virtio 1.x devices over the modern virtio-pci transport. A device file
 * (rng.c, blk.c, ...) fills a virtio_dev_ops and calls virtio__register();
 * the transport owns feature negotiation, device status, the queues'
 * registers, notifications (ioeventfd, served on the I/O thread) and
 * interrupts (MSI-X). Queue handlers run on the I/O thread with dev->lock
 * held; register accesses from vCPUs take the same lock. */
#ifndef STRATA_VM_VIRTIO_VIRTIO_H
#define STRATA_VM_VIRTIO_VIRTIO_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "vm/iothread.h"
#include "vm/pci.h"
#include "vm/virtio/virtqueue.h"

struct vm;

#define VIRTIO_MAX_QUEUES 16

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32
#define VIRTIO_F_RING_PACKED        34

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_NO_VECTOR 0xffff

/* BAR 0 layout of every strata virtio-pci device. */
#define VIRTIO_BAR_SIZE       0x8000
#define VIRTIO_COMMON_OFF     0x0000
#define VIRTIO_ISR_OFF        0x1000
#define VIRTIO_DEVCFG_OFF     0x2000
#define VIRTIO_NOTIFY_OFF     0x3000
#define VIRTIO_NOTIFY_MULT    4
#define VIRTIO_MSIX_TABLE_OFF 0x4000
#define VIRTIO_MSIX_PBA_OFF   0x5000

struct virtio_dev;

struct virtio_dev_ops {
	uint16_t device_id;      /* virtio device type (1 net, 2 blk, 4 rng, ...) */
	uint32_t pci_class;
	bool hotplug;            /* may be added and removed at run time (its slot is removable) */
	/* A queue was notified (I/O thread, dev->lock held). */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* The driver set DRIVER_OK (vCPU thread, lock held); optional. */
	void (*driver_ok)(struct virtio_dev *d);
	/* The driver reset the device (lock held); optional. */
	void (*reset)(struct virtio_dev *d);
	/* A write into the device config space (lock held); optional. */
	void (*config_write)(struct virtio_dev *d, unsigned off, const uint8_t *data, unsigned size);
	/* The VMM exits or the guest ejected the device: write back and close
	 * backends (lock held); optional. */
	void (*shutdown)(struct virtio_dev *d);
	/* Adds device-specific figures to a query-devices entry; optional. */
	void (*query)(struct virtio_dev *d, json_t *obj);
};

struct virtio_dev {
	struct pci_dev pci;
	const struct virtio_dev_ops *ops;
	void *priv;
	struct vm *vm;
	char name[24];
	pthread_mutex_t lock;

	uint64_t features;          /* offered */
	uint64_t driver_features;   /* accepted by the driver */
	uint32_t dev_feature_sel, drv_feature_sel;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t config_vector;
	uint16_t queue_sel;
	unsigned nr_queues;
	uint16_t max_queue_size;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];

	uint8_t *config;            /* device config space, owned by the device */
	unsigned config_len;

	struct io_watch kick[VIRTIO_MAX_QUEUES];  /* eventfds, one per queue */
	uint64_t notify_gpa;        /* where the ioeventfds are bound, 0 if nowhere */
	bool ioeventfd;

	unsigned long requests;     /* chains served */
	unsigned long errors;       /* hostile chains and refused requests */
	bool error_logged;          /* one log line until the next reset */

	bool hotplugged;            /* added at run time (disk-attach) */
	bool unplugged;             /* ejected: serves nothing any more (lock held to set) */
	struct virtio_dev *retired_next;  /* vm->retired */
};

/* Sets up PCI (IDs, BAR 0, capabilities, MSI-X) and the notification path;
 * the device is not visible to the guest yet (virtio__setup_devices publishes
 * the command line's, virtio__plug a hot one). On failure nothing is left
 * registered. Main thread. */
int virtio__register(struct vm *vm, struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     unsigned nr_queues, uint16_t queue_size, uint64_t features, void *config,
		     unsigned config_len, struct st_err *err);

/* Puts a device registered at run time before the guest: ioeventfds bound,
 * the slot present, PCIU and the hotplug GPE raised (pci_hotplug.h). */
void virtio__plug(struct virtio_dev *d);

/* Makes every registered device visible to the guest (at start-up). */
void virtio__publish_all(struct vm *vm);

/* The live device of that name, or NULL. */
struct virtio_dev *virtio__find(struct vm *vm, const char *name);

bool virtio__has_feature(const struct virtio_dev *d, unsigned bit);

/* Interrupts the driver for queue q if it wants one (event index). Lock held. */
void virtio__signal_queue(struct virtio_dev *d, unsigned q);

/* A hostile or malformed request on queue q: logs one line (the first per
 * reset), stops the queue, sets NEEDS_RESET and raises a config interrupt. */
void virtio__queue_error(struct virtio_dev *d, unsigned q, const struct st_err *err);

/* Serves every available chain of queue q: fn returns the length written
 * into the chain (pushed to the used ring), VIRTIO_CHAIN_HELD to keep it
 * for later, or -1 with err to refuse it (the queue then stops, see
 * virtio__queue_error). One interrupt at the end if anything was pushed. */
#define VIRTIO_CHAIN_HELD (-2)
typedef int (*virtio_chain_fn)(struct virtio_dev *d, struct vq_elem *e, struct st_err *err);
void virtio__serve_queue(struct virtio_dev *d, unsigned q, struct vq_elem *e, virtio_chain_fn fn);

/* The device config changed (lock held). */
void virtio__config_changed(struct virtio_dev *d);

/* query-devices: one JSON object per device. */
json_t *virtio__query_all(struct vm *vm);

/* For unit tests and the benchmark: BAR 0 register access as the guest does it. */
void virtio__bar_access(struct virtio_dev *d, uint64_t off, bool is_write, uint8_t *data,
			unsigned size);

#endif
