#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/token_file.h"

static char path[64];

static void write_file(const char *content, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	snprintf(path, sizeof(path), "/tmp/strata-token-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static void first_line_without_line_end(void **state)
{
	(void)state;
	struct st_err err = {0};
	cleanup_free char *t = NULL;
	write_file("0123456789abcdefXYZ\r\nsecond line\n", 33);
	assert_int_equal(token_file__read(path, 16, &t, &err), 0);
	assert_string_equal(t, "0123456789abcdefXYZ");
}

static void short_token_refused(void **state)
{
	(void)state;
	struct st_err err = {0};
	char *t = NULL;
	write_file("short\n", 6);
	assert_true(token_file__read(path, 16, &t, &err) < 0);
	assert_null(t);
	assert_non_null(strstr(err.msg, "shorter than 16 characters"));
	assert_int_equal(token_file__read(path, 0, &t, &err), 0);
	assert_string_equal(t, "short");
	free(t);
}

static void large_or_missing_file_refused(void **state)
{
	(void)state;
	struct st_err err = {0};
	char *t = NULL;
	static char big[TOKEN_FILE_MAX + 1];
	memset(big, 'a', sizeof(big));
	write_file(big, sizeof(big));
	assert_true(token_file__read(path, 0, &t, &err) < 0);
	assert_non_null(strstr(err.msg, "too large"));
	assert_true(token_file__read("/nonexistent/strata-token", 0, &t, &err) < 0);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(first_line_without_line_end, setup, teardown),
		cmocka_unit_test_setup_teardown(short_token_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(large_or_missing_file_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
