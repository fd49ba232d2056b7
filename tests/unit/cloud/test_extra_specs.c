/* Nova's extra-spec operators, table-driven: every case of Nova's own
 * test_extra_specs_ops.py plus the edges its docs describe (substring <in>,
 * <or> lists, "=" as >= for numbers, string order) and the strict validator. */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cloud/scheduler/extra_specs.h"
#include "cloud/scheduler/scheduler.h"

struct match_case {
	const char *value; /* NULL: the host lacks the capability */
	const char *req;
	bool want;
};

static const struct match_case cases[] = {
	/* plain: whole-string equality */
	{"1", "1", true},
	{"", "1", false},
	{"3", "1", false},
	{"222", "2", false},
	{"4", "> 2", false}, /* ">" is no operator: compared as the string "> 2" */
	{"> 2", "> 2", true},
	{"a b", "a b", true},
	{"a  b", "a b", false}, /* plain compares the text, not its words */
	{"", "", true},
	{NULL, "1", false},
	/* "=" is >= on numbers */
	{"123", "= 123", true},
	{"124", "= 123", true},
	{"34", "= 234", false},
	{"34", "=", false},
	{"34.5", "= 34.25", true},
	{"4", "= 4.0", true},
	{"1e3", "= 999", true},
	{"abc", "= 1", false},  /* not a number: no match (Nova raises ValueError) */
	{"0x10", "= 1", false}, /* Python's float() reads no hex */
	{"inf", "= 1e308", true},
	{"nan", "= 0", false},
	{" 7 ", "= 7", true}, /* float() strips whitespace */
	{NULL, "= 1", false},
	/* numeric comparisons */
	{"4", "== 4", true},
	{"4.0", "== 4", true},
	{"4.1", "== 4", false},
	{"4", "!= 4", false},
	{"5", "!= 4", true},
	{"2", "<= 10", true},
	{"3", "<= 2", false},
	{"3", ">= 1", true},
	{"2", ">= 3", false},
	{"10", ">= 9", true}, /* numbers, not strings: "10" < "9" as strings */
	{"-1", "<= -0.5", true},
	/* string comparisons: code point order */
	{"123", "s== 123", true},
	{"1234", "s== 123", false},
	{"1234", "s!= 123", true},
	{"123", "s!= 123", false},
	{"1000", "s>= 234", false},
	{"1234", "s<= 1000", false},
	{"2", "s< 12", false},
	{"12", "s> 2", false},
	{"b", "s> a", true},
	{"a", "s< b", true},
	{"abc", "s>= abc", true},
	{"abc", "s<= abc", true},
	{"Haswell", "s== haswell", false},
	{"x", "s==", false}, /* no operand */
	/* <in>: substring, only the first operand counts */
	{"12311321", "<in> 11", true},
	{"12311321", "<in> 12311321", true},
	{"12311321", "<in> 12311321 <in>", true},
	{"12310321", "<in> 11", false},
	{"12310321", "<in> 11 <in>", false},
	{"['avx', 'sse4.2']", "<in> avx", true},
	{"['avx2', 'sse4.2']", "<in> avx", true}, /* Nova's edge: avx2 contains avx */
	{"['sse4.2']", "<in> avx", false},
	{"['avx', 'sse4.2']", "<in> 'avx'", true}, /* quoting the word asks for the exact item */
	{"['avx2']", "<in> 'avx'", false},
	{"x", "<in>", false},
	/* <all-in>: every operand a substring */
	{"['aes', 'mmx', 'aux']", "<all-in> aes mmx", true},
	{"['aes', 'mmx', 'aux']", "<all-in> mmx", true},
	{"['aes', 'mmx', 'aux']", "<all-in>  txt", false},
	{"['aes', 'mmx', 'aux']", "<all-in> txt 3dnow", false},
	{"['aes', 'mmx', 'aux']", "<all-in> txt aes", false},
	{"x", "<all-in>", false},
	/* <or>: exact equality with one of the values */
	{"12", "<or> 11 <or> 12", true},
	{"12", "<or> 11 <or> 12 <or>", true},
	{"13", "<or> 11 <or> 12", false},
	{"13", "<or> 11 <or> 12 <or>", false},
	{"1", "<or> 11 <or> 12", false}, /* no substrings here */
	{"x86_64", "<or> x86_64", true},
	{"c", "<or> a b c", true}, /* the word between values is skipped unchecked, as in Nova */
	{"b", "<or> a b c", false},
	{NULL, "<or> a", false},
	{"a", "<or>", false},
	/* whitespace: Python's split() */
	{"5", "\t>=\n 4 ", true},
	{"5", "=\x1f" "5", true},
};

static void test_match_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = extra_specs__match_text(cases[i].value, cases[i].req);
		if (got != cases[i].want)
			fail_msg("case %zu: value \"%s\" req \"%s\": got %d, want %d", i,
				 cases[i].value ? cases[i].value : "(none)", cases[i].req, got, cases[i].want);
	}
}

static void test_parse_words(void **state)
{
	(void)state;
	struct extra_specs_req r;
	assert_int_equal(extra_specs__parse("  <all-in>  a\tb  ", &r, NULL), 0);
	assert_int_equal(r.op, EXTRA_SPECS_ALL_IN);
	assert_int_equal(r.n_words, 2);
	assert_string_equal(r.words[0], "a");
	assert_string_equal(r.words[1], "b");
	extra_specs__free(&r);
	assert_int_equal(extra_specs__parse("avx", &r, NULL), 0);
	assert_int_equal(r.op, EXTRA_SPECS_PLAIN);
	assert_int_equal(r.n_words, 1);
	extra_specs__free(&r);
	assert_int_equal(extra_specs__parse("", &r, NULL), 0);
	assert_int_equal(r.n_words, 0);
	extra_specs__free(&r);
}

struct validate_case {
	const char *req;
	bool ok;
	const char *says; /* part of the error */
};

static const struct validate_case validate_cases[] = {
	{"1", true, NULL},
	{"", true, NULL},
	{"true", true, NULL},
	{"= 4", true, NULL},
	{"= 4.5", true, NULL},
	{"=", false, "exactly one operand"},
	{"= four", false, "not one"},
	{"== 1 2", false, "exactly one operand"},
	{">= 0x1", false, "not one"},
	{"s== x", true, NULL},
	{"s<", false, "exactly one operand"},
	{"<in> avx", true, NULL},
	{"<in>", false, "exactly one operand"},
	{"<in> a b", false, "exactly one operand"},
	{"<all-in> a b c", true, NULL},
	{"<all-in>", false, "one or more"},
	{"<or> a", true, NULL},
	{"<or> a <or> b <or> c", true, NULL},
	{"<or>", false, "<or> V1"},
	{"<or> a <or>", false, "<or> V1"},
	{"<or> a b c", false, "where <or> belongs"},
	{"<IN> avx", false, "unknown operator"},
	{"<nope> 1", false, "unknown operator"},
	{"> 2", true, NULL}, /* Nova reads it as a plain string; so do we */
};

static void test_validate_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(validate_cases) / sizeof(validate_cases[0]); i++) {
		const struct validate_case *c = &validate_cases[i];
		struct st_err err = {0};
		int rc = extra_specs__validate(c->req, &err);
		if ((rc == 0) != c->ok)
			fail_msg("\"%s\": validate %d (%s), want ok=%d", c->req, rc, err.msg, c->ok);
		if (!c->ok) {
			assert_int_equal(err.errnum, EINVAL);
			if (!strstr(err.msg, c->says))
				fail_msg("\"%s\": error \"%s\" lacks \"%s\"", c->req, err.msg, c->says);
		}
	}
}

static void test_numbers(void **state)
{
	(void)state;
	double d;
	assert_true(extra_specs__parse_number("1.5", &d));
	assert_true(d == 1.5);
	assert_true(extra_specs__parse_number("-2e2", &d));
	assert_true(d == -200);
	assert_true(extra_specs__parse_number("Infinity", &d));
	assert_false(extra_specs__parse_number("", &d));
	assert_false(extra_specs__parse_number("1.5x", &d));
	assert_false(extra_specs__parse_number("nan(1)", &d));
	assert_false(extra_specs__parse_number("1_000", &d));
}

static void test_validate_extra_spec(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value, *says;
	} cases[] = {
		{"capabilities:cpu_info:features", "<in> avx", NULL},
		{"aggregate_instance_extra_specs:ssd", "true", NULL},
		{"hw:cpu_policy", "dedicated", NULL},
		{"hw:mem_page_size", "<in>", NULL}, /* not a scope the scheduler reads */
		{"quota:disk_read_bytes_sec", "10240000", NULL},
		{"capabilities:cpu_info:features", "<in>", "extra spec capabilities:cpu_info:features: "},
		{"aggregate_instance_extra_specs:cores", ">= many", "is not one"},
		{"ssd", "<or> a b", "<or> V1"},
		{"", "x", "1 to 255"},
		{"bad/key", "x", "only letters"},
		{"k\n", "x", "only letters"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct st_err err = {0};
		int rc = scheduler__validate_extra_spec(cases[i].key, cases[i].value, &err);
		if ((rc == 0) != !cases[i].says)
			fail_msg("%s = %s: rc %d (%s)", cases[i].key, cases[i].value, rc, err.msg);
		if (cases[i].says && (!strstr(err.msg, cases[i].says) || err.errnum != EINVAL))
			fail_msg("%s = %s: \"%s\" lacks \"%s\"", cases[i].key, cases[i].value, err.msg, cases[i].says);
	}
	char long_value[300];
	memset(long_value, 'v', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	assert_int_equal(scheduler__validate_extra_spec("hw:x", long_value, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_table),
		cmocka_unit_test(test_parse_words),
		cmocka_unit_test(test_validate_table),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_validate_extra_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
