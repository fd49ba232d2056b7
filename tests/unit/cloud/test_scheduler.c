/* The scheduler's weighers, its choice and alternates, and a scenario over
 * twelve hosts in two zones. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cloud/scheduler/scheduler.h"
#include "cloud/scheduler/weighers.h"
#include "sched_fixture.h"

static void assert_near(double got, double want)
{
	if (fabs(got - want) > 1e-9)
		fail_msg("got %.12g, want %.12g", got, want);
}

static void test_normalize(void **state)
{
	(void)state;
	double w[] = {1, 2, 3};
	weighers__normalize(w, 3, false, 0, false, 0);
	assert_near(w[0], 0);
	assert_near(w[1], 0.5);
	assert_near(w[2], 1);
	double same[] = {5, 5};
	weighers__normalize(same, 2, false, 0, false, 0); /* all equal: 0 */
	assert_near(same[0], 0);
	assert_near(same[1], 0);
	double floor[] = {5, 5};
	weighers__normalize(floor, 2, true, 0, false, 0); /* Nova's minval = 0 */
	assert_near(floor[0], 1);
	assert_near(floor[1], 1);
	double neg[] = {-4, 0, 4, 2};
	weighers__normalize(neg, 4, false, 0, false, 0);
	assert_near(neg[0], 0);
	assert_near(neg[1], 0.5);
	assert_near(neg[2], 1);
	assert_near(neg[3], 0.75);
	double capped[] = {0, 10};
	weighers__normalize(capped, 2, false, 0, true, 20);
	assert_near(capped[1], 0.5);
}

/* One weigher alone, three hosts: the chosen host and its weight. */
static struct scheduler_config only_weigher(enum scheduler_weigher w, double multiplier)
{
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_COMPUTE);
	cfg.weighers[0] = w;
	cfg.n_weighers = 1;
	cfg.multipliers[w] = multiplier;
	return cfg;
}

static void test_ram_weigher(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].ram_used_mb = 32768; /* free 0 */
	h[1].ram_used_mb = 16384; /* free 16384 */
	h[2].ram_used_mb = 8192;  /* free 24576 */
	struct scheduler_config cfg = only_weigher(SCHEDULER_WEIGHER_RAM, 1.0);
	struct scheduler_request req = fixture_request();
	struct scheduler_selection sel[1];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 2); /* spreading: most free RAM */
	assert_near(sel[0].weight, 1.0);
	assert_int_equal(sel[0].n_hosts, 3);
	assert_int_equal(sel[0].hosts[1], 1); /* alternates, best first */
	assert_int_equal(sel[0].hosts[2], 0);
	cfg.multipliers[SCHEDULER_WEIGHER_RAM] = -2.0; /* stacking */
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 0);
	assert_near(sel[0].weight, 0.0);
	/* Overcommitted hosts weigh 0, not below (Nova's minval = 0): a ties c
	 * and keeps its place before c among the alternates (after d). */
	struct scheduler_host h4[4] = {h[0], h[1], h[2], fixture_host("d")};
	cfg.multipliers[SCHEDULER_WEIGHER_RAM] = 3.0;
	cfg.max_attempts = 4;
	h4[0].ram_used_mb = 32768 + 4096;
	h4[2].ram_used_mb = 32768;
	h4[3].ram_used_mb = 32768 - 8192;
	assert_int_equal(scheduler__select(&cfg, &req, h4, 4, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 1);
	assert_near(sel[0].weight, 3.0);
	assert_int_equal(sel[0].n_hosts, 4);
	assert_int_equal(sel[0].hosts[1], 3);
	assert_int_equal(sel[0].hosts[2], 0);
	assert_int_equal(sel[0].hosts[3], 2);
}

static void test_cpu_disk_weighers(void **state)
{
	(void)state;
	struct scheduler_host h[2] = {fixture_host("a"), fixture_host("b")};
	h[0].vcpus_used = 10; /* 64 - 10 = 54 free at ratio 4 */
	h[1].vcpus_used = 20;
	h[0].disk_used_gb = 400;
	h[1].disk_used_gb = 100;
	struct scheduler_request req = fixture_request();
	struct scheduler_config cfg = only_weigher(SCHEDULER_WEIGHER_CPU, 1.0);
	assert_int_equal(pick(&cfg, &req, h, 2), 0);
	cfg = only_weigher(SCHEDULER_WEIGHER_DISK, 1.0);
	assert_int_equal(pick(&cfg, &req, h, 2), 1);
	/* Both, the multipliers decide: cpu 1 * (1, 44/54) vs disk 2 * (100/400, 1). */
	cfg.weighers[1] = SCHEDULER_WEIGHER_CPU;
	cfg.n_weighers = 2;
	cfg.multipliers[SCHEDULER_WEIGHER_DISK] = 2.0;
	cfg.multipliers[SCHEDULER_WEIGHER_CPU] = 1.0;
	struct scheduler_selection sel[1];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 2, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 1);
	assert_near(sel[0].weight, 2.0 + 44.0 / 54.0);
	cfg.multipliers[SCHEDULER_WEIGHER_DISK] = 0.1; /* a: 0.025 + 1, b: 0.1 + 44/54 */
	assert_int_equal(pick(&cfg, &req, h, 2), 0);
}

static void test_num_instances_weigher(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].num_instances = 5;
	h[1].num_instances = 1;
	h[2].num_instances = 3;
	struct scheduler_request req = fixture_request();
	struct scheduler_config cfg = only_weigher(SCHEDULER_WEIGHER_NUM_INSTANCES, -1.0);
	assert_int_equal(pick(&cfg, &req, h, 3), 1);
	cfg.multipliers[SCHEDULER_WEIGHER_NUM_INSTANCES] = 1.0;
	assert_int_equal(pick(&cfg, &req, h, 3), 0);
	cfg.multipliers[SCHEDULER_WEIGHER_NUM_INSTANCES] = 0.0; /* Nova's default: no say, input order */
	assert_int_equal(pick(&cfg, &req, h, 3), 0);
}

static void test_utilisation_weigher(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].cpu_load = 0.9;
	h[0].memory_pressure = 0.1;
	h[1].cpu_load = 0.2;
	h[1].memory_pressure = 0.3;
	h[2].cpu_load = -1; /* not known: weighed as fully loaded */
	h[2].memory_pressure = 0.0;
	struct scheduler_request req = fixture_request();
	struct scheduler_config cfg = only_weigher(SCHEDULER_WEIGHER_UTILISATION, 1.0);
	struct scheduler_selection sel[1];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 1); /* headroom 1.5 */
	/* a and c both have headroom 1.0 (c would have 2.0 if unknown were idle): input order. */
	assert_int_equal(sel[0].hosts[1], 0);
	assert_int_equal(sel[0].hosts[2], 2);
}

static void test_soft_group_weighers(void **state)
{
	(void)state;
	const char *on_a[] = {"m1", "m2"}, *on_b[] = {"m3"};
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].instance_uuids = on_a;
	h[0].n_instance_uuids = 2;
	h[1].instance_uuids = on_b;
	h[1].n_instance_uuids = 1;
	const char *members[] = {"m1", "m2", "m3"};
	struct scheduler_request req = fixture_request();
	req.group_members = members;
	req.n_group_members = 3;
	req.group_policy = SCHEDULER_GROUP_SOFT_AFFINITY;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_GROUP_ANTI_AFFINITY);
	cfg.weighers[0] = SCHEDULER_WEIGHER_SOFT_AFFINITY;
	cfg.weighers[1] = SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY;
	cfg.n_weighers = 2;
	assert_int_equal(pick(&cfg, &req, h, 3), 0);
	req.group_policy = SCHEDULER_GROUP_SOFT_ANTI_AFFINITY;
	assert_int_equal(pick(&cfg, &req, h, 3), 2);
	/* Soft anti-affinity spreads a request of three over the three hosts' emptiest first. */
	req.num_instances = 3;
	struct scheduler_selection sel[3];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 2);
	assert_int_equal(sel[1].hosts[0], 1); /* b: 1 member, c now 1 too: b comes first in the input */
	assert_int_equal(sel[2].hosts[0], 2); /* c: 1, b: 2, a: 2 */
	/* Soft is never hard: a full group still lands. */
	req.group_policy = SCHEDULER_GROUP_SOFT_AFFINITY;
	req.num_instances = 1;
	h[0].enabled = false;
	cfg.filters[0] = SCHEDULER_FILTER_COMPUTE;
	assert_int_equal(pick(&cfg, &req, h, 3), 1);
}

static void test_aggregate_multiplier(void **state)
{
	(void)state;
	struct scheduler_kv stack[] = {{"ram_weight_multiplier", "-1.0"}};
	struct scheduler_aggregate agg = {"stackers", stack, 1};
	struct scheduler_host h[2] = {fixture_host("a"), fixture_host("b")};
	h[0].ram_used_mb = 30000;
	h[0].aggregates = &agg; /* its multiplier -1 makes its own weight 0 * -1 ... */
	h[0].n_aggregates = 1;
	struct scheduler_request req = fixture_request();
	struct scheduler_config cfg = only_weigher(SCHEDULER_WEIGHER_RAM, 1.0);
	struct scheduler_selection sel[1];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 2, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 1);
	/* ... while b, the most free, weighs 1 * 1: a's multiplier applies to a only. */
	assert_near(sel[0].weight, 1.0);
	h[1].aggregates = &agg;
	h[1].n_aggregates = 1;
	assert_int_equal(scheduler__select(&cfg, &req, h, 2, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 0); /* both stack now */
}

static void test_choice_and_alternates(void **state)
{
	(void)state;
	struct scheduler_host h[5];
	static const char *names[] = {"a", "b", "c", "d", "e"};
	for (int i = 0; i < 5; i++) {
		h[i] = fixture_host(names[i]);
		h[i].ram_total_mb = 1024 * (i + 1); /* e has the most */
	}
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct scheduler_request req = fixture_request();
	req.ram_mb = 1024;
	req.num_instances = 2;
	struct scheduler_selection sel[2];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 5, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 4);
	assert_int_equal(sel[1].hosts[0], 3); /* e used 1024 of 5120 now; d has 4096 free, e 4096 */
	/* Alternates never repeat a chosen host and still pass the filters. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(sel[i].n_hosts, 3);
		for (size_t k = 1; k < 3; k++)
			assert_true(sel[i].hosts[k] != 4 && sel[i].hosts[k] != 3);
	}
	assert_int_equal(sel[0].hosts[1], 2);
	assert_int_equal(sel[0].hosts[2], 1);
	cfg.max_attempts = 1;
	assert_int_equal(scheduler__select(&cfg, &req, h, 5, sel, &err), 0);
	assert_int_equal(sel[0].n_hosts, 1);
	/* The caller's hosts are not written. */
	assert_int_equal(h[4].ram_used_mb, 0);
	assert_int_equal(h[4].num_instances, 0);
}

static void test_no_valid_host(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].up = false;
	h[1].ram_total_mb = 256;
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct scheduler_request req = fixture_request();
	req.availability_zone = "az9";
	struct scheduler_selection sel[1];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	assert_non_null(strstr(err.msg, "No valid host was found. There are not enough hosts available."));
	assert_non_null(strstr(err.msg, "ComputeFilter 3->2"));
	assert_non_null(strstr(err.msg, "AvailabilityZoneFilter 2->0"));
	assert_int_equal(scheduler__select(&cfg, &req, h, 0, sel, &err), -1);
	assert_int_equal(err.errnum, ENOSPC);
	assert_non_null(strstr(err.msg, "(no hosts)"));
	req.ram_mb = -1;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), -1);
	assert_int_equal(err.errnum, EINVAL);
}

static void test_subset_randomness(void **state)
{
	(void)state;
	struct scheduler_host h[6];
	static const char *names[] = {"a", "b", "c", "d", "e", "f"};
	for (int i = 0; i < 6; i++) {
		h[i] = fixture_host(names[i]);
		h[i].ram_total_mb = 1024 * (i + 1);
	}
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	struct scheduler_request req = fixture_request();
	/* Size 1 (the default): always the best. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(pick(&cfg, &req, h, 6), 5);
	/* Size 3: one of the best three, all three in time, the same run for the same seed. */
	cfg.host_subset_size = 3;
	cfg.random_seed = 42;
	unsigned seen = 0;
	int first[40];
	for (int i = 0; i < 40; i++) {
		cfg.random_seed = 42 + (uint64_t)i;
		first[i] = pick(&cfg, &req, h, 6);
		assert_true(first[i] >= 3);
		seen |= 1u << first[i];
	}
	assert_int_equal(seen, 0x38);
	for (int i = 0; i < 40; i++) {
		cfg.random_seed = 42 + (uint64_t)i;
		assert_int_equal(pick(&cfg, &req, h, 6), first[i]);
	}
}

/* Twelve hosts in two zones; aggregates, CPU features, loads, a disabled
 * and a down host; a run of requests with the hosts Nova's rules give. */
static void test_scenario_twelve_hosts(void **state)
{
	(void)state;
	json_t *avx = json_loads("{\"cpu_info\": {\"model\": \"Haswell\", \"features\": [\"avx\", \"aes\"]}}", 0, NULL);
	json_t *old = json_loads("{\"cpu_info\": {\"model\": \"Westmere\", \"features\": [\"aes\"]}}", 0, NULL);
	struct scheduler_kv ssd_md[] = {{"ssd", "true"}, {"availability_zone", "az-east"}};
	struct scheduler_kv west_md[] = {{"availability_zone", "az-west"}};
	struct scheduler_aggregate ssd = {"ssd", ssd_md, 2}, west = {"west", west_md, 1};
	struct scheduler_host h[12];
	static const char *names[] = {"n00", "n01", "n02", "n03", "n04", "n05",
				      "n06", "n07", "n08", "n09", "n10", "n11"};
	for (int i = 0; i < 12; i++) {
		h[i] = fixture_host(names[i]);
		h[i].capabilities = i % 3 == 0 ? avx : old; /* n00 n03 n06 n09 have AVX */
		h[i].aggregates = i < 6 ? &ssd : &west;      /* n00-n05 east with SSD, n06-n11 west */
		h[i].n_aggregates = 1;
		h[i].ram_total_mb = 16384;
		h[i].ram_used_mb = 1024 * i;
		h[i].cpu_load = 0.05 * i;
	}
	h[0].enabled = false; /* disabled by the operator */
	h[9].up = false;      /* heartbeat lost */
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	cfg.filters[cfg.n_filters++] = SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS;
	struct scheduler_selection sel[4];
	struct st_err err;

	/* 1. Plain: the most free RAM and least load is n01 (n00 is disabled). */
	struct scheduler_request req = fixture_request();
	assert_int_equal(pick(&cfg, &req, h, 12), 1);
	/* 2. AVX: n03 or n06 (n00 disabled, n09 down); n03 has more free RAM and less load. */
	struct scheduler_kv avx_spec = {"capabilities:cpu_info:features", "<in> avx"};
	req.extra_specs = &avx_spec;
	req.n_extra_specs = 1;
	assert_int_equal(scheduler__select(&cfg, &req, h, 12, sel, &err), 0);
	assert_int_equal(sel[0].hosts[0], 3);
	assert_int_equal(sel[0].n_hosts, 2); /* the one alternate: n06 */
	assert_int_equal(sel[0].hosts[1], 6);
	/* 3. AVX in the west: n06. */
	req.availability_zone = "az-west";
	assert_int_equal(pick(&cfg, &req, h, 12), 6);
	/* 4. SSD via the aggregate: east only, n01 best. */
	struct scheduler_kv ssd_spec = {"aggregate_instance_extra_specs:ssd", "true"};
	req.extra_specs = &ssd_spec;
	req.availability_zone = NULL;
	assert_int_equal(pick(&cfg, &req, h, 12), 1);
	/* 5. A big flavor: 12 GiB fits only where at most 4 GiB is used: n01..n04 (n00 disabled). */
	req.n_extra_specs = 0;
	req.ram_mb = 12288;
	req.num_instances = 4;
	assert_int_equal(scheduler__select(&cfg, &req, h, 12, sel, &err), 0);
	unsigned used = 0;
	for (int i = 0; i < 4; i++)
		used |= 1u << sel[i].hosts[0];
	assert_int_equal(used, 0x1e);
	assert_int_equal(sel[0].n_hosts, 1); /* no host is left to be an alternate */
	req.num_instances = 5;
	assert_int_equal(scheduler__select(&cfg, &req, h, 12, sel, &err), -1);
	assert_non_null(strstr(err.msg, "ComputeFilter 12->10, AvailabilityZoneFilter 10->10, RamFilter 10->0"));
	/* 6. Anti-affinity with a member on n01: the next goes to n02. */
	const char *members[] = {"m1"}, *on_n01[] = {"m1"};
	h[1].instance_uuids = on_n01;
	h[1].n_instance_uuids = 1;
	req = fixture_request();
	req.group_policy = SCHEDULER_GROUP_ANTI_AFFINITY;
	req.group_members = members;
	req.n_group_members = 1;
	assert_int_equal(pick(&cfg, &req, h, 12), 2);
	/* 7. different_host m1 says the same; same_host m1 says n01. */
	req.group_policy = SCHEDULER_GROUP_NONE;
	req.different_host = members;
	req.n_different_host = 1;
	assert_int_equal(pick(&cfg, &req, h, 12), 2);
	req.n_different_host = 0;
	req.same_host = members;
	req.n_same_host = 1;
	assert_int_equal(pick(&cfg, &req, h, 12), 1);
	/* 8. Load matters: make n01 busy and the utilisation weigher heavy, n02 wins. */
	req.n_same_host = 0;
	h[1].cpu_load = 1.0;
	h[1].memory_pressure = 0.9;
	cfg.multipliers[SCHEDULER_WEIGHER_UTILISATION] = 5.0;
	assert_int_equal(pick(&cfg, &req, h, 12), 2);
	json_decref(avx);
	json_decref(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_ram_weigher),
		cmocka_unit_test(test_cpu_disk_weighers),
		cmocka_unit_test(test_num_instances_weigher),
		cmocka_unit_test(test_utilisation_weigher),
		cmocka_unit_test(test_soft_group_weighers),
		cmocka_unit_test(test_aggregate_multiplier),
		cmocka_unit_test(test_choice_and_alternates),
		cmocka_unit_test(test_no_valid_host),
		cmocka_unit_test(test_subset_randomness),
		cmocka_unit_test(test_scenario_twelve_hosts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
