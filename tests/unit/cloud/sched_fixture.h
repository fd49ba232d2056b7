/* Builders shared by the scheduler's unit tests: hosts with plenty of room,
 * a one-instance request, and pick() that returns the chosen host's index. */
#ifndef STRATA_TESTS_SCHED_FIXTURE_H
#define STRATA_TESTS_SCHED_FIXTURE_H

#include <stdio.h>
#include <string.h>

#include "cloud/scheduler/scheduler.h"

static inline struct scheduler_host fixture_host(const char *name)
{
	return (struct scheduler_host){
		.name = name,
		.enabled = true,
		.up = true,
		.vcpus_total = 16,
		.ram_total_mb = 32768,
		.disk_total_gb = 500,
		.cpu_load = 0.1,
		.memory_pressure = 0.1,
	};
}

static inline struct scheduler_request fixture_request(void)
{
	return (struct scheduler_request){.vcpus = 1, .ram_mb = 512, .root_gb = 1, .num_instances = 1};
}

/* A configuration with exactly one filter and no weighers (ties: input order). */
static inline struct scheduler_config fixture_only_filter(enum scheduler_filter f)
{
	struct scheduler_config cfg;
	scheduler__config_default(&cfg);
	cfg.filters[0] = f;
	cfg.n_filters = 1;
	cfg.n_weighers = 0;
	return cfg;
}

/* The chosen host's index, or -1 when the request fails (the error in last_err). */
static struct st_err last_err;
static inline int pick(const struct scheduler_config *cfg, const struct scheduler_request *req,
		       const struct scheduler_host *hosts, size_t n)
{
	struct scheduler_selection sel[16];
	memset(&last_err, 0, sizeof(last_err));
	if (scheduler__select(cfg, req, hosts, n, sel, &last_err) < 0)
		return -1;
	return (int)sel[0].hosts[0];
}

/* Which hosts a filter lets through, as a bit mask (host i is bit i): each
 * host alone in the list, so the answer does not depend on the others. */
static inline unsigned passing(const struct scheduler_config *cfg, const struct scheduler_request *req,
			       const struct scheduler_host *hosts, size_t n)
{
	unsigned mask = 0;
	for (size_t i = 0; i < n; i++)
		if (pick(cfg, req, &hosts[i], 1) == 0)
			mask |= 1u << i;
	return mask;
}

#endif
