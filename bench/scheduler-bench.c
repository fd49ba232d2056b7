/* The filter scheduler alone (no database, no HTTP): decisions over N
 * simulated hosts, 10 filters and 4 weighers (issue 17's target: p99 <=
 * 20 ms at 10,000 hosts). Hosts vary in room, zone, aggregate, CPU model
 * (8 models with 20-odd features, shared objects as a host list from the
 * database would share them when interned) and load; requests vary in
 * flavor and ask for AVX half the time. Prints wall and CPU time per
 * decision (CPU time is what counts on a loaded machine).
 *   scheduler-bench [--hosts N] [--requests R] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cloud/scheduler/scheduler.h"

#define MODELS 8

static double seconds(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static json_t *cpu_model(int m)
{
	static const char *const base[] = {"sse4.2", "aes", "pclmulqdq", "ssse3", "cx16", "pcid", "sse4.1",
					   "movbe", "popcnt", "xsave", "osxsave", "rdrand", "fsgsbase", "smep",
					   "erms", "invpcid", "f16c", "bmi1"};
	json_t *features = json_array();
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		json_array_append_new(features, json_string(base[i]));
	if (m % 2 == 0) { /* half the models have AVX */
		json_array_append_new(features, json_string("avx"));
		json_array_append_new(features, json_string("avx2"));
		json_array_append_new(features, json_string("fma"));
	}
	char model[32];
	snprintf(model, sizeof(model), "Model%d", m);
	return json_pack("{s:{s:s,s:s,s:o}}", "cpu_info", "arch", "x86_64", "model", model, "features", features);
}

static void report(const char *what, double *t, size_t n)
{
	qsort(t, n, sizeof(*t), by_value);
	printf("  %s per decision: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what, t[n / 2] * 1e3,
	       t[n * 99 / 100] * 1e3, t[n - 1] * 1e3);
}

int main(int argc, char **argv)
{
	size_t n = 10000, requests = 200;
	static const struct option opts[] = {{"hosts", required_argument, NULL, 'n'},
					     {"requests", required_argument, NULL, 'r'}, {0}};
	for (int o; (o = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
		if (o == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (o == 'r')
			requests = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (n < 1 || requests < 1) {
		fprintf(stderr, "scheduler-bench: --hosts and --requests must be at least 1\n");
		return 2;
	}
	json_t *models[MODELS];
	for (int m = 0; m < MODELS; m++)
		models[m] = cpu_model(m);
	struct scheduler_kv ssd_md[] = {{"ssd", "true"}}, hdd_md[] = {{"ssd", "false"}};
	struct scheduler_aggregate aggs[] = {{"ssd", ssd_md, 1}, {"hdd", hdd_md, 1}};
	struct scheduler_host *h = calloc(n, sizeof(*h));
	char (*names)[32] = calloc(n, sizeof(*names));
	if (!h || !names)
		return 1;
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "host-%05zu", i);
		h[i] = (struct scheduler_host){
			.name = names[i], .enabled = i % 97 != 0, .up = i % 89 != 0,
			.availability_zone = i % 3 ? "az1" : "az2",
			.aggregates = &aggs[i % 2], .n_aggregates = 1,
			.vcpus_total = 64, .vcpus_used = (int64_t)(i * 7 % 200),
			.ram_total_mb = 262144, .ram_used_mb = (int64_t)(i * 7919 % 250000),
			.disk_total_gb = 4000, .disk_used_gb = (int64_t)(i * 13 % 3900),
			.capabilities = models[i % MODELS], .num_instances = (int64_t)(i % 45),
			.hypervisor_type = "QEMU", .hypervisor_version = 7002000,
			.cpu_load = (double)(i % 100) / 100.0, .memory_pressure = (double)(i % 10) / 20.0,
		};
	}
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	static const enum scheduler_filter filters[] = {
		SCHEDULER_FILTER_COMPUTE, SCHEDULER_FILTER_AVAILABILITY_ZONE, SCHEDULER_FILTER_RAM,
		SCHEDULER_FILTER_CORE, SCHEDULER_FILTER_DISK, SCHEDULER_FILTER_COMPUTE_CAPABILITIES,
		SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS, SCHEDULER_FILTER_IMAGE_PROPERTIES,
		SCHEDULER_FILTER_GROUP_ANTI_AFFINITY, SCHEDULER_FILTER_NUM_INSTANCES};
	static const enum scheduler_weigher weighers[] = {SCHEDULER_WEIGHER_RAM, SCHEDULER_WEIGHER_CPU,
							  SCHEDULER_WEIGHER_DISK, SCHEDULER_WEIGHER_UTILISATION};
	memcpy(cfg.filters, filters, sizeof(filters));
	cfg.n_filters = sizeof(filters) / sizeof(filters[0]);
	memcpy(cfg.weighers, weighers, sizeof(weighers));
	cfg.n_weighers = sizeof(weighers) / sizeof(weighers[0]);
	double *wall = calloc(requests, sizeof(double)), *cpu = calloc(requests, sizeof(double));
	struct scheduler_kv specs[] = {{"aggregate_instance_extra_specs:ssd", "true"},
				       {"capabilities:cpu_info:features", "<in> avx"}};
	struct scheduler_selection sel;
	struct st_err err;
	size_t placed = 0;
	double start = seconds(CLOCK_MONOTONIC);
	for (size_t r = 0; r < requests; r++) {
		struct scheduler_request req = {.vcpus = 1 + (int64_t)(r % 8), .ram_mb = 1024 << (r % 4),
						.root_gb = 10 + (int64_t)(r % 30), .extra_specs = specs,
						.n_extra_specs = 1 + r % 2, .availability_zone = r % 5 ? "az1" : NULL,
						.num_instances = 1};
		double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_THREAD_CPUTIME_ID);
		placed += scheduler__select(&cfg, &req, h, n, &sel, &err) == 0;
		cpu[r] = seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
		wall[r] = seconds(CLOCK_MONOTONIC) - w0;
	}
	double total = seconds(CLOCK_MONOTONIC) - start;
	printf("scheduler-bench: %zu hosts, %zu filters, %zu weighers, %zu requests (%zu placed)\n", n,
	       cfg.n_filters, cfg.n_weighers, requests, placed);
	printf("  %.1f decisions per second (wall)\n", (double)requests / total);
	report("wall", wall, requests);
	report("CPU ", cpu, requests);
	for (int m = 0; m < MODELS; m++)
		json_decref(models[m]);
	free(h);
	free(names);
	free(wall);
	free(cpu);
	return 0;
}
