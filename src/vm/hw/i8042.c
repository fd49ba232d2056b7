/* Just enough of the i8042 keyboard controller for the reset line: Linux and
 * firmware reset a PC by pulsing it (command 0xfe to port 0x64). */
#include "vm/hw/legacy.h"
#include "vm/vm.h"

#include <string.h>

#define I8042_DATA 0x60
#define I8042_CMD  0x64
#define I8042_CMD_RESET 0xfe

static void i8042__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	struct vm *vm = opaque;
	if (!is_write) {
		memset(data, 0, size); /* no data ever pending, input buffer always empty */
		return;
	}
	if (port == I8042_CMD && data[0] == I8042_CMD_RESET)
		vm__request_reset(vm, "guest reset through the i8042");
}

int i8042__init(struct vm *vm, struct st_err *err)
{
	if (io__register(&vm->io, I8042_DATA, 1, i8042__io, vm, err) < 0)
		return -1;
	return io__register(&vm->io, I8042_CMD, 1, i8042__io, vm, err);
}
