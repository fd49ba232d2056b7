/* Simulated hosts and requests for measuring the scheduler: what host i
 * and request r of a simulation are, deterministic in i and r, so that the
 * in-memory bench (bench/scheduler-bench.c) and `strata-cloud
 * scheduler-sim` (rows in the real database) place the same workload.
 * Hosts vary in size, existing load, zone, aggregate (ssd or hdd), CPU
 * model (8 models with 20-odd features, half with AVX), heartbeat load,
 * enabled/up; requests vary in flavor, ask the ssd aggregate, AVX half the
 * time and a zone most of the time. */
#ifndef STRATA_CLOUD_SCHEDULER_SIM_HOSTS_H
#define STRATA_CLOUD_SCHEDULER_SIM_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "cloud/scheduler/scheduler.h"

#define SIM_HOSTS_MODELS 8
#define SIM_HOSTS_ZONES 3
/* The aggregate metadata key a host's disk kind is under (values "true"/"false"). */
#define SIM_HOSTS_SSD_KEY "ssd"

struct sim_hosts_host {
	bool enabled, up;
	unsigned zone;  /* 0 .. SIM_HOSTS_ZONES - 1 */
	bool ssd;       /* in the ssd aggregate, else the hdd one */
	unsigned model; /* 0 .. SIM_HOSTS_MODELS - 1: sim_hosts__cpu_info() */
	int64_t vcpus, ram_mb, disk_gb;
	/* What it holds already: instances, each of these sizes. */
	int64_t instances, instance_vcpus, instance_ram_mb, instance_disk_gb;
	double cpu_load, memory_pressure; /* 0..1, the heartbeat's */
};

void sim_hosts__host(size_t i, struct sim_hosts_host *out);

/* {"arch": "x86_64", "model": "ModelN", "features": [...]} (a new reference). */
json_t *sim_hosts__cpu_info(unsigned model);

/* Request r (one instance). Its extra specs and zone point into static
 * storage; zone_names[z] is what zone z is called where the hosts are. */
void sim_hosts__request(size_t r, const char *const zone_names[SIM_HOSTS_ZONES],
			struct scheduler_request *out);

/* The words of issue 17's target configuration: 10 filters (ComputeFilter,
 * AvailabilityZone, Ram, Core, Disk, ComputeCapabilities,
 * AggregateInstanceExtraSpecs, ImageProperties, ServerGroupAntiAffinity,
 * NumInstances) and 4 weighers (RAM, CPU, disk, utilisation). */
extern const char sim_hosts__filters[], sim_hosts__weighers[];
/* Sets cfg's filters and/or weighers (the configuration file's
 * comma-separated names; NULL: cfg's stay). */
int sim_hosts__config(const char *filters, const char *weighers, struct scheduler_config *cfg,
		      struct st_err *err);

#endif
