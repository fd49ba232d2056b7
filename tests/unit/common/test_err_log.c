/* common/err and common/log: the one-line error idiom and the logger. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

/* Runs fn with stderr going to a pipe; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
	static char out[4096];
	int p[2], saved = dup(STDERR_FILENO);
	assert_int_equal(pipe(p), 0);
	fflush(stderr);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = 0;
	return out;
}

static void fail_fills_err(void **state)
{
	(void)state;
	struct st_err err = {0};
	assert_int_equal(err__fail(&err, 0, "bad %s %d", "thing", 7), -1);
	assert_string_equal(err.msg, "bad thing 7");
	assert_int_equal(err.errnum, 0);
	assert_int_equal(err__fail(&err, ENOENT, "open %s", "/x"), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_string_equal(err.msg, "open /x: No such file or directory");
	/* a caller that does not want the message passes NULL */
	assert_int_equal(err__fail(NULL, EIO, "ignored"), -1);
	errno = EACCES;
	assert_int_equal(err__fail_errno(&err, "mkdir"), -1);
	assert_string_equal(err.msg, "mkdir: Permission denied");
}

static void long_messages_are_cut(void **state)
{
	(void)state;
	struct st_err err;
	memset(&err, 'x', sizeof(err));
	char big[2 * ST_ERR_MSG_MAX];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	err__fail(&err, ENOENT, "%s", big);
	assert_int_equal(strlen(err.msg), ST_ERR_MSG_MAX - 1);
	err__prefix(&err, "%s", big);
	assert_int_equal(strlen(err.msg), ST_ERR_MSG_MAX - 1);
	assert_int_equal(err.errnum, ENOENT);
}

static void prefix_adds_context(void **state)
{
	(void)state;
	struct st_err err = {0};
	err__fail(&err, 0, "inner");
	assert_int_equal(err__prefix(&err, "middle %d", 2), -1);
	err__prefix(&err, "outer");
	assert_string_equal(err.msg, "outer: middle 2: inner");
	assert_int_equal(err__prefix(NULL, "x"), -1);
}

/* Issue 13 item 10: a message formatted from the err it goes into
 * ("capacity: %s", err->msg) read its own output ("timeout: timeout: ti"). */
static void fail_may_quote_the_old_message(void **state)
{
	(void)state;
	struct st_err e = {0};
	err__fail(&e, 0, "'%s' is not a number", "soon");
	err__fail(&e, 0, "timeout: %s", e.msg);
	assert_string_equal(e.msg, "timeout: 'soon' is not a number");
	err__fail(&e, EINVAL, "again: %s", e.msg);
	assert_string_equal(e.msg, "again: timeout: 'soon' is not a number: Invalid argument");
}

static void print_err(void *arg)
{
	err__print(arg);
}

static void print_is_one_line(void **state)
{
	(void)state;
	err__set_progname("/usr/bin/strata-test");
	assert_string_equal(err__progname(), "strata-test");
	struct st_err err = {0};
	err__fail(&err, 0, "no domain named 'x'");
	assert_string_equal(capture_stderr(print_err, &err), "strata-test: error: no domain named 'x'\n");
	struct st_err empty = {0};
	assert_string_equal(capture_stderr(print_err, &empty), "strata-test: error: unknown error\n");
}

static void log_levels(void *arg)
{
	(void)arg;
	log__error("e %d", 1);
	log__warn("w");
	log__info("i");
	log__debug("d");
}

static void log_filters_by_level(void **state)
{
	(void)state;
	err__set_progname("strata-test");
	/* the first message reads STRATA_LOG */
	setenv("STRATA_LOG", "info", 1);
	assert_string_equal(capture_stderr(log_levels, NULL),
			    "strata-test: error: e 1\nstrata-test: warning: w\nstrata-test: info: i\n");
	log__set_level(ST_LOG_ERROR);
	assert_string_equal(capture_stderr(log_levels, NULL), "strata-test: error: e 1\n");
	log__set_level(ST_LOG_DEBUG);
	assert_non_null(strstr(capture_stderr(log_levels, NULL), "strata-test: debug: d\n"));
}

static void log_long(void *arg)
{
	log__warn("%s", (const char *)arg);
}

static void log_long_line_stays_one_line(void **state)
{
	(void)state;
	log__set_level(ST_LOG_WARN);
	char big[3000];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	const char *out = capture_stderr(log_long, big);
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
	assert_true(strlen(out) < 1100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fail_fills_err),     cmocka_unit_test(long_messages_are_cut),
		cmocka_unit_test(prefix_adds_context), cmocka_unit_test(fail_may_quote_the_old_message),
		cmocka_unit_test(print_is_one_line),
		cmocka_unit_test(log_filters_by_level), cmocka_unit_test(log_long_line_stays_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
