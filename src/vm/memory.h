/* Guest RAM: one host mapping, split around the 32-bit MMIO hole. */
#ifndef STRATA_VM_MEMORY_H
#define STRATA_VM_MEMORY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define MEM_MMIO_HOLE_START 0xc0000000ull  /* RAM beyond this moves above 4 GiB */
#define MEM_4G              0x100000000ull

struct guest_mem {
	uint8_t *host;      /* size bytes, MAP_NORESERVE: pages appear when touched */
	uint64_t size;      /* total RAM */
	uint64_t low_size;  /* RAM mapped at [0, low_size) */
	bool prealloc;      /* every page backed, at init and after mem__clear */
};

/* prealloc: back every page now (MADV_POPULATE_WRITE), or fail. */
int mem__init(struct guest_mem *m, uint64_t size, bool prealloc, struct st_err *err);
void mem__exit(struct guest_mem *m);
/* Gives all of RAM back as zero pages (a reboot starts from clean memory). */
void mem__clear(struct guest_mem *m);

/* Host pointer for [gpa, gpa+len) when the whole range is RAM, else NULL. */
void *mem__ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Bounds-checked copy into guest RAM. */
int mem__write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len,
	       struct st_err *err);

#endif
