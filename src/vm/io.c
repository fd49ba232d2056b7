#include "vm/io.h"

#include <string.h>

int io__register(struct io_bus *bus, uint16_t base, uint16_t len, io_handler_fn fn,
		 void *opaque, struct st_err *err)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return err__fail(err, 0, "I/O ports 0x%x+%u overlap 0x%x+%u", base, len,
				       r->base, r->len);
	}
	if (bus->nr == IO_BUS_MAX)
		return err__fail(err, 0, "I/O bus full");
	bus->ranges[bus->nr++] = (struct io_range){base, len, fn, opaque};
	return 0;
}

bool io__dispatch(const struct io_bus *bus, uint16_t port, bool is_write, uint8_t *data,
		  unsigned size)
{
	/* Bytes no device answers for read as all ones, also the tail of an access
	 * that runs past the end of a device's range (handlers see only their part). */
	if (!is_write)
		memset(data, 0xff, size);
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];
		if (port >= r->base && port - r->base < r->len) {
			unsigned room = (unsigned)(r->base + r->len - port);
			r->fn(r->opaque, port, is_write, data, size < room ? size : room);
			return true;
		}
	}
	return false;
}
