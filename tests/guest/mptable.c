/* MP table (Intel MP spec 1.4): floating pointer in the EBDA, the last KiB of
 * base memory or the BIOS ROM; config table with checksums; processors
 * matching the MADT, one boot processor (this one), an IOAPIC, ISA bus and
 * interrupt entries. Linux uses it when ACPI is off. */
#include "rt.h"

struct mpf {
	char sig[4];
	uint32_t physptr;
	uint8_t length, spec_rev, checksum, features[5];
} __attribute__((packed));

struct mpc {
	char sig[4];
	uint16_t length;
	uint8_t spec_rev, checksum;
	char oem[8], product[12];
	uint32_t oem_ptr;
	uint16_t oem_size, count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum, reserved;
} __attribute__((packed));

static const struct mpf *scan(uint64_t from, uint64_t len)
{
	for (uint64_t a = from; a + 16 <= from + len; a += 16) {
		const struct mpf *f = (const void *)a;
		if (!memcmp(f->sig, "_MP_", 4) && f->length == 1 && !acpi_checksum(f, 16))
			return f;
	}
	return 0;
}

int guest_main(void)
{
	uint64_t ebda = (uint64_t)*(volatile uint16_t *)0x40e << 4;
	uint64_t base_kib = *(volatile uint16_t *)0x413;
	const struct mpf *f = ebda ? scan(ebda, 1024) : 0;
	if (!f)
		f = scan(base_kib ? (base_kib - 1) * 1024 : 0x9fc00, 1024);
	if (!f)
		f = scan(0x9fc00, 1024);
	if (!f)
		f = scan(0xf0000, 0x10000);
	if (!f)
		rt_fail("mptable: no MP floating pointer with a good checksum");
	rt_printf("mptable: floating pointer at %p, spec 1.%u, config at %x\n", (const void *)f, f->spec_rev,
		  f->physptr);
	if (!f->physptr)
		rt_fail("mptable: default configurations (no config table) are not expected");
	const struct mpc *c = (const void *)(uint64_t)f->physptr;
	if (memcmp(c->sig, "PCMP", 4) || acpi_checksum(c, c->length))
		rt_fail("mptable: config table signature or checksum bad");
	const uint8_t *e = (const uint8_t *)(c + 1), *end = (const uint8_t *)c + c->length;
	unsigned cpus = 0, bps = 0, ioapics = 0, buses = 0, ints = 0, lints = 0;
	uint32_t bp_id = 0xffffffff;
	for (unsigned i = 0; i < c->count; i++) {
		if (e >= end)
			rt_fail("mptable: entry %u runs past the table", i);
		switch (e[0]) {
		case 0:
			if (e[3] & 1)
				cpus++;
			if (e[3] & 2)
				bps++, bp_id = e[1];
			e += 20;
			break;
		case 1:
			rt_printf("mptable: bus %u '%c%c%c%c%c%c'\n", e[1], e[2], e[3], e[4], e[5], e[6], e[7]);
			buses++;
			e += 8;
			break;
		case 2:
			if (e[3] & 1) {
				uint32_t addr;
				memcpy(&addr, e + 4, 4);
				rt_printf("mptable: ioapic %u at %x\n", e[1], addr);
				ioapics++;
			}
			e += 8;
			break;
		case 3: ints++, e += 8; break;
		case 4: lints++, e += 8; break;
		default: rt_fail("mptable: unknown entry type %u", e[0]);
		}
	}
	rt_printf("mptable: %u cpus (boot cpu apic id %u), %u ioapic, %u bus, %u io interrupts, %u local\n", cpus,
		  bp_id, ioapics, buses, ints, lints);
	if (acpi_init() < 0)
		rt_fail("mptable: the cross-check needs the MADT");
	if (cpus != rt_acpi.ncpus)
		rt_fail("mptable: %u cpus, but the MADT lists %u", cpus, rt_acpi.ncpus);
	if (bps != 1 || bp_id != lapic_id())
		rt_fail("mptable: %u boot processors, apic id %u; this cpu is %u", bps, bp_id, lapic_id());
	if (!ioapics || !buses || !ints)
		rt_fail("mptable: needs an IOAPIC, a bus and interrupt entries");
	rt_puts("mptable: PASS\n");
	return 0;
}
