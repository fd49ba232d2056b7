#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"

static void parse_size_suffixes(void **state)
{
	(void)state;
	uint64_t v;
	struct st_err err = {0};
	assert_int_equal(util__parse_size("256", 1 << 20, &v, &err), 0);
	assert_true(v == 256ull << 20);
	assert_int_equal(util__parse_size("2G", 1, &v, &err), 0);
	assert_true(v == 2ull << 30);
	assert_int_equal(util__parse_size("4KiB", 1, &v, &err), 0);
	assert_true(v == 4096);
	assert_int_equal(util__parse_size("512b", 1, &v, &err), 0);
	assert_true(v == 512);
}

static void parse_size_rejects_garbage(void **state)
{
	(void)state;
	uint64_t v = 7;
	struct st_err err = {0};
	assert_true(util__parse_size("", 1, &v, &err) < 0);
	assert_true(util__parse_size("-1", 1, &v, &err) < 0);
	assert_true(util__parse_size("12Q", 1, &v, &err) < 0);
	assert_non_null(strstr(err.msg, "suffix"));
	assert_true(util__parse_size("99999999999999999999", 1, &v, &err) < 0);
	assert_true(util__parse_size("17179869184T", 1, &v, &err) < 0);
	assert_true(v == 7);
}

static void parse_u64_bounds(void **state)
{
	(void)state;
	uint64_t v;
	struct st_err err = {0};
	assert_int_equal(util__parse_u64("255", 255, &v, &err), 0);
	assert_true(v == 255);
	assert_true(util__parse_u64("256", 255, &v, &err) < 0);
	assert_true(util__parse_u64("12x", 1000, &v, &err) < 0);
	assert_true(util__parse_u64(" 1", 1000, &v, &err) < 0);
}

static void err_prefix_and_errno(void **state)
{
	(void)state;
	struct st_err err = {0};
	assert_int_equal(err__fail(&err, ENOENT, "open %s", "x"), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_int_equal(err__prefix(&err, "kernel"), -1);
	assert_string_equal(err.msg, "kernel: open x: No such file or directory");
}

static void read_file_limits(void **state)
{
	(void)state;
	struct st_err err = {0};
	char *buf = NULL;
	size_t len = 0;
	assert_true(util__read_file("/nonexistent/strata", 100, &buf, &len, &err) < 0);
	assert_int_equal(err.errnum, ENOENT);
	assert_true(util__read_file("/proc/self", 100, &buf, &len, &err) < 0);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_size_suffixes),
		cmocka_unit_test(parse_size_rejects_garbage),
		cmocka_unit_test(parse_u64_bounds),
		cmocka_unit_test(err_prefix_and_errno),
		cmocka_unit_test(read_file_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
