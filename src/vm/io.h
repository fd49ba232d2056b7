/* The port I/O bus: devices claim port ranges; vCPU threads dispatch exits. */
#ifndef STRATA_VM_IO_H
#define STRATA_VM_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* data holds size (1, 2 or 4) bytes, little-endian: written by the guest on
 * writes, to be filled by the device on reads. */
typedef void (*io_handler_fn)(void *opaque, uint16_t port, bool is_write, uint8_t *data,
			      unsigned size);

#define IO_BUS_MAX 16

struct io_bus {
	struct io_range {
		uint16_t base, len;
		io_handler_fn fn;
		void *opaque;
	} ranges[IO_BUS_MAX];
	int nr;
};

int io__register(struct io_bus *bus, uint16_t base, uint16_t len, io_handler_fn fn,
		 void *opaque, struct st_err *err);

/* Returns false when no device claims the port (reads then see all ones). */
bool io__dispatch(const struct io_bus *bus, uint16_t port, bool is_write, uint8_t *data,
		  unsigned size);

#endif
