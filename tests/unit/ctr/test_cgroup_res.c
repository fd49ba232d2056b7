/* linux.resources → cgroup files, checked on directory trees standing in for
 * the kernel's (the v2 conversions cannot be exercised live on this host). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr/cgroup.h"
#include "ctr/config.h"

static char base[] = "/tmp/strata-cg-test-XXXXXX";

static void touch(const char *dir, const char *file)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fclose(f);
}

static void expect(const char *dir, const char *file, const char *want)
{
	char p[512], buf[256] = "";
	snprintf(p, sizeof(p), "%s/%s", dir, file);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	assert_string_equal(buf, want);
}

static struct ctr_config *resources(const char *json)
{
	struct ctr_config *cfg = config__new_empty();
	struct st_err err = {0};
	cfg->json = json_loads(json, 0, NULL);
	assert_non_null(cfg->json);
	if (config__parse_resources(cfg, cfg->json, &err) < 0)
		fail_msg("%s", err.msg);
	return cfg;
}

static void add(struct ctr_cgroup *cg, const char *name, const char *sub)
{
	char d[512];
	snprintf(d, sizeof(d), "%s/%s", base, sub);
	mkdir(d, 0755);
	cg->h[cg->n].name = strdup(name);
	cg->h[cg->n].dir = strdup(d);
	cg->h[cg->n].top = NULL;
	cg->n++;
}

static void v2_conversions(void **state)
{
	(void)state;
	struct ctr_cgroup cg = {.v2 = true};
	add(&cg, "unified", "v2");
	const char *files[] = {"memory.max", "memory.swap.max", "memory.low", "cpu.weight", "cpu.max",
			       "pids.max", "io.max", "cpuset.cpus", "cgroup.max.depth"};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(cg.h[0].dir, files[i]);
	struct ctr_config *cfg = resources(
		"{\"memory\":{\"limit\":1048576,\"swap\":3145728,\"reservation\":4096},"
		"\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"0-1\"},"
		"\"pids\":{\"limit\":0},"
		"\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1000}]},"
		"\"unified\":{\"cgroup.max.depth\":\"3\"}}");
	struct st_err err = {0};
	if (cgroup__apply(&cg, &cfg->res, &err) < 0)
		fail_msg("%s", err.msg);
	const char *d = cg.h[0].dir;
	expect(d, "memory.max", "1048576");
	expect(d, "memory.swap.max", "2097152"); /* OCI swap counts memory too */
	expect(d, "memory.low", "4096");
	expect(d, "cpu.weight", "39");           /* 1 + (1024-2)*9999/262142 */
	expect(d, "cpu.max", "50000 100000");
	expect(d, "pids.max", "max");            /* 0 means no limit */
	expect(d, "io.max", "8:0 rbps=1000");
	expect(d, "cpuset.cpus", "0-1");
	expect(d, "cgroup.max.depth", "3");
	config__free(cfg);
	cgroup__free(&cg);
}

static void v1_files_and_device_rules(void **state)
{
	(void)state;
	struct ctr_cgroup cg = {0};
	add(&cg, "memory", "memory");
	add(&cg, "cpu,cpuacct", "cpu");
	add(&cg, "pids", "pids");
	add(&cg, "devices", "devices");
	add(&cg, "name=systemd", "systemd");
	touch(cg.h[0].dir, "memory.limit_in_bytes");
	touch(cg.h[0].dir, "memory.memsw.limit_in_bytes");
	touch(cg.h[1].dir, "cpu.cfs_quota_us");
	touch(cg.h[1].dir, "cpu.cfs_period_us");
	touch(cg.h[2].dir, "pids.max");
	touch(cg.h[3].dir, "devices.deny");
	touch(cg.h[3].dir, "devices.allow");
	assert_string_equal(cgroup__dir(&cg, "cpuacct"), cg.h[1].dir);
	assert_string_equal(cgroup__dir(&cg, "name=systemd"), cg.h[4].dir);
	assert_null(cgroup__dir(&cg, "freezer"));
	struct ctr_config *cfg = resources(
		"{\"memory\":{\"limit\":2097152,\"swap\":4194304},\"cpu\":{\"quota\":-1,\"period\":20000},"
		"\"pids\":{\"limit\":12},\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
		"{\"allow\":true,\"type\":\"c\",\"major\":10,\"access\":\"r\"}]}");
	struct st_err err = {0};
	if (cgroup__apply(&cg, &cfg->res, &err) < 0)
		fail_msg("%s", err.msg);
	expect(cg.h[0].dir, "memory.limit_in_bytes", "2097152");
	expect(cg.h[0].dir, "memory.memsw.limit_in_bytes", "4194304");
	expect(cg.h[1].dir, "cpu.cfs_quota_us", "-1");
	expect(cg.h[1].dir, "cpu.cfs_period_us", "20000");
	expect(cg.h[2].dir, "pids.max", "12");
	expect(cg.h[3].dir, "devices.deny", "a");
	/* files, not the kernel: each write replaces the last */
	expect(cg.h[3].dir, "devices.allow", "c 10:* r");
	config__free(cfg);
	/* unified keys are refused on v1, and a missing controller is named */
	cfg = resources("{\"unified\":{\"memory.high\":\"1\"}}");
	assert_int_equal(cgroup__apply(&cg, &cfg->res, &err), -1);
	assert_non_null(strstr(err.msg, "cgroup v2"));
	config__free(cfg);
	cfg = resources("{\"blockIO\":{\"weight\":10}}");
	assert_int_equal(cgroup__apply(&cg, &cfg->res, &err), -1);
	assert_non_null(strstr(err.msg, "blkio"));
	config__free(cfg);
	cgroup__free(&cg);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v2_conversions),
		cmocka_unit_test(v1_files_and_device_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
