/* The Intel MultiProcessor Specification 1.4 table: CPUs, the ISA bus, the
 * IOAPIC and its interrupt wiring, for kernels booted with acpi=off. */
#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/vm.h"

#include <string.h>

#define MP_CONFIG_ADDR 0xf0000ull /* in the reserved BIOS area: room for 64 CPUs */

struct mpf {
	char sig[4];
	uint32_t config;
	uint8_t length, rev, checksum, feature[5];
} __attribute__((packed));

struct mpc_header {
	char sig[4];
	uint16_t length;
	uint8_t rev, checksum;
	char oem[8], product[12];
	uint32_t oem_ptr;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_len;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apic_id, apic_ver, flags;
	uint32_t signature, features;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_small { /* bus, IOAPIC, I/O and local interrupt entries are 8 bytes */
	uint8_t b[8];
} __attribute__((packed));

static uint8_t checksum(const void *p, size_t n)
{
	uint8_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += ((const uint8_t *)p)[i];
	return (uint8_t)-sum;
}

int mptable__write(struct vm *vm, struct st_err *err)
{
	unsigned ncpu = vm->nr_vcpus;
	size_t len = sizeof(struct mpc_header) + ncpu * sizeof(struct mpc_cpu) +
		     (2 + 16 + 2) * sizeof(struct mpc_small);
	uint8_t *base = mem__ptr(&vm->mem, MP_CONFIG_ADDR, len);
	if (!base)
		return err__fail(err, 0, "no room for the MP table");
	memset(base, 0, len);
	struct mpc_header *h = (struct mpc_header *)base;
	uint8_t *p = base + sizeof(*h);
	uint16_t count = 0;
	const uint8_t ioapic_id = (uint8_t)ncpu;

	for (unsigned i = 0; i < ncpu; i++, count++) {
		struct mpc_cpu c = {.type = 0, .apic_id = (uint8_t)i, .apic_ver = 0x14,
				    .flags = 1 | (i == 0 ? 2 : 0), .signature = 0x600,
				    .features = 0x201};
		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	struct mpc_small bus = {{1, 0, 'I', 'S', 'A', ' ', ' ', ' '}};
	struct mpc_small ioapic = {{2, ioapic_id, 0x11, 1, 0, 0, 0xc0, 0xfe}};
	memcpy(p, &bus, 8), p += 8, count++;
	memcpy(p, &ioapic, 8), p += 8, count++;
	for (uint8_t irq = 0; irq < 16; irq++, count++) {
		struct mpc_small e = {{3, 0, 0, 0, 0, irq, ioapic_id, irq}}; /* ISA IRQ n: pin n */
		memcpy(p, &e, 8), p += 8;
	}
	struct mpc_small extint = {{4, 3, 0, 0, 0, 0, 0xff, 0}};
	struct mpc_small nmi = {{4, 1, 0, 0, 0, 0, 0xff, 1}};
	memcpy(p, &extint, 8), p += 8, count++;
	memcpy(p, &nmi, 8), p += 8, count++;

	memcpy(h->sig, "PCMP", 4);
	h->length = (uint16_t)len;
	h->rev = 4;
	memcpy(h->oem, "STRATA  ", 8);
	memcpy(h->product, "STRATA-VM   ", 12);
	h->count = count;
	h->lapic = LAPIC_ADDR;
	h->checksum = checksum(base, len);

	struct mpf f = {.sig = {'_', 'M', 'P', '_'}, .config = (uint32_t)MP_CONFIG_ADDR,
			.length = 1, .rev = 4};
	f.checksum = checksum(&f, sizeof(f));
	return mem__write(&vm->mem, LAYOUT_EBDA, &f, sizeof(f), err);
}
