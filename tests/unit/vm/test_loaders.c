/* Kernel loaders against good and hostile input: payload decompression in
 * every format Linux builds, ELF images that lie about their segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <elf.h>
#include <lz4.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "vm/boot/boot.h"
#include "vm/nested.h"
#include "vm/vm.h"

#define PLAIN_LEN (3u << 20)

static uint8_t *plain;

static int setup(void **state)
{
	(void)state;
	plain = malloc(PLAIN_LEN);
	uint32_t x = 12345;
	for (size_t i = 0; i < PLAIN_LEN; i++) { /* half compressible, half noise */
		x = x * 1103515245u + 12345u;
		plain[i] = i % 2 ? (uint8_t)(x >> 24) : (uint8_t)i;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(plain);
	return 0;
}

static void check_roundtrip(const uint8_t *packed, size_t len)
{
	uint8_t *out = NULL;
	size_t out_len = 0;
	struct st_err err = {0};
	assert_int_equal(unpack__payload(packed, len, &out, &out_len, &err), 0);
	assert_int_equal(out_len, PLAIN_LEN);
	assert_memory_equal(out, plain, PLAIN_LEN);
	free(out);
	/* The same stream cut short must fail, never return partial data as good. */
	assert_true(unpack__payload(packed, len / 2, &out, &out_len, &err) < 0);
	assert_true(err.msg[0] != 0);
}

static void unpack_gzip(void **state)
{
	(void)state;
	z_stream z = {0};
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&z, PLAIN_LEN);
	uint8_t *buf = malloc(cap);
	z.next_in = plain, z.avail_in = PLAIN_LEN, z.next_out = buf, z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	check_roundtrip(buf, z.total_out);
	deflateEnd(&z);
	free(buf);
}

static void unpack_xz(void **state)
{
	(void)state;
	size_t cap = lzma_stream_buffer_bound(PLAIN_LEN), len = 0;
	uint8_t *buf = malloc(cap);
	assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC32, NULL, plain, PLAIN_LEN, buf,
						 &len, cap), LZMA_OK);
	check_roundtrip(buf, len);
	free(buf);
}

static void unpack_zstd(void **state)
{
	(void)state;
	size_t cap = ZSTD_compressBound(PLAIN_LEN);
	uint8_t *buf = malloc(cap + 4);
	size_t len = ZSTD_compress(buf, cap, plain, PLAIN_LEN, 3);
	assert_false(ZSTD_isError(len));
	uint32_t size = PLAIN_LEN; /* the kernel build appends the size */
	memcpy(buf + len, &size, 4);
	check_roundtrip(buf, len + 4);
	free(buf);
}

/* The legacy LZ4 frame the kernel uses: magic, then <size><block> pairs, 8 MiB
 * blocks at most, and the uncompressed size appended by the build. */
static void unpack_lz4_legacy(void **state)
{
	(void)state;
	const size_t block = 1u << 20;
	size_t cap = 8 + (PLAIN_LEN / block + 1) * (4 + (size_t)LZ4_compressBound((int)block));
	uint8_t *buf = malloc(cap), *p = buf;
	uint32_t magic = 0x184c2102;
	memcpy(p, &magic, 4), p += 4;
	for (size_t off = 0; off < PLAIN_LEN; off += block) {
		int n = LZ4_compress_default((const char *)plain + off, (char *)p + 4, (int)block,
					     LZ4_compressBound((int)block));
		assert_true(n > 0);
		uint32_t n32 = (uint32_t)n;
		memcpy(p, &n32, 4);
		p += 4 + n;
	}
	uint32_t size = PLAIN_LEN;
	memcpy(p, &size, 4), p += 4;
	check_roundtrip(buf, (size_t)(p - buf));
	free(buf);
}

static void unpack_rejects_unknown(void **state)
{
	(void)state;
	uint8_t junk[64] = {'B', 'Z', 'h'};
	uint8_t *out = NULL;
	size_t len;
	struct st_err err = {0};
	assert_true(unpack__payload(junk, sizeof(junk), &out, &len, &err) < 0);
	assert_non_null(strstr(err.msg, "unsupported payload compression"));
	assert_null(out);
}

/* ELF: a minimal image with one PT_LOAD, then variants that lie. */
struct tiny_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	uint8_t code[16];
};

static struct tiny_elf make_elf(void)
{
	struct tiny_elf e = {0};
	memcpy(e.eh.e_ident, ELFMAG, SELFMAG);
	e.eh.e_ident[EI_CLASS] = ELFCLASS64;
	e.eh.e_machine = EM_X86_64;
	e.eh.e_entry = 0x100000;
	e.eh.e_phoff = offsetof(struct tiny_elf, ph);
	e.eh.e_phentsize = sizeof(Elf64_Phdr);
	e.eh.e_phnum = 1;
	e.ph.p_type = PT_LOAD;
	e.ph.p_offset = offsetof(struct tiny_elf, code);
	e.ph.p_paddr = 0x100000;
	e.ph.p_filesz = sizeof(e.code);
	e.ph.p_memsz = 4096;
	memset(e.code, 0xf4, sizeof(e.code));
	return e;
}

static void elf_good_and_hostile(void **state)
{
	(void)state;
	struct vm vm = {0};
	struct st_err err = {0};
	assert_int_equal(mem__init(&vm.mem, 16ull << 20, false, &err), 0);
	struct elf_image ei;
	struct tiny_elf e = make_elf();
	assert_int_equal(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err), 0);
	assert_true(ei.entry == 0x100000 && ei.end == 0x101000 && ei.pvh_entry == 0);
	assert_int_equal(*(uint8_t *)mem__ptr(&vm.mem, 0x100000, 1), 0xf4);

	e = make_elf();
	e.ph.p_filesz = 1u << 20; /* segment runs past the end of the file */
	e.ph.p_memsz = 1u << 20;
	assert_true(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err) < 0);
	assert_non_null(strstr(err.msg, "outside the file"));

	e = make_elf();
	e.ph.p_paddr = 0x7000; /* would overwrite boot structures */
	assert_true(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err) < 0);
	assert_non_null(strstr(err.msg, "overlaps boot_params"));

	e = make_elf();
	e.ph.p_memsz = 1ull << 40; /* more than guest memory */
	assert_true(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err) < 0);
	assert_non_null(strstr(err.msg, "does not fit"));

	e = make_elf();
	e.eh.e_phnum = 5000; /* program headers past the end */
	assert_true(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err) < 0);

	e = make_elf();
	e.eh.e_machine = EM_AARCH64;
	assert_true(elf__load(&vm, (uint8_t *)&e, sizeof(e), BOOT_LINUX64, &ei, &err) < 0);
	mem__exit(&vm.mem);
}

/* A kernel may load below 1 MiB wherever strata-vm puts nothing for that
 * boot: a multiboot kernel at 0x8000 (refused as "below 1 MiB" before). Real
 * overlaps are refused, naming the structure. */
static void elf_low_loads(void **state)
{
	(void)state;
	static const struct {
		uint64_t addr, size;
		enum boot_mode mode;
		bool nested;
		const char *refusal; /* NULL: loads */
	} cases[] = {
		{0x8000, 0x1000, BOOT_MULTIBOOT, false, NULL},
		{0x8000, 0x1000, BOOT_PVH, false, NULL},
		{0x8000, 0x1000, BOOT_LINUX64, false, NULL},
		{0x1000, 0x4000, BOOT_PVH, false, NULL},
		{0x7000, 0x2000, BOOT_PVH, false, NULL},
		{0x9000, 0x1000, BOOT_MULTIBOOT, false, NULL},
		{0x30000, 0x60000, BOOT_MULTIBOOT, false, NULL},
		{0x9c000, 0x1000, BOOT_PVH, false, NULL},
		{0x6000, 0x2000, BOOT_MULTIBOOT, false, "overlaps the multiboot info"},
		{0x5f00, 0x200, BOOT_PVH, false, "overlaps the PVH start info"},
		{0x7800, 0x1000, BOOT_LINUX64, false, "overlaps boot_params"},
		{0xa000, 0x1000, BOOT_LINUX64, false, "overlaps the boot page tables"},
		{0x400, 0x200, BOOT_PVH, false, "overlaps the boot GDT"},
		{0x1f000, 0x1001, BOOT_PVH, false, "overlaps the kernel command line"},
		{0x9f000, 0x1000, BOOT_PVH, false, "overlaps the MP floating pointer"},
		{0xf0000, 0x100, BOOT_MULTIBOOT, false, "overlaps the ACPI tables"},
		{0x9c000, 0x1000, BOOT_PVH, true, "overlaps the SYSCALL trampoline's page tables"},
		{0xa0000, 0x1000, BOOT_PVH, false, "not RAM in the e820 map"},
	};
	struct vm vm = {0};
	struct st_err err = {0};
	assert_int_equal(mem__init(&vm.mem, 16ull << 20, false, &err), 0);
	vm.cmdline = (char *)"console=ttyS0";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tiny_elf e = make_elf();
		struct elf_image ei;
		e.ph.p_paddr = cases[i].addr;
		e.ph.p_memsz = cases[i].size;
		vm.nested = cases[i].nested;
		memset(err.msg, 0, sizeof(err.msg));
		int r = elf__load(&vm, (uint8_t *)&e, sizeof(e), cases[i].mode, &ei, &err);
		if (!cases[i].refusal) {
			assert_int_equal(r, 0);
			assert_int_equal(*(uint8_t *)mem__ptr(&vm.mem, cases[i].addr, 1), 0xf4);
		} else {
			assert_true(r < 0);
			if (!strstr(err.msg, cases[i].refusal))
				fail_msg("case %zu: '%s' does not say '%s'", i, err.msg, cases[i].refusal);
		}
	}
	mem__exit(&vm.mem);
}

/* An ELF with notes: the PVH entry (type 18, "Xen") and/or Linux's own. */
struct noted_elf {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Nhdr pvh_hdr;
	char pvh_name[4];
	uint32_t pvh_entry;
	Elf64_Nhdr linux_hdr;
	char linux_name[8];
	uint32_t salt;
};

static struct noted_elf make_noted_elf(bool pvh, bool linux_note)
{
	struct noted_elf e = {0};
	struct tiny_elf t = make_elf();
	e.eh = t.eh;
	e.eh.e_phoff = offsetof(struct noted_elf, ph);
	e.eh.e_phnum = 2;
	e.ph[0] = t.ph;
	e.ph[0].p_offset = 0;
	e.ph[1].p_type = PT_NOTE;
	e.ph[1].p_offset = pvh ? offsetof(struct noted_elf, pvh_hdr) : offsetof(struct noted_elf, linux_hdr);
	e.ph[1].p_filesz = sizeof(e) - e.ph[1].p_offset - (linux_note ? 0 : sizeof(e.linux_hdr) + 12);
	e.pvh_hdr = (Elf64_Nhdr){.n_namesz = 4, .n_descsz = 4, .n_type = 18};
	memcpy(e.pvh_name, "Xen", 4);
	e.pvh_entry = 0x100000;
	e.linux_hdr = (Elf64_Nhdr){.n_namesz = 6, .n_descsz = 4, .n_type = 0x100};
	memcpy(e.linux_name, "Linux", 6);
	return e;
}

/* The nested profile's Linux options go to Linux kernels only: a multiboot or
 * PVH test kernel reading its arguments by position saw "noxsave" first. */
static void nested_options_only_for_linux(void **state)
{
	(void)state;
	struct tiny_elf plain_elf = make_elf();
	assert_true(elf__is_linux((uint8_t *)&plain_elf, sizeof(plain_elf))); /* 64-bit Linux entry */
	struct noted_elf e = make_noted_elf(true, false);
	assert_false(elf__is_linux((uint8_t *)&e, sizeof(e)));                /* a PVH test guest */
	e = make_noted_elf(true, true);
	assert_true(elf__is_linux((uint8_t *)&e, sizeof(e)));                 /* vmlinux with PVH */
	e = make_noted_elf(false, true);
	assert_true(elf__is_linux((uint8_t *)&e, sizeof(e)));

	struct vm vm = {0};
	struct st_err err = {0};
	vm.nested = true;
	vm.cfg.cmdline = "alpha=1 beta";
	assert_int_equal(boot__build_cmdline(&vm, false, &err), 0);
	assert_string_equal(vm.cmdline, "alpha=1 beta");
	assert_int_equal(boot__build_cmdline(&vm, true, &err), 0);
	const char *ours = nested__kernel_options();
	assert_int_equal(strncmp(vm.cmdline, ours, strlen(ours)), 0);
	assert_string_equal(vm.cmdline + strlen(ours), " alpha=1 beta");
	vm.cfg.cmdline = "";
	assert_int_equal(boot__build_cmdline(&vm, true, &err), 0);
	assert_string_equal(vm.cmdline, ours);
	vm.nested = false;
	vm.cfg.cmdline = "gamma";
	assert_int_equal(boot__build_cmdline(&vm, true, &err), 0);
	assert_string_equal(vm.cmdline, "gamma");
	free(vm.cmdline);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unpack_gzip),
		cmocka_unit_test(unpack_xz),
		cmocka_unit_test(unpack_zstd),
		cmocka_unit_test(unpack_lz4_legacy),
		cmocka_unit_test(unpack_rejects_unknown),
		cmocka_unit_test(elf_good_and_hostile),
		cmocka_unit_test(nested_options_only_for_linux),
		cmocka_unit_test(elf_low_loads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
