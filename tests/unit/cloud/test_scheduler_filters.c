/* The scheduler's filters, one test each: which hosts pass for which request. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cloud/scheduler/scheduler.h"
#include "sched_fixture.h"

static void test_compute_filter(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].enabled = false;
	h[1].up = false;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_COMPUTE);
	struct scheduler_request req = fixture_request();
	assert_int_equal(passing(&cfg, &req, h, 3), 0x4);
}

static void test_availability_zone_filter(void **state)
{
	(void)state;
	struct scheduler_kv az2[] = {{"availability_zone", "az2"}};
	struct scheduler_kv other[] = {{"ssd", "true"}};
	struct scheduler_aggregate agg_az2 = {"agg-az2", az2, 1}, agg_other = {"agg-ssd", other, 1};
	struct scheduler_host h[4] = {fixture_host("a"), fixture_host("b"), fixture_host("c"), fixture_host("d")};
	h[0].availability_zone = "az1";
	h[1].aggregates = &agg_az2; /* zone from its aggregate */
	h[1].n_aggregates = 1;
	h[2].aggregates = &agg_other; /* no zone anywhere: the default zone "nova" */
	h[2].n_aggregates = 1;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_AVAILABILITY_ZONE);
	struct scheduler_request req = fixture_request();
	assert_int_equal(passing(&cfg, &req, h, 4), 0xf); /* no zone asked: all */
	req.availability_zone = "az1";
	assert_int_equal(passing(&cfg, &req, h, 4), 0x1);
	req.availability_zone = "az2";
	assert_int_equal(passing(&cfg, &req, h, 4), 0x2);
	req.availability_zone = "nova";
	assert_int_equal(passing(&cfg, &req, h, 4), 0xc);
	snprintf(cfg.default_availability_zone, sizeof(cfg.default_availability_zone), "elsewhere");
	assert_int_equal(passing(&cfg, &req, h, 4), 0x0);
}

static void test_ram_filter(void **state)
{
	(void)state;
	struct scheduler_host h[4] = {fixture_host("a"), fixture_host("b"), fixture_host("c"), fixture_host("d")};
	for (int i = 0; i < 4; i++) {
		h[i].ram_total_mb = 1000;
		h[i].ram_used_mb = 1000;
	}
	h[0].ram_allocation_ratio = 1.5; /* capacity 1500: 500 left */
	h[1].ram_allocation_ratio = 1.5;
	h[1].ram_reserved_mb = 200; /* capacity (1000-200)*1.5 = 1200: 200 left */
	h[2].ram_used_mb = 0;       /* the configuration's ratio 1.0: 1000 left */
	h[3].ram_allocation_ratio = 10; /* 9000 left, but one instance never exceeds the total */
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_RAM);
	struct scheduler_request req = fixture_request();
	req.ram_mb = 500;
	assert_int_equal(passing(&cfg, &req, h, 4), 0xd);
	req.ram_mb = 501;
	assert_int_equal(passing(&cfg, &req, h, 4), 0xc);
	req.ram_mb = 1001;
	assert_int_equal(passing(&cfg, &req, h, 4), 0x0);
	req.ram_mb = 200;
	assert_int_equal(passing(&cfg, &req, h, 4), 0xf);
	cfg.ram_allocation_ratio = 0.5; /* host c follows the configuration */
	req.ram_mb = 501;
	assert_int_equal(passing(&cfg, &req, h, 4), 0x8);
}

static void test_core_filter(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].vcpus_total = 4;
	h[0].vcpus_used = 15; /* default ratio 4.0: capacity 16 */
	h[1].vcpus_total = 4;
	h[1].vcpus_used = 4;
	h[1].cpu_allocation_ratio = 1.0;
	h[2].vcpus_total = 2; /* 8 vCPUs of room, but a 3-vCPU guest cannot fit 2 cores */
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_CORE);
	struct scheduler_request req = fixture_request();
	req.vcpus = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x5);
	req.vcpus = 2;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x4);
	req.vcpus = 3;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x0);
}

static void test_disk_filter(void **state)
{
	(void)state;
	struct scheduler_host h[2] = {fixture_host("a"), fixture_host("b")};
	h[0].disk_total_gb = 20;
	h[0].disk_used_gb = 10;
	h[1].disk_total_gb = 20;
	h[1].disk_used_gb = 8;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_DISK);
	struct scheduler_request req = fixture_request();
	req.root_gb = 10;
	assert_int_equal(passing(&cfg, &req, h, 2), 0x3);
	req.swap_mb = 1; /* swap counts in whole GiB, rounded up: 11 */
	assert_int_equal(passing(&cfg, &req, h, 2), 0x2);
	req.ephemeral_gb = 2; /* 13 */
	assert_int_equal(passing(&cfg, &req, h, 2), 0x0);
	req.boot_from_volume = true; /* the root disk is a volume: 3 */
	assert_int_equal(passing(&cfg, &req, h, 2), 0x3);
}

static void test_num_instances_filter(void **state)
{
	(void)state;
	struct scheduler_host h[2] = {fixture_host("a"), fixture_host("b")};
	h[0].num_instances = 2;
	h[1].num_instances = 1;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_NUM_INSTANCES);
	cfg.max_instances_per_host = 2;
	struct scheduler_request req = fixture_request();
	assert_int_equal(passing(&cfg, &req, h, 2), 0x2);
	/* Two instances in one request: b takes one and is then full too. */
	req.num_instances = 2;
	assert_int_equal(pick(&cfg, &req, h, 2), -1);
	assert_int_equal(last_err.errnum, ENOSPC);
}

static void test_same_and_different_host(void **state)
{
	(void)state;
	const char *on_a[] = {"u1", "u2"}, *on_b[] = {"u3"};
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].instance_uuids = on_a;
	h[0].n_instance_uuids = 2;
	h[1].instance_uuids = on_b;
	h[1].n_instance_uuids = 1;
	struct scheduler_request req = fixture_request();
	const char *hint[] = {"u3", "u2"};
	req.same_host = hint;
	req.n_same_host = 2;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_SAME_HOST);
	assert_int_equal(passing(&cfg, &req, h, 3), 0x3);
	req.n_same_host = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x2);
	cfg = fixture_only_filter(SCHEDULER_FILTER_DIFFERENT_HOST);
	req.different_host = hint;
	req.n_different_host = 2;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x4);
	req.n_different_host = 0; /* no hint: every host */
	assert_int_equal(passing(&cfg, &req, h, 3), 0x7);
}

static void test_group_anti_affinity(void **state)
{
	(void)state;
	const char *on_a[] = {"m1", "x"};
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	h[0].instance_uuids = on_a;
	h[0].n_instance_uuids = 2;
	struct scheduler_config cfg = fixture_only_filter(SCHEDULER_FILTER_GROUP_ANTI_AFFINITY);
	struct scheduler_request req = fixture_request();
	const char *members[] = {"m1"};
	req.group_policy = SCHEDULER_GROUP_ANTI_AFFINITY;
	req.group_members = members;
	req.n_group_members = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x6);
	req.max_server_per_host = 2;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x7);
	/* A host the group lists holds a member even without uuids. */
	const char *group_hosts[] = {"b"};
	req.max_server_per_host = 0;
	req.group_hosts = group_hosts;
	req.n_group_hosts = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x4);
	/* Two more in one request: c takes one, then nothing is left. */
	req.num_instances = 2;
	assert_int_equal(pick(&cfg, &req, h, 3), -1);
	/* Three new members on three empty hosts: one each, a fourth finds none. */
	struct scheduler_host empty[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	struct scheduler_request fresh = fixture_request();
	fresh.group_policy = SCHEDULER_GROUP_ANTI_AFFINITY;
	fresh.num_instances = 3;
	struct scheduler_selection sel[4];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &fresh, empty, 3, sel, &err), 0);
	unsigned used = 0;
	for (int i = 0; i < 3; i++)
		used |= 1u << sel[i].hosts[0];
	assert_int_equal(used, 0x7);
	fresh.num_instances = 4;
	assert_int_equal(scheduler__select(&cfg, &fresh, empty, 3, sel, &err), -1);
	assert_non_null(strstr(err.msg, "No valid host was found"));
	/* Without a group policy the filter lets all through. */
	req.group_policy = SCHEDULER_GROUP_NONE;
	req.num_instances = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x7);
}

static void test_group_affinity(void **state)
{
	(void)state;
	struct scheduler_host h[3] = {fixture_host("a"), fixture_host("b"), fixture_host("c")};
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	cfg.filters[0] = SCHEDULER_FILTER_GROUP_AFFINITY;
	cfg.filters[1] = SCHEDULER_FILTER_RAM;
	cfg.n_filters = 2;
	struct scheduler_request req = fixture_request();
	req.group_policy = SCHEDULER_GROUP_AFFINITY;
	/* An empty group goes anywhere; the RAM weigher would spread the next
	 * ones, affinity keeps all three on the first choice. */
	req.num_instances = 3;
	struct scheduler_selection sel[3];
	struct st_err err;
	assert_int_equal(scheduler__select(&cfg, &req, h, 3, sel, &err), 0);
	assert_int_equal(sel[1].hosts[0], sel[0].hosts[0]);
	assert_int_equal(sel[2].hosts[0], sel[0].hosts[0]);
	/* A group already on b stays on b. */
	const char *group_hosts[] = {"b"};
	req.group_hosts = group_hosts;
	req.n_group_hosts = 1;
	req.num_instances = 1;
	cfg.n_filters = 1;
	assert_int_equal(passing(&cfg, &req, h, 3), 0x2);
	/* When b is full, the group finds no host. */
	h[1].ram_used_mb = h[1].ram_total_mb;
	cfg.n_filters = 2;
	assert_int_equal(pick(&cfg, &req, h, 3), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compute_filter),
		cmocka_unit_test(test_availability_zone_filter),
		cmocka_unit_test(test_ram_filter),
		cmocka_unit_test(test_core_filter),
		cmocka_unit_test(test_disk_filter),
		cmocka_unit_test(test_num_instances_filter),
		cmocka_unit_test(test_same_and_different_host),
		cmocka_unit_test(test_group_anti_affinity),
		cmocka_unit_test(test_group_affinity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
