/* The fw_cfg device (src/vm/hw/fw_cfg.c) through its ports, no KVM: the items
 * QEMU's spec names, the big-endian file directory, the data port and the DMA
 * interface on guest memory; --fw-cfg's parsing and refusals. */
#include <endian.h>
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/hw/fw_cfg.h"
#include "vm/options.h"
#include "vm/vm.h"

static struct vm vm;

static void select_key(uint16_t key)
{
	uint8_t b[2] = {(uint8_t)key, (uint8_t)(key >> 8)};
	io__dispatch(&vm.io, FW_CFG_PORT_SEL, true, b, 2);
}

static void read_data(void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		io__dispatch(&vm.io, FW_CFG_PORT_DATA, false, (uint8_t *)buf + i, 1);
}

static int setup(void **state)
{
	(void)state;
	struct st_err err = {0};
	vm.cfg.cpus = 3;
	vm.cfg.mem_bytes = 32ull << 20;
	assert_int_equal(mem__init(&vm.mem, vm.cfg.mem_bytes, false, &err), 0);
	assert_int_equal(fw_cfg__parse_user("name=opt/strata/one,string=first, with a comma",
					    &vm.cfg.fw_cfg[0], &err), 0);
	assert_int_equal(fw_cfg__parse_user("opt/strata/two,string=2", &vm.cfg.fw_cfg[1], &err), 0);
	vm.cfg.nr_fw_cfg = 2;
	assert_int_equal(fw_cfg__init(&vm, &err), 0);
	assert_int_equal(fw_cfg__set_cmdline(vm.fw_cfg, "console=ttyS0", &err), 0);
	return 0;
}

static void fixed_items(void **state)
{
	(void)state;
	char sig[4];
	select_key(0x0000);
	read_data(sig, 4);
	assert_memory_equal(sig, "QEMU", 4);
	uint32_t id;
	select_key(0x0001);
	read_data(&id, 4);
	assert_int_equal(le32toh(id), 3); /* traditional interface and DMA */
	uint16_t cpus;
	select_key(0x0005);
	read_data(&cpus, 2);
	assert_int_equal(le16toh(cpus), 3);
	uint64_t ram;
	select_key(0x0003);
	read_data(&ram, 8);
	assert_int_equal(le64toh(ram), 32ull << 20);
	char cmdline[16];
	uint32_t len;
	select_key(0x0014);
	read_data(&len, 4);
	assert_int_equal(le32toh(len), 14);
	select_key(0x0015);
	read_data(cmdline, 14);
	assert_string_equal(cmdline, "console=ttyS0");
	uint8_t dma[8];
	for (int i = 0; i < 8; i++)
		io__dispatch(&vm.io, FW_CFG_PORT_DMA + i, false, dma + i, 1);
	assert_memory_equal(dma, "QEMU CFG", 8);
	/* past an item's end, and an unknown key: zeros */
	uint8_t z[2] = {1, 1};
	select_key(0x0000);
	read_data(sig, 4);
	read_data(z, 2);
	assert_int_equal(z[0] | z[1], 0);
}

/* The directory: a big-endian count, then 64-byte entries sorted by name. */
static uint16_t find_file(const char *name, uint32_t *size)
{
	uint32_t count;
	select_key(0x0019);
	read_data(&count, 4);
	count = be32toh(count);
	assert_int_equal(count, 3); /* etc/e820, opt/strata/one, opt/strata/two */
	uint16_t found = 0;
	char prev[56] = "";
	for (uint32_t i = 0; i < count; i++) {
		struct { uint32_t size; uint16_t select, reserved; char name[56]; } e;
		read_data(&e, sizeof(e));
		assert_true(strcmp(prev, e.name) < 0);
		memcpy(prev, e.name, sizeof(prev));
		if (!strcmp(e.name, name)) {
			found = be16toh(e.select);
			*size = be32toh(e.size);
		}
	}
	return found;
}

struct dma_access {
	uint32_t control, length;
	uint64_t address;
};

static void files_by_port_and_dma(void **state)
{
	(void)state;
	uint32_t size = 0;
	uint16_t key = find_file("opt/strata/one", &size);
	assert_int_not_equal(key, 0);
	assert_int_equal(size, strlen("first, with a comma"));
	char got[64] = {0};
	select_key(key);
	read_data(got, size);
	assert_string_equal(got, "first, with a comma");

	/* DMA: FWCfgDmaAccess at 0x8000 selects the file and reads 5 bytes to 0x9000,
	 * then skips 2 and reads the rest plus 3 bytes past the end */
	uint8_t *acc = mem__ptr(&vm.mem, 0x8000, 16), *dst = mem__ptr(&vm.mem, 0x9000, 64);
	memset(dst, 0xaa, 64);
	struct dma_access a = {
		htobe32(((uint32_t)key << 16) | 0x08 | 0x02), htobe32(5), htobe64(0x9000)};
	memcpy(acc, &a, sizeof(a));
	uint32_t hi = 0, lo = htobe32(0x8000);
	io__dispatch(&vm.io, FW_CFG_PORT_DMA, true, (uint8_t *)&hi, 4);
	io__dispatch(&vm.io, FW_CFG_PORT_DMA + 4, true, (uint8_t *)&lo, 4);
	memcpy(&a, acc, sizeof(a));
	assert_int_equal(a.control, 0);
	assert_memory_equal(dst, "first", 5);
	a = (struct dma_access){htobe32(0x04), htobe32(2), 0};
	memcpy(acc, &a, sizeof(a));
	io__dispatch(&vm.io, FW_CFG_PORT_DMA + 4, true, (uint8_t *)&lo, 4);
	a = (struct dma_access){htobe32(0x02), htobe32(size - 7 + 3), htobe64(0x9000 + 7)};
	memcpy(acc, &a, sizeof(a));
	io__dispatch(&vm.io, FW_CFG_PORT_DMA + 4, true, (uint8_t *)&lo, 4);
	memcpy(&a, acc, sizeof(a));
	assert_int_equal(a.control, 0);
	assert_memory_equal(dst + 7, "with a comma\0\0\0", size - 7 + 3);
	assert_int_equal(dst[5], 0xaa); /* skipped: left alone */
	/* a buffer outside guest memory: the error bit */
	a = (struct dma_access){htobe32(0x02), htobe32(16), htobe64(1ull << 40)};
	memcpy(acc, &a, sizeof(a));
	io__dispatch(&vm.io, FW_CFG_PORT_DMA + 4, true, (uint8_t *)&lo, 4);
	memcpy(&a, acc, sizeof(a));
	assert_int_equal(be32toh(a.control), 0x01);

	key = find_file("etc/e820", &size);
	assert_true(key != 0 && size > 0 && size % 20 == 0);
}

static void user_items_are_checked(void **state)
{
	(void)state;
	struct fw_cfg_user u;
	struct st_err err = {0};
	static const struct { const char *spec, *msg; } bad[] = {
		{"name=etc/foo,string=x", "opt/"},
		{"name=opt/x", "exactly one of file= and string="},
		{"name=opt/x,file=/a,string=b", "exactly one"},
		{"string=x", "no name="},
		{"name=opt/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa,string=x", "longer than 55"},
		{"name=opt/x,color=red", "unknown part"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(err.msg, 0, sizeof(err.msg));
		assert_true(fw_cfg__parse_user(bad[i].spec, &u, &err) < 0);
		if (!strstr(err.msg, bad[i].msg))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].spec, err.msg, bad[i].msg);
	}
	assert_int_equal(fw_cfg__parse_user("name=opt/x,file=/etc/hostname", &u, &err), 0);
	assert_int_equal(u.file_len, strlen("/etc/hostname"));
	assert_memory_equal(u.file, "/etc/hostname", u.file_len);
	assert_string_equal(u.name, "opt/x");

	struct vm_config cfg;
	char *argv[] = {(char *)"strata-vm", "--kernel", "k", "--fw-cfg", "name=opt/a,string=1",
			"--fw-cfg", "opt/a,string=2", NULL};
	optind = 1;
	assert_true(options__parse(7, argv, &cfg, &err) < 0);
	assert_non_null(strstr(err.msg, "opt/a given twice"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed_items),
		cmocka_unit_test(files_by_port_and_dma),
		cmocka_unit_test(user_items_are_checked),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
