/* Nova's filter scheduler as a library: a request spec and the states of
 * the hosts in, for each requested instance an ordered list of hosts out
 * (the chosen one first, then alternates to retry a failed build on). No
 * HTTP and no database in here: the compute service reads host states from
 * its tables, calls scheduler__select(), and claims the chosen host in the
 * database itself.
 *
 * Per instance: every enabled filter, in the configured order, drops the
 * hosts it refuses; every enabled weigher gives each remaining host a raw
 * weight, the raw weights are normalized to 0..1 across the hosts (Nova's
 * nova.weights.normalize: (w - min) / (max - min), all equal -> 0), then
 * multiplied by the weigher's multiplier and summed; the highest total wins
 * (ties: the earlier host in the input). The chosen host's resources are
 * consumed in the scheduler's working copy (the caller's arrays are not
 * written), so the next instance of the same request sees them. The whole
 * request fails when one instance finds no host. See docs/cloud.md
 * ("Scheduler") for each filter and weigher. */
#ifndef STRATA_CLOUD_SCHEDULER_SCHEDULER_H
#define STRATA_CLOUD_SCHEDULER_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

/* The filters and weighers, in the order of their names in the configuration. */
enum scheduler_filter {
	SCHEDULER_FILTER_COMPUTE,               /* ComputeFilter */
	SCHEDULER_FILTER_AVAILABILITY_ZONE,     /* AvailabilityZoneFilter */
	SCHEDULER_FILTER_RAM,                   /* RamFilter */
	SCHEDULER_FILTER_CORE,                  /* CoreFilter */
	SCHEDULER_FILTER_DISK,                  /* DiskFilter */
	SCHEDULER_FILTER_COMPUTE_CAPABILITIES,  /* ComputeCapabilitiesFilter */
	SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS, /* AggregateInstanceExtraSpecsFilter */
	SCHEDULER_FILTER_IMAGE_PROPERTIES,      /* ImagePropertiesFilter */
	SCHEDULER_FILTER_GROUP_AFFINITY,        /* ServerGroupAffinityFilter */
	SCHEDULER_FILTER_GROUP_ANTI_AFFINITY,   /* ServerGroupAntiAffinityFilter */
	SCHEDULER_FILTER_SAME_HOST,             /* SameHostFilter */
	SCHEDULER_FILTER_DIFFERENT_HOST,        /* DifferentHostFilter */
	SCHEDULER_FILTER_NUM_INSTANCES,         /* NumInstancesFilter */
	SCHEDULER_FILTER_COUNT,
};

enum scheduler_weigher {
	SCHEDULER_WEIGHER_RAM,                /* RAMWeigher: free RAM */
	SCHEDULER_WEIGHER_CPU,                /* CPUWeigher: free vCPUs */
	SCHEDULER_WEIGHER_DISK,               /* DiskWeigher: free disk */
	SCHEDULER_WEIGHER_NUM_INSTANCES,      /* NumInstancesWeigher: instances */
	SCHEDULER_WEIGHER_UTILISATION,        /* UtilisationWeigher: idle CPU + free memory */
	SCHEDULER_WEIGHER_SOFT_AFFINITY,      /* ServerGroupSoftAffinityWeigher */
	SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY, /* ServerGroupSoftAntiAffinityWeigher */
	SCHEDULER_WEIGHER_COUNT,
};

#define SCHEDULER_MAX_ATTEMPTS 10
#define SCHEDULER_NAME_MAX 64

struct scheduler_config {
	enum scheduler_filter filters[SCHEDULER_FILTER_COUNT]; /* run in this order */
	size_t n_filters;
	enum scheduler_weigher weighers[SCHEDULER_WEIGHER_COUNT];
	size_t n_weighers;
	double multipliers[SCHEDULER_WEIGHER_COUNT]; /* indexed by enum scheduler_weigher */
	/* A host's ratio when it reports none (0): Nova's initial_*_allocation_ratio. */
	double cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio;
	int64_t max_instances_per_host;
	/* Choose at random among the best N (1: always the best; deterministic). */
	unsigned host_subset_size;
	uint64_t random_seed; /* for host_subset_size > 1; 0: from getrandom() */
	/* 1 selected + (max_attempts - 1) alternates per instance. */
	unsigned max_attempts;
	char default_availability_zone[SCHEDULER_NAME_MAX];
	char default_architecture[SCHEDULER_NAME_MAX]; /* image_properties_default_architecture */
};

/* Nova's defaults: enabled_filters = ComputeFilter, AvailabilityZoneFilter,
 * RamFilter, CoreFilter, DiskFilter (placement does those three in Nova),
 * ComputeCapabilitiesFilter, ImagePropertiesFilter,
 * ServerGroupAntiAffinityFilter, ServerGroupAffinityFilter, SameHostFilter,
 * DifferentHostFilter; all weighers with multipliers 1.0 except
 * NumInstancesWeigher 0.0; ratios cpu 4.0, ram 1.0, disk 1.0;
 * max_instances_per_host 50; host_subset_size 1; max_attempts 3; default
 * availability zone "nova". */
void scheduler__config_default(struct scheduler_config *cfg);

/* key = value lines over the defaults (docs/cloud.md lists the keys); '#'
 * and ';' start comments, "[filter_scheduler]" and "[scheduler]" section
 * lines are allowed (nova.conf's), anything else is an error naming the line. */
int scheduler__config_parse(const char *text, size_t len, struct scheduler_config *cfg, struct st_err *err);
int scheduler__config_load(const char *path, struct scheduler_config *cfg, struct st_err *err);

/* Names of the filters and weighers as the configuration spells them. */
const char *scheduler__filter_name(enum scheduler_filter f);
const char *scheduler__weigher_name(enum scheduler_weigher w);

struct scheduler_kv {
	const char *key;
	const char *value;
};

struct scheduler_aggregate {
	const char *name;
	const struct scheduler_kv *metadata; /* e.g. availability_zone, ssd=true */
	size_t n_metadata;
};

/* One (architecture, hypervisor type, VM mode) a host can run, Nova's supported_instances. */
struct scheduler_instance_kind {
	const char *arch;    /* x86_64, aarch64, ... */
	const char *hv_type; /* kvm, qemu, ... */
	const char *vm_mode; /* hvm, exe, ... */
};

struct scheduler_host {
	const char *name;
	bool enabled; /* the compute service is not disabled */
	bool up;      /* its heartbeat is recent */
	const char *availability_zone; /* NULL: from the aggregates, else the default zone */
	const struct scheduler_aggregate *aggregates;
	size_t n_aggregates;
	/* Resources. Capacity = (total - reserved) * ratio; a ratio of 0 takes the configuration's. */
	int64_t vcpus_total, vcpus_used, vcpus_reserved;
	int64_t ram_total_mb, ram_used_mb, ram_reserved_mb;
	int64_t disk_total_gb, disk_used_gb, disk_reserved_gb;
	double cpu_allocation_ratio, ram_allocation_ratio, disk_allocation_ratio;
	/* What ComputeCapabilitiesFilter reads past the fields above: an object,
	 * e.g. {"cpu_info": {"arch": "x86_64", "model": "Haswell", "features":
	 * ["avx", "sse4.2"]}, "stats": {...}}. A string met on the way down is
	 * parsed as JSON, as Nova does with its cpu_info text. May be NULL. */
	const json_t *capabilities;
	int64_t num_instances;
	const char *const *instance_uuids; /* the servers on it (groups, same/different host) */
	size_t n_instance_uuids;
	const char *hypervisor_type;  /* "QEMU", "kvm", ... */
	uint64_t hypervisor_version;  /* Nova's integer: 6002000 is 6.2.0 */
	const struct scheduler_instance_kind *supported_instances;
	size_t n_supported_instances;
	/* From the heartbeat: busy share of the CPUs and memory pressure, each
	 * 0..1 (above 1 is overloaded); negative: not known (weighed as fully loaded). */
	double cpu_load, memory_pressure;
};

enum scheduler_group_policy {
	SCHEDULER_GROUP_NONE,
	SCHEDULER_GROUP_AFFINITY,
	SCHEDULER_GROUP_ANTI_AFFINITY,
	SCHEDULER_GROUP_SOFT_AFFINITY,
	SCHEDULER_GROUP_SOFT_ANTI_AFFINITY,
};

struct scheduler_request {
	/* The flavor. The disk asked for is root_gb (0 when booting from a
	 * volume) + ephemeral_gb + swap_mb rounded up to GiB, as placement's DISK_GB. */
	int64_t vcpus, ram_mb, root_gb, ephemeral_gb, swap_mb;
	bool boot_from_volume;
	const struct scheduler_kv *extra_specs;
	size_t n_extra_specs;
	const struct scheduler_kv *image_properties; /* hw_architecture, img_hv_type, ... */
	size_t n_image_properties;
	const char *availability_zone; /* NULL: any */
	/* The server group (policy NONE: none): its members' uuids and the
	 * hosts they are on; max_server_per_host is anti-affinity's rule (0: 1). */
	enum scheduler_group_policy group_policy;
	const char *const *group_members;
	size_t n_group_members;
	const char *const *group_hosts;
	size_t n_group_hosts;
	int64_t max_server_per_host;
	/* Scheduler hints: instance uuids. */
	const char *const *same_host;
	size_t n_same_host;
	const char *const *different_host;
	size_t n_different_host;
	size_t num_instances; /* 0 is taken as 1; all or none are placed */
};

/* scheduler__select() keeps no state between calls and writes nothing but
 * out: calls may run in parallel over the same hosts. */
struct scheduler_selection {
	size_t hosts[SCHEDULER_MAX_ATTEMPTS]; /* indexes into the host array; [0] is the choice */
	size_t n_hosts;                       /* 1 + alternates */
	double weight;                        /* the chosen host's total weight */
};

/* The check the compute API applies when a flavor's extra spec is set:
 * Nova's key syntax (1 to 255 of [A-Za-z0-9-_:. ]) and a value of at most
 * 255 characters; for the keys this scheduler reads ("capabilities:...",
 * "aggregate_instance_extra_specs:..." and unscoped ones) the value must be
 * a well-formed requirement (extra_specs.h: operators with their operands,
 * numbers where numbers are compared). Other scopes (hw:, ...) are not the
 * scheduler's. Fails with EINVAL and the reason. */
int scheduler__validate_extra_spec(const char *key, const char *value, struct st_err *err);

/* Fills out[0 .. num_instances) (the caller's array). When an instance
 * finds no host it fails with ENOSPC and Nova's message "No valid host was
 * found. ..." followed by how many hosts each filter let through; bad
 * input fails with EINVAL. */
int scheduler__select(const struct scheduler_config *cfg, const struct scheduler_request *req,
		      const struct scheduler_host *hosts, size_t n_hosts, struct scheduler_selection *out,
		      struct st_err *err);

#endif
