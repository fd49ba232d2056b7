/* The MMIO bus: devices claim guest-physical ranges; vCPU threads dispatch
 * KVM_EXIT_MMIO exits. Ranges are registered before the vCPUs start; devices
 * whose addresses move at run time (PCI BARs) claim a fixed window and decode
 * inside it themselves. */
#ifndef STRATA_VM_MMIO_H
#define STRATA_VM_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* offset is relative to the range's base; data holds size (1..8) bytes,
 * little-endian. */
typedef void (*mmio_handler_fn)(void *opaque, uint64_t offset, bool is_write, uint8_t *data,
				unsigned size);

#define MMIO_BUS_MAX 16

struct mmio_bus {
	struct mmio_range {
		uint64_t base, len;
		mmio_handler_fn fn;
		void *opaque;
	} ranges[MMIO_BUS_MAX];
	int nr;
};

int mmio__register(struct mmio_bus *bus, uint64_t base, uint64_t len, mmio_handler_fn fn,
		   void *opaque, struct st_err *err);

/* Returns false when no device claims the address (reads then see all ones). */
bool mmio__dispatch(const struct mmio_bus *bus, uint64_t addr, bool is_write, uint8_t *data,
		    unsigned size);

#endif
