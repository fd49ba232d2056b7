#include "vm/mmio.h"

#include <string.h>

int mmio__register(struct mmio_bus *bus, uint64_t base, uint64_t len, mmio_handler_fn fn,
		   void *opaque, struct st_err *err)
{
	if (!len || base + len < base)
		return err__fail(err, 0, "MMIO range 0x%llx+0x%llx is empty or wraps",
			       (unsigned long long)base, (unsigned long long)len);
	for (int i = 0; i < bus->nr; i++) {
		const struct mmio_range *r = &bus->ranges[i];
		if (base < r->base + r->len && r->base < base + len)
			return err__fail(err, 0, "MMIO 0x%llx+0x%llx overlaps 0x%llx+0x%llx",
				       (unsigned long long)base, (unsigned long long)len,
				       (unsigned long long)r->base, (unsigned long long)r->len);
	}
	if (bus->nr == MMIO_BUS_MAX)
		return err__fail(err, 0, "MMIO bus full");
	bus->ranges[bus->nr++] = (struct mmio_range){base, len, fn, opaque};
	return 0;
}

bool mmio__dispatch(const struct mmio_bus *bus, uint64_t addr, bool is_write, uint8_t *data,
		    unsigned size)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct mmio_range *r = &bus->ranges[i];
		if (addr >= r->base && addr - r->base < r->len) {
			r->fn(r->opaque, addr - r->base, is_write, data, size);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, size);
	return false;
}
