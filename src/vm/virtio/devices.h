/* Constructors of the virtio devices, one per command-line option. */
#ifndef STRATA_VM_VIRTIO_DEVICES_H
#define STRATA_VM_VIRTIO_DEVICES_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"

struct vm;

int virtio_rng__create(struct vm *vm, const char *spec, struct st_err *err);
int virtio_blk__create(struct vm *vm, const char *spec, struct st_err *err);
struct virtio_dev;
/* disk-attach: a virtio-blk disk from a --disk spec, put in a free slot while
 * the guest runs (PCIU and the hotplug GPE tell it). Main thread. */
int virtio_blk__hotplug(struct vm *vm, const char *spec, struct virtio_dev **out,
			struct st_err *err);
int virtio_console__create(struct vm *vm, const char *spec, struct st_err *err);
int virtio_balloon__create(struct vm *vm, const char *spec, struct st_err *err);
int virtio_net__create(struct vm *vm, const char *spec, struct st_err *err);
int virtio_vsock__create(struct vm *vm, const char *spec, struct st_err *err);

/* The balloon's control: the guest's memory target, and the driver's last
 * statistics (asking it for fresh ones). */
int virtio_balloon__set(struct vm *vm, uint64_t target_mib, struct st_err *err);
json_t *virtio_balloon__stats(struct vm *vm, struct st_err *err);

/* PCI bus, then the devices the configuration asks for, then the I/O thread. */
int virtio__setup_devices(struct vm *vm, struct st_err *err);

/* Once the KVM VM exists (at start and after each in-process reboot): binds
 * the queues' ioeventfds at the notify addresses. */
int virtio__attach_kvm(struct vm *vm, struct st_err *err);

/* The VMM is exiting: devices write back what they hold (disk images) and
 * stay locked, so no thread touches them again before the process ends. */
void virtio__shutdown(struct vm *vm);

/* A machine reset: every virtio device back to its power-on state, PCI config
 * space (BARs, MSI-X) included. */
void virtio__reset_all(struct vm *vm);

#endif
