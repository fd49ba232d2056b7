/* The nested host profile's kernel options: Linux reads clearcpuid= into a
 * 128-byte buffer and drops the rest without a word, which once left SSSE3,
 * SSE4 and a dozen others visible to the Debian kernel. */
#include "vm/nested.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void clearcpuid_fits_the_kernel_buffer(void **state)
{
	(void)state;
	const char *list = nested__clearcpuid();
	assert_true(strlen(list) > 0);
	assert_true(strlen(list) <= NESTED_CLEARCPUID_MAX);
	assert_int_not_equal(list[strlen(list) - 1], ',');
}

/* Every feature the profile means to hide is in the list the kernel gets. */
static void clearcpuid_names_each_hidden_feature(void **state)
{
	(void)state;
	static const char *const must[] = {"ssse3", "sse4_1", "sse4_2", "aes", "pclmulqdq",
					   "sha_ni", "cx16", "popcnt", "movbe", "smap", "smep",
					   "rdrand", "fsgsbase", "pcid", "clwb"};
	char *copy = strdup(nested__clearcpuid());
	assert_non_null(copy);
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		int bit = nested__cleared_bit(must[i]);
		assert_true(bit >= 0);
		bool found = false;
		char *save = NULL;
		char *scratch = strdup(copy);
		for (char *t = strtok_r(scratch, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			char *end;
			long v = strtol(t, &end, 10);
			assert_true(*end == '\0' && v >= 0 && v < 32 * 32);
			found |= v == bit;
		}
		free(scratch);
		if (!found)
			fail_msg("%s (bit %d) missing from clearcpuid=%s", must[i], bit, copy);
	}
	free(copy);
	assert_int_equal(nested__cleared_bit("no-such-feature"), -1);
	/* Known numbers from Linux's cpufeatures.h. */
	assert_int_equal(nested__cleared_bit("ssse3"), 137);
	assert_int_equal(nested__cleared_bit("smap"), 308);
}

static void options_hide_xsave_and_carry_the_list(void **state)
{
	(void)state;
	const char *opts = nested__kernel_options();
	assert_non_null(strstr(opts, "noxsave"));
	assert_non_null(strstr(opts, "nokaslr"));
	assert_non_null(strstr(opts, "nopti"));
	/* user-space defences stay: only the kernel's own return/indirect thunks go */
	assert_null(strstr(opts, "mitigations=off"));
	assert_null(strstr(opts, "spectre_v2=off"));
	const char *c = strstr(opts, "clearcpuid=");
	assert_non_null(c);
	assert_string_equal(c + strlen("clearcpuid="), nested__clearcpuid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clearcpuid_fits_the_kernel_buffer),
		cmocka_unit_test(clearcpuid_names_each_hidden_feature),
		cmocka_unit_test(options_hide_xsave_and_carry_the_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
