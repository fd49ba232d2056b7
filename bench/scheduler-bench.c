/* The filter scheduler alone (no database, no HTTP): decisions over N
 * simulated hosts, 10 filters and 4 weighers (issue 17's target: p99 <=
 * 20 ms at 10,000 hosts). The hosts and requests are sim_hosts.h's, the
 * workload `strata-cloud scheduler-sim` puts in the real database; here
 * the hosts share one capabilities object per CPU model, as host states
 * read from the database share them. Nothing is claimed: every request
 * sees the same hosts. Prints wall and CPU time per decision (CPU time is
 * what counts on a loaded machine).
 *   scheduler-bench [--hosts N] [--requests R] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cloud/scheduler/scheduler.h"
#include "cloud/scheduler/sim_hosts.h"

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
	json_t *models[SIM_HOSTS_MODELS];
	for (unsigned m = 0; m < SIM_HOSTS_MODELS; m++)
		models[m] = json_pack("{s:o}", "cpu_info", sim_hosts__cpu_info(m));
	static const char *const zones[SIM_HOSTS_ZONES] = {"az1", "az2", "az3"};
	struct scheduler_kv ssd_md[] = {{SIM_HOSTS_SSD_KEY, "true"}}, hdd_md[] = {{SIM_HOSTS_SSD_KEY, "false"}};
	struct scheduler_aggregate aggs[] = {{"ssd", ssd_md, 1}, {"hdd", hdd_md, 1}};
	static const struct scheduler_instance_kind kvm = {"x86_64", "kvm", "hvm"};
	struct scheduler_host *h = calloc(n, sizeof(*h));
	char (*names)[32] = calloc(n, sizeof(*names));
	if (!h || !names)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct sim_hosts_host s;
		sim_hosts__host(i, &s);
		snprintf(names[i], sizeof(names[i]), "host-%05zu", i);
		h[i] = (struct scheduler_host){
			.name = names[i], .enabled = s.enabled, .up = s.up,
			.availability_zone = zones[s.zone], .aggregates = &aggs[s.ssd ? 0 : 1], .n_aggregates = 1,
			.vcpus_total = s.vcpus, .vcpus_used = s.instances * s.instance_vcpus,
			.ram_total_mb = s.ram_mb, .ram_used_mb = s.instances * s.instance_ram_mb,
			.disk_total_gb = s.disk_gb, .disk_used_gb = s.instances * s.instance_disk_gb,
			.capabilities = models[s.model], .num_instances = s.instances,
			.hypervisor_type = "strata-vm", .hypervisor_version = 7002000,
			.supported_instances = &kvm, .n_supported_instances = 1,
			.cpu_load = s.cpu_load, .memory_pressure = s.memory_pressure,
		};
	}
	struct scheduler_config cfg;
	struct st_err err;
	scheduler__config_default(&cfg);
	if (sim_hosts__config(sim_hosts__filters, sim_hosts__weighers, &cfg, &err) < 0) {
		err__print(&err);
		return 1;
	}
	double *wall = calloc(requests, sizeof(double)), *cpu = calloc(requests, sizeof(double));
	struct scheduler_selection sel;
	size_t placed = 0;
	double start = seconds(CLOCK_MONOTONIC);
	for (size_t r = 0; r < requests; r++) {
		struct scheduler_request req;
		sim_hosts__request(r, zones, &req);
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
	for (unsigned m = 0; m < SIM_HOSTS_MODELS; m++)
		json_decref(models[m]);
	free(h);
	free(names);
	free(wall);
	free(cpu);
	return 0;
}
