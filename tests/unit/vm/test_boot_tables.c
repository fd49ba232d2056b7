/* The firmware tables and memory map strata-vm writes, checked byte by byte
 * against the ACPI and MP specifications' rules (checksums, links, entries). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "vm/boot/boot.h"
#include "vm/boot/layout.h"
#include "vm/hw/acpi_pm.h"
#include "vm/vm.h"

static struct vm vm;

static int setup(void **state)
{
	(void)state;
	memset(&vm, 0, sizeof(vm));
	struct st_err err = {0};
	if (mem__init(&vm.mem, 64ull << 20, false, &err) < 0)
		return -1;
	vm.nr_vcpus = 4;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mem__exit(&vm.mem);
	return 0;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = mem__ptr(&vm.mem, gpa, 36);
	assert_non_null(t);
	assert_memory_equal(t, sig, 4);
	uint32_t len;
	memcpy(&len, t + 4, 4);
	assert_int_equal(sum(t, len), 0);
	return t;
}

static void acpi_tables_link_and_checksum(void **state)
{
	(void)state;
	struct st_err err = {0};
	uint64_t rsdp_gpa;
	assert_int_equal(acpi__write(&vm, &rsdp_gpa, &err), 0);
	assert_true(rsdp_gpa >= 0xe0000 && rsdp_gpa < 0x100000 && rsdp_gpa % 16 == 0);
	const uint8_t *rsdp = mem__ptr(&vm.mem, rsdp_gpa, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	uint64_t xsdt_gpa;
	memcpy(&xsdt_gpa, rsdp + 24, 8);
	const uint8_t *xsdt = table_at(xsdt_gpa, "XSDT");
	uint32_t xlen;
	memcpy(&xlen, xsdt + 4, 4);
	assert_int_equal((xlen - 36) / 8, 2);

	uint64_t fadt_gpa, madt_gpa;
	memcpy(&fadt_gpa, xsdt + 36, 8);
	memcpy(&madt_gpa, xsdt + 44, 8);
	const uint8_t *fadt = table_at(fadt_gpa, "FACP");
	uint32_t v32;
	uint16_t v16;
	memcpy(&v16, fadt + 46, 2);
	assert_int_equal(v16, ACPI_SCI_IRQ);
	memcpy(&v32, fadt + 56, 4);
	assert_int_equal(v32, ACPI_PM1_EVT);
	memcpy(&v32, fadt + 64, 4);
	assert_int_equal(v32, ACPI_PM1_CNT);
	memcpy(&v32, fadt + 76, 4);
	assert_int_equal(v32, ACPI_PM_TMR);
	uint64_t dsdt_gpa;
	memcpy(&dsdt_gpa, fadt + 140, 8);
	const uint8_t *dsdt = table_at(dsdt_gpa, "DSDT");
	uint32_t dlen;
	memcpy(&dlen, dsdt + 4, 4);
	assert_non_null(memmem(dsdt + 36, dlen - 36, "_S5_", 4));
	memcpy(&v32, fadt + 36, 4);
	const uint8_t *facs = mem__ptr(&vm.mem, v32, 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(v32 % 64, 0);

	const uint8_t *madt = table_at(madt_gpa, "APIC");
	uint32_t mlen, lapic;
	memcpy(&mlen, madt + 4, 4);
	memcpy(&lapic, madt + 36, 4);
	assert_int_equal(lapic, LAPIC_ADDR);
	unsigned cpus = 0, ioapics = 0, overrides = 0;
	for (uint32_t off = 44; off < mlen; off += madt[off + 1]) {
		assert_true(madt[off + 1] >= 2);
		switch (madt[off]) {
		case 0: assert_int_equal(madt[off + 3], cpus); cpus++; break;
		case 1: ioapics++; break;
		case 2: overrides++; break;
		}
	}
	assert_int_equal(cpus, 4);
	assert_int_equal(ioapics, 1);
	assert_int_equal(overrides, 1); /* the SCI: level, active high */
}

static void mp_table_checksums(void **state)
{
	(void)state;
	struct st_err err = {0};
	assert_int_equal(mptable__write(&vm, &err), 0);
	const uint8_t *mpf = mem__ptr(&vm.mem, LAYOUT_EBDA, 16);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(sum(mpf, 16), 0);
	uint32_t cfg;
	memcpy(&cfg, mpf + 4, 4);
	const uint8_t *pcmp = mem__ptr(&vm.mem, cfg, 44);
	assert_memory_equal(pcmp, "PCMP", 4);
	uint16_t len, count;
	memcpy(&len, pcmp + 4, 2);
	memcpy(&count, pcmp + 34, 2);
	assert_int_equal(sum(pcmp, len), 0);
	assert_int_equal(count, 4 + 2 + 16 + 2);
	assert_int_equal(pcmp[44], 0);           /* first entry: a processor */
	assert_int_equal(pcmp[44 + 3] & 2, 2);   /* ... the boot processor */
}

static void e820_split_above_4g(void **state)
{
	(void)state;
	struct e820_entry map[E820_MAX];
	unsigned n = e820__build(&vm, map);
	assert_int_equal(n, 4);
	assert_true(map[3].addr == 0x100000 && map[3].addr + map[3].size == 64ull << 20);
	/* A 4 GiB guest: RAM past the 3 GiB hole continues at 4 GiB. */
	struct vm big = {.mem = {.size = 4ull << 30, .low_size = MEM_MMIO_HOLE_START}};
	n = e820__build(&big, map);
	assert_int_equal(n, 5);
	assert_true(map[4].addr == MEM_4G && map[4].size == (4ull << 30) - MEM_MMIO_HOLE_START);
	uint64_t ram = 0;
	for (unsigned i = 0; i < n; i++)
		if (map[i].type == E820_RAM)
			ram += map[i].size;
	assert_true(ram <= 4ull << 30);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(acpi_tables_link_and_checksum),
		cmocka_unit_test(mp_table_checksums),
		cmocka_unit_test(e820_split_above_4g),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
