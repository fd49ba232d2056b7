/* libFuzzer: the scheduler's configuration parser. Whatever it accepts
 * must be a configuration the scheduler runs with (in range), and a
 * rejected file must leave the configuration as it was. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/scheduler/scheduler.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scheduler_config cfg, before;
	scheduler__config_default(&cfg);
	before = cfg;
	struct st_err err;
	if (scheduler__config_parse((const char *)data, size, &cfg, &err) < 0) {
		if (memcmp(&cfg, &before, sizeof(cfg)) || !err.msg[0])
			abort();
		return 0;
	}
	if (cfg.max_attempts < 1 || cfg.max_attempts > SCHEDULER_MAX_ATTEMPTS || cfg.host_subset_size < 1 ||
	    cfg.n_filters > SCHEDULER_FILTER_COUNT || cfg.n_weighers > SCHEDULER_WEIGHER_COUNT ||
	    !(cfg.cpu_allocation_ratio > 0) || !(cfg.ram_allocation_ratio > 0) ||
	    !(cfg.disk_allocation_ratio > 0) || cfg.max_instances_per_host < 1 ||
	    !cfg.default_availability_zone[0])
		abort();
	/* And the scheduler takes it: one host, one request. */
	struct scheduler_host h = {.name = "h", .enabled = true, .up = true, .vcpus_total = 4, .ram_total_mb = 4096,
				   .disk_total_gb = 40};
	struct scheduler_request req = {.vcpus = 1, .ram_mb = 512, .root_gb = 1};
	struct scheduler_selection sel;
	if (scheduler__select(&cfg, &req, &h, 1, &sel, &err) < 0 && err.errnum != ENOSPC)
		abort();
	return 0;
}
