#include "vm/pci.h"
#include "vm/pci_hotplug.h"
#include "vm/virtio/devices.h"
#include "vm/virtio/virtio.h"
#include "vm/vm.h"

#include <errno.h>
#include <stdlib.h>

int virtio__setup_devices(struct vm *vm, struct st_err *err)
{
	vm->pci = calloc(1, sizeof(*vm->pci));
	if (!vm->pci)
		return err__fail(err, ENOMEM, "pci");
	if (pci__init(vm->pci, vm, err) < 0)
		return err__prefix(err, "pci");
	if (pci_hotplug__init(vm, err) < 0)
		return err__prefix(err, "pci hotplug");
	for (unsigned i = 0; i < vm->cfg.nr_disks; i++)
		if (virtio_blk__create(vm, vm->cfg.disks[i], err) < 0)
			return err__prefix(err, "--disk");
	for (unsigned i = 0; i < vm->cfg.nr_nets; i++)
		if (virtio_net__create(vm, vm->cfg.nets[i], err) < 0)
			return err__prefix(err, "--net %s", vm->cfg.nets[i]);
	if (vm->cfg.rng && virtio_rng__create(vm, NULL, err) < 0)
		return err__prefix(err, "--rng");
	if (vm->cfg.vconsole && virtio_console__create(vm, vm->cfg.vconsole, err) < 0)
		return err__prefix(err, "--vconsole");
	if (vm->cfg.vsock && virtio_vsock__create(vm, vm->cfg.vsock, err) < 0)
		return err__prefix(err, "--vsock");
	if (vm->cfg.balloon && virtio_balloon__create(vm, NULL, err) < 0)
		return err__prefix(err, "--balloon");
	virtio__publish_all(vm);
	return iothread__start(err);
}
