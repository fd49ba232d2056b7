/* The simulated workload (sim_hosts.h). Sizes are spread with different
 * moduli so that size, load, zone, aggregate and CPU model do not move
 * together. */
#include "cloud/scheduler/sim_hosts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char sim_hosts__filters[] = "ComputeFilter, AvailabilityZoneFilter, RamFilter, CoreFilter, DiskFilter,"
				  " ComputeCapabilitiesFilter, AggregateInstanceExtraSpecsFilter,"
				  " ImagePropertiesFilter, ServerGroupAntiAffinityFilter, NumInstancesFilter";
const char sim_hosts__weighers[] = "RAMWeigher, CPUWeigher, DiskWeigher, UtilisationWeigher";

void sim_hosts__host(size_t i, struct sim_hosts_host *out)
{
	int64_t size = 1 + (int64_t)(i * 7 % 8); /* 1..8: 16 to 128 vCPUs */
	*out = (struct sim_hosts_host){
		.enabled = i % 97 != 0, .up = i % 89 != 0,
		.zone = (unsigned)(i % SIM_HOSTS_ZONES), .ssd = i % 2 == 0,
		.model = (unsigned)(i / 2 % SIM_HOSTS_MODELS),
		.vcpus = 16 * size, .ram_mb = 16 * size * 2048 * (1 + (int64_t)(i % 4)),
		.disk_gb = 500 * (1 + (int64_t)(i * 3 % 8)),
		.instances = (int64_t)(i % 5), .instance_vcpus = 1 + (int64_t)(i % 4),
		.instance_ram_mb = 2048 << (i % 3), .instance_disk_gb = 20 + (int64_t)(i % 7) * 10,
		.cpu_load = (double)(i % 100) / 100.0, .memory_pressure = (double)(i % 10) / 20.0,
	};
}

json_t *sim_hosts__cpu_info(unsigned model)
{
	static const char *const base[] = {"sse4.2", "aes", "pclmulqdq", "ssse3", "cx16", "pcid", "sse4.1",
					   "movbe", "popcnt", "xsave", "osxsave", "rdrand", "fsgsbase", "smep",
					   "erms", "invpcid", "f16c", "bmi1"};
	json_t *features = json_array();
	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		json_array_append_new(features, json_string(base[i]));
	if (model % 2 == 0) { /* half the models have AVX */
		json_array_append_new(features, json_string("avx"));
		json_array_append_new(features, json_string("avx2"));
		json_array_append_new(features, json_string("fma"));
	}
	char name[32];
	snprintf(name, sizeof(name), "Model%u", model);
	return json_pack("{s:s,s:s,s:o}", "arch", "x86_64", "model", name, "features", features);
}

void sim_hosts__request(size_t r, const char *const zone_names[SIM_HOSTS_ZONES],
			struct scheduler_request *out)
{
	static const struct scheduler_kv specs[] = {{"aggregate_instance_extra_specs:" SIM_HOSTS_SSD_KEY, "true"},
						    {"capabilities:cpu_info:features", "<in> avx"}};
	*out = (struct scheduler_request){
		.vcpus = 1 + (int64_t)(r % 8), .ram_mb = 1024 << (r % 4), .root_gb = 10 + (int64_t)(r % 30),
		.extra_specs = specs, .n_extra_specs = 1 + r % 2,
		.availability_zone = r % 5 ? zone_names[r % SIM_HOSTS_ZONES] : NULL, .num_instances = 1,
	};
}

int sim_hosts__config(const char *filters, const char *weighers, struct scheduler_config *cfg,
		      struct st_err *err)
{
	static const char *const keys[] = {"enabled_filters", "weight_classes"}, *const opts[] = {"filters", "weighers"};
	const char *words[] = {filters, weighers};
	for (size_t i = 0; i < 2; i++) {
		if (!words[i])
			continue;
		if (strlen(words[i]) > 900 || strchr(words[i], '\n'))
			return err__fail(err, EINVAL, "--%s: at most 900 characters on one line", opts[i]);
		char text[1024];
		int len = snprintf(text, sizeof(text), "%s = %s\n", keys[i], words[i]);
		if (scheduler__config_parse(text, (size_t)len, cfg, err) < 0)
			return err__prefix(err, "--%s", opts[i]);
	}
	return 0;
}
