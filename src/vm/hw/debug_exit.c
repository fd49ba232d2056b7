/* A port test guests write to end the VM with a status (like QEMU's
 * isa-debug-exit, but the status is the value itself). */
#include "vm/hw/legacy.h"
#include "vm/vm.h"

static void debug_exit__io(void *opaque, uint16_t port, bool is_write, uint8_t *data,
			   unsigned size)
{
	(void)port, (void)size;
	if (is_write)
		vm__request_stop(opaque, data[0], "guest exited with status %u through the debug port",
				 data[0]);
	else
		data[0] = 0;
}

static void port80__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	(void)opaque, (void)port;
	if (!is_write)
		for (unsigned i = 0; i < size; i++)
			data[i] = 0xff;
}

int debug_exit__init(struct vm *vm, struct st_err *err)
{
	return io__register(&vm->io, DEBUG_EXIT_PORT, 4, debug_exit__io, vm, err);
}

int port80__init(struct vm *vm, struct st_err *err)
{
	return io__register(&vm->io, 0x80, 1, port80__io, vm, err);
}
