/* strata-img's pure logic: -o creation options, cache modes, zero
 * detection, the status through a backing chain, and convert's source
 * mappings when a source shrinks under them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "block/block.h"
#include "img/img.h"
#include "img/srcmap.h"
#include "tmpdir.h"

static void create_opts(void **state)
{
	(void)state;
	struct blk_create_opts o = {0};
	struct st_err err = {0};
	char list[] = "cluster_size=4k,compat=0.10,lazy_refcounts=on,refcount_bits=8,preallocation=metadata,"
		      "compression_type=zstd,backing_file=b.qcow2,backing_fmt=qcow2,size=1G";
	assert_int_equal(img__parse_create_opts(list, &o, &err), 0);
	assert_int_equal(o.cluster_size, 4096);
	assert_int_equal(o.compat, 2);
	assert_true(o.lazy_refcounts);
	assert_int_equal(o.refcount_bits, 8);
	assert_string_equal(o.preallocation, "metadata");
	assert_string_equal(o.compression, "zstd");
	assert_string_equal(o.backing, "b.qcow2");
	assert_string_equal(o.backing_fmt, "qcow2");
	assert_true(o.size == 1ull << 30);
	char v3[] = "compat=v3,lazy_refcounts=false";
	assert_int_equal(img__parse_create_opts(v3, &o, &err), 0);
	assert_int_equal(o.compat, 3);
	assert_false(o.lazy_refcounts);
	char empty[] = "";
	assert_int_equal(img__parse_create_opts(empty, &o, &err), 0);
}

static void create_opts_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *list, *says;
	} bad[] = {
		{"cluster_size", "needs a value"},
		{"compat=2.0", "compat must be 0.10 or 1.1"},
		{"lazy_refcounts=maybe", "must be on or off"},
		{"refcount_bits=65", "out of range"},
		{"refcount_bits=x", "not a number"},
		{"size=12Q", "suffix"},
		{"bogus=1", "unknown option 'bogus'"},
		{"size=1M,nope=2", "unknown option 'nope'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct blk_create_opts o = {0};
		struct st_err err = {0};
		char list[64];
		snprintf(list, sizeof(list), "%s", bad[i].list);
		assert_int_equal(img__parse_create_opts(list, &o, &err), -1);
		if (!strstr(err.msg, bad[i].says))
			fail_msg("%s: '%s' does not say '%s'", bad[i].list, err.msg, bad[i].says);
		assert_null(strchr(err.msg, '\n'));
	}
}

static void cache_modes(void **state)
{
	(void)state;
	struct img_cache c;
	struct st_err err = {0};
	assert_int_equal(img__parse_cache("unsafe", &c, &err), 0);
	assert_true(c.no_sync && !c.direct);
	assert_int_equal(img__parse_cache("none", &c, &err), 0);
	assert_true(!c.no_sync && c.direct);
	assert_int_equal(img__parse_cache("directsync", &c, &err), 0);
	assert_true(c.direct);
	assert_int_equal(img__parse_cache("writeback", &c, &err), 0);
	assert_true(!c.no_sync && !c.direct);
	assert_int_equal(img__parse_cache("writethrough", &c, &err), 0);
	assert_int_equal(img__parse_cache("fast", &c, &err), -1);
	assert_string_equal(err.msg, "unknown cache mode 'fast'");
	assert_int_equal(img__parse_cache("", &c, &err), -1);
}

static void zero_detection(void **state)
{
	(void)state;
	static uint8_t buf[4096 + 7];
	memset(buf, 0, sizeof(buf));
	assert_true(img__is_zero(buf, sizeof(buf)));
	assert_true(img__is_zero(buf, 0));
	/* one byte anywhere: in a 256-byte block, in the tail, at the ends */
	static const size_t at[] = {0, 1, 255, 256, 1000, 4095, 4096, 4102};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		buf[at[i]] = 0x80;
		assert_false(img__is_zero(buf, sizeof(buf)));
		/* a length that stops before it does not see it */
		assert_true(at[i] == 0 || img__is_zero(buf, at[i]));
		buf[at[i]] = 0;
	}
}

static void chain_status(void **state)
{
	(void)state;
	char base[128], top[128];
	snprintf(base, sizeof(base), "%s/base.qcow2", tmpdir);
	snprintf(top, sizeof(top), "%s/top.qcow2", tmpdir);
	struct st_err err = {0};
	struct blk_create_opts bo = {.format = "qcow2", .size = 1 << 20};
	assert_int_equal(block__create(base, &bo, &err), 0);
	struct blk_create_opts to = {.format = "qcow2", .size = 2 << 20, .backing = base, .backing_fmt = "qcow2"};
	assert_int_equal(block__create(top, &to, &err), 0);
	struct blk *b;
	/* data at 0 in the base, at 128K in the top */
	assert_int_equal(img__open(base, NULL, true, false, &b, &err), 0);
	static uint8_t data[65536];
	memset(data, 0xab, sizeof(data));
	assert_int_equal(block__pwrite(b, data, sizeof(data), 0, &err), 0);
	assert_int_equal(block__close(b, &err), 0);
	assert_int_equal(img__open(top, NULL, true, false, &b, &err), 0);
	assert_int_equal(block__pwrite(b, data, sizeof(data), 131072, &err), 0);
	struct block__status st;
	unsigned depth = 99;
	struct blk *layer = NULL;
	assert_int_equal(img__chain_status(b, 0, 65536, &st, &depth, &layer, &err), 0);
	assert_int_equal(st.kind, BLK_DATA);
	assert_int_equal(depth, 1);
	assert_ptr_equal(layer, b->backing);
	assert_int_equal(img__chain_status(b, 131072, 65536, &st, &depth, &layer, &err), 0);
	assert_int_equal(st.kind, BLK_DATA);
	assert_int_equal(depth, 0);
	assert_ptr_equal(layer, b);
	/* allocated nowhere: zero, decided by the last layer */
	assert_int_equal(img__chain_status(b, 65536, 65536, &st, &depth, NULL, &err), 0);
	assert_int_equal(st.kind, BLK_ZERO);
	assert_int_equal(depth, 1);
	/* past the shorter base: zeros for the whole asked length */
	assert_int_equal(img__chain_status(b, 1 << 20, 1 << 20, &st, &depth, NULL, &err), 0);
	assert_int_equal(st.kind, BLK_ZERO);
	assert_true(st.len == 1 << 20);
	assert_int_equal(block__close(b, &err), 0);
}

static void srcmap_sees_a_shrunk_source(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/src.raw", tmpdir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	static uint8_t data[65536];
	memset(data, 0x5a, sizeof(data));
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	struct st_err err = {0};
	struct blk *b;
	assert_int_equal(img__open(path, "raw", false, false, &b, &err), 0);
	struct src_map m;
	srcmap__open(&m, b);
	assert_non_null(m.addr);
	assert_true(m.len == sizeof(data));
	assert_memory_equal(m.addr, data, sizeof(data));
	assert_int_equal(srcmap__check(&m, &err), 0);
	/* another process truncates it: the vanished page reads as zeros
	 * (SIGBUS handled), and the check fails */
	assert_int_equal(ftruncate(fd, 4096), 0);
	volatile uint8_t past = m.addr[32768];
	assert_int_equal(past, 0);
	assert_int_equal(srcmap__check(&m, &err), -1);
	assert_non_null(strstr(err.msg, path));
	srcmap__close(&m);
	assert_null(m.addr);
	assert_int_equal(block__close(b, &err), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_opts),    cmocka_unit_test(create_opts_bad_input),
		cmocka_unit_test(cache_modes),    cmocka_unit_test(zero_detection),
		cmocka_unit_test(chain_status),   cmocka_unit_test(srcmap_sees_a_shrunk_source),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
