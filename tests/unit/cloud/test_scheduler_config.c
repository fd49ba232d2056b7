/* The scheduler's configuration file: defaults, every key, and one clear
 * error (with its line) for each kind of bad input. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cloud/scheduler/scheduler.h"

static int parse(const char *text, struct scheduler_config *cfg, struct st_err *err)
{
	return scheduler__config_parse(text, strlen(text), cfg, err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	assert_int_equal(cfg.n_filters, 11);
	assert_int_equal(cfg.filters[0], SCHEDULER_FILTER_COMPUTE);
	assert_int_equal(cfg.n_weighers, SCHEDULER_WEIGHER_COUNT);
	assert_true(cfg.multipliers[SCHEDULER_WEIGHER_RAM] == 1.0);
	assert_true(cfg.multipliers[SCHEDULER_WEIGHER_NUM_INSTANCES] == 0.0);
	assert_true(cfg.cpu_allocation_ratio == 4.0);
	assert_int_equal(cfg.host_subset_size, 1);
	assert_int_equal(cfg.max_attempts, 3);
	assert_string_equal(cfg.default_availability_zone, "nova");
	assert_string_equal(scheduler__filter_name(SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS),
			    "AggregateInstanceExtraSpecsFilter");
	assert_string_equal(scheduler__weigher_name(SCHEDULER_WEIGHER_UTILISATION), "UtilisationWeigher");
}

static void test_full_file(void **state)
{
	(void)state;
	static const char text[] =
		"# strata-cloud scheduler\n"
		"[filter_scheduler]\n"
		"enabled_filters = ComputeFilter, nova.scheduler.filters.ram_filter.RamFilter ,\n"
		"  weight_classes=UtilisationWeigher,RAMWeigher   ; two only\n"
		"ram_weight_multiplier = -1.5\n"
		"utilisation_weight_multiplier = 2\n"
		"soft_anti_affinity_weight_multiplier = 0.5\r\n"
		"cpu_allocation_ratio = 16.0\n"
		"ram_allocation_ratio = 1.5\n"
		"disk_allocation_ratio = 1\n"
		"max_instances_per_host = 10\n"
		"host_subset_size = 2\n"
		"random_seed = 18446744073709551615\n"
		"[scheduler]\n"
		"max_attempts = 10\n"
		"default_availability_zone = az1\n"
		"image_properties_default_architecture = x86_64\n"
		"\n";
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct st_err err;
	if (parse(text, &cfg, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(cfg.n_filters, 2);
	assert_int_equal(cfg.filters[0], SCHEDULER_FILTER_COMPUTE);
	assert_int_equal(cfg.filters[1], SCHEDULER_FILTER_RAM);
	assert_int_equal(cfg.n_weighers, 2);
	assert_int_equal(cfg.weighers[0], SCHEDULER_WEIGHER_UTILISATION);
	assert_int_equal(cfg.weighers[1], SCHEDULER_WEIGHER_RAM);
	assert_true(cfg.multipliers[SCHEDULER_WEIGHER_RAM] == -1.5);
	assert_true(cfg.multipliers[SCHEDULER_WEIGHER_UTILISATION] == 2.0);
	assert_true(cfg.multipliers[SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY] == 0.5);
	assert_true(cfg.cpu_allocation_ratio == 16.0);
	assert_true(cfg.ram_allocation_ratio == 1.5);
	assert_true(cfg.disk_allocation_ratio == 1.0);
	assert_int_equal(cfg.max_instances_per_host, 10);
	assert_int_equal(cfg.host_subset_size, 2);
	assert_true(cfg.random_seed == UINT64_MAX);
	assert_int_equal(cfg.max_attempts, 10);
	assert_string_equal(cfg.default_availability_zone, "az1");
	assert_string_equal(cfg.default_architecture, "x86_64");
}

static void test_lists(void **state)
{
	(void)state;
	struct scheduler_config cfg;
	struct st_err err;
	scheduler__config_default(&cfg);
	assert_int_equal(parse("enabled_filters =\nweighers = all\n", &cfg, &err), 0);
	assert_int_equal(cfg.n_filters, 0); /* no filter: every host passes */
	assert_int_equal(cfg.n_weighers, SCHEDULER_WEIGHER_COUNT);
	assert_int_equal(parse("weight_classes = nova.scheduler.weights.all_weighers\n", &cfg, &err), 0);
	assert_int_equal(cfg.n_weighers, SCHEDULER_WEIGHER_COUNT);
	assert_int_equal(parse("enabled_filters = NumInstancesFilter, SameHostFilter, ComputeFilter, "
			       "AggregateInstanceExtraSpecsFilter\n",
			       &cfg, &err),
			 0);
	assert_int_equal(cfg.n_filters, 4);
	assert_int_equal(cfg.filters[0], SCHEDULER_FILTER_NUM_INSTANCES);
	assert_int_equal(cfg.filters[3], SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS);
}

static const struct {
	const char *text, *says;
	int errnum;
} bad[] = {
	{"colour = blue\n", "line 1: unknown key \"colour\"", EINVAL},
	{"\n\nenabled_filters = RamFilter, FooFilter\n", "line 3: unknown name \"FooFilter\"", EINVAL},
	{"enabled_filters = RamFilter, RamFilter\n", "listed twice", EINVAL},
	{"weighers = RAMWeigher, RamFilter\n", "unknown name \"RamFilter\"", EINVAL},
	{"weighers = all, RAMWeigher\n", "unknown name \"all\"", EINVAL},
	{"ram_weight_multiplier = heavy\n", "ram_weight_multiplier must be a number", EINVAL},
	{"ram_weight_multiplier = nan\n", "must be a number", EINVAL},
	{"cpu_allocation_ratio = 0\n", "cpu_allocation_ratio must be a number >= ", EINVAL},
	{"disk_allocation_ratio = -1\n", "disk_allocation_ratio", EINVAL},
	{"max_attempts = 0\n", "max_attempts must be an integer in [1, 10]", EINVAL},
	{"max_attempts = 11\n", "max_attempts must be an integer in [1, 10]", EINVAL},
	{"host_subset_size = -1\n", "host_subset_size", EINVAL},
	{"max_instances_per_host = 1.5\n", "max_instances_per_host", EINVAL},
	{"random_seed = 18446744073709551616\n", "random_seed", EINVAL},
	{"default_availability_zone =\n", "default_availability_zone must be a name", EINVAL},
	{"default_availability_zone = a b\n", "default_availability_zone must be a name", EINVAL},
	{"image_properties_default_architecture = "
	 "a123456789012345678901234567890123456789012345678901234567890123\n",
	 "image_properties_default_architecture", EINVAL},
	{"just words\n", "line 1: expected \"key = value\"", EINVAL},
	{" = 3\n", "line 1: expected \"key = value\"", EINVAL},
	{"[DEFAULT]\n", "line 1: unknown section [DEFAULT]", EINVAL},
};

static void test_bad_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct scheduler_config cfg, before;
		scheduler__config_default(&cfg);
		before = cfg;
		struct st_err err = {0};
		if (parse(bad[i].text, &cfg, &err) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_int_equal(err.errnum, bad[i].errnum);
		if (!strstr(err.msg, bad[i].says) || !strstr(err.msg, "scheduler configuration"))
			fail_msg("\"%s\": error \"%s\" lacks \"%s\"", bad[i].text, err.msg, bad[i].says);
		/* A bad file changes nothing. */
		assert_memory_equal(&cfg, &before, sizeof(cfg));
	}
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct st_err err;
	static const char nul[] = "max_attempts = 2\0\n";
	assert_int_equal(scheduler__config_parse(nul, sizeof(nul) - 1, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, "NUL"));
	char *big = malloc(70000);
	memset(big, '#', 70000);
	assert_int_equal(scheduler__config_parse(big, 70000, &cfg, &err), -1);
	assert_int_equal(err.errnum, E2BIG);
	free(big);
}

static void test_load(void **state)
{
	(void)state;
	char path[] = "/tmp/sched-config-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char text[] = "host_subset_size = 4\nenabled_filters = ComputeFilter\n";
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct st_err err;
	assert_int_equal(scheduler__config_load(path, &cfg, &err), 0);
	assert_int_equal(cfg.host_subset_size, 4);
	assert_int_equal(cfg.n_filters, 1);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "bogus\n", 6), 6);
	close(fd);
	assert_int_equal(scheduler__config_load(path, &cfg, &err), -1);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "line 1"));
	unlink(path);
	assert_int_equal(scheduler__config_load(path, &cfg, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),     cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_lists),        cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
