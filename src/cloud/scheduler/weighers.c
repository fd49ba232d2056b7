/* Weighers as Nova's nova/scheduler/weights/: each gives a raw weight, the
 * raw weights are normalized across the hosts and scaled by the weigher's
 * multiplier (the configuration's, or the smallest "<name>_weight_multiplier"
 * in the host's aggregates' metadata, as Nova's get_weight_multiplier). */
#include "cloud/scheduler/weighers.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static const char *const multiplier_keys[SCHEDULER_WEIGHER_COUNT] = {
	[SCHEDULER_WEIGHER_RAM] = "ram_weight_multiplier",
	[SCHEDULER_WEIGHER_CPU] = "cpu_weight_multiplier",
	[SCHEDULER_WEIGHER_DISK] = "disk_weight_multiplier",
	[SCHEDULER_WEIGHER_NUM_INSTANCES] = "num_instances_weight_multiplier",
	[SCHEDULER_WEIGHER_UTILISATION] = "utilisation_weight_multiplier",
	[SCHEDULER_WEIGHER_SOFT_AFFINITY] = "soft_affinity_weight_multiplier",
	[SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY] = "soft_anti_affinity_weight_multiplier",
};

void weighers__normalize(double *w, size_t n, bool has_min, double min, bool has_max, double max)
{
	if (!n)
		return;
	double lo = w[0], hi = w[0];
	for (size_t i = 1; i < n; i++) {
		lo = w[i] < lo ? w[i] : lo;
		hi = w[i] > hi ? w[i] : hi;
	}
	if (has_min)
		lo = min;
	if (has_max)
		hi = max;
	for (size_t i = 0; i < n; i++)
		w[i] = lo == hi ? 0.0 : (w[i] - lo) / (hi - lo);
}

static double free_capacity(int64_t total, int64_t reserved, int64_t used, double host_ratio, double cfg_ratio)
{
	return filters__capacity(total, reserved, host_ratio, cfg_ratio) - (double)used;
}

/* Unknown (negative) load counts as a fully loaded host. */
static double load_share(double v)
{
	return v < 0 ? 1.0 : v;
}

double weighers__raw(enum scheduler_weigher w, const struct filter_request *fr, const struct host_state *hs)
{
	const struct scheduler_host *h = hs->h;
	const struct scheduler_config *cfg = fr->cfg;
	enum scheduler_group_policy policy = fr->req->group_policy;
	switch (w) {
	case SCHEDULER_WEIGHER_RAM:
		return free_capacity(h->ram_total_mb, h->ram_reserved_mb, hs->ram_used_mb, h->ram_allocation_ratio,
				     cfg->ram_allocation_ratio);
	case SCHEDULER_WEIGHER_CPU:
		return free_capacity(h->vcpus_total, h->vcpus_reserved, hs->vcpus_used, h->cpu_allocation_ratio,
				     cfg->cpu_allocation_ratio);
	case SCHEDULER_WEIGHER_DISK:
		return free_capacity(h->disk_total_gb, h->disk_reserved_gb, hs->disk_used_gb,
				     h->disk_allocation_ratio, cfg->disk_allocation_ratio);
	case SCHEDULER_WEIGHER_NUM_INSTANCES: return (double)hs->num_instances;
	case SCHEDULER_WEIGHER_UTILISATION:
		/* Headroom: the idle share of the CPUs plus the memory not under pressure. */
		return 2.0 - load_share(h->cpu_load) - load_share(h->memory_pressure);
	case SCHEDULER_WEIGHER_SOFT_AFFINITY:
		return policy == SCHEDULER_GROUP_SOFT_AFFINITY ? (double)hs->group_members : 0;
	case SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY:
		return policy == SCHEDULER_GROUP_SOFT_ANTI_AFFINITY ? -(double)hs->group_members : 0;
	case SCHEDULER_WEIGHER_COUNT: break;
	}
	return 0;
}

struct min_value {
	double min;
	bool any;
};

static bool take_min(const char *v, size_t len, void *arg)
{
	struct min_value *m = arg;
	char buf[64];
	double d;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (extra_specs__parse_number(buf, &d) && d == d) {
		m->min = m->any && m->min < d ? m->min : d;
		m->any = true;
	}
	return false;
}

void weighers__host_multipliers(const struct scheduler_config *cfg, const struct scheduler_host *h,
				double out[SCHEDULER_WEIGHER_COUNT])
{
	for (size_t w = 0; w < SCHEDULER_WEIGHER_COUNT; w++) {
		struct min_value m = {0};
		if (h->n_aggregates)
			filters__aggregate_values(h, multiplier_keys[w], take_min, &m, NULL);
		out[w] = m.any ? m.min : cfg->multipliers[w];
	}
}

/* RAM, CPU and disk weigh from 0 (Nova's minval = 0): a host with no room left weighs 0. */
static bool has_zero_floor(enum scheduler_weigher w)
{
	return w == SCHEDULER_WEIGHER_RAM || w == SCHEDULER_WEIGHER_CPU || w == SCHEDULER_WEIGHER_DISK;
}

void weighers__weigh(const struct filter_request *fr, struct host_state **hosts, size_t n, double *scratch)
{
	for (size_t i = 0; i < n; i++)
		hosts[i]->weight = 0;
	if (n <= 1)
		return;
	for (size_t k = 0; k < fr->cfg->n_weighers; k++) {
		enum scheduler_weigher w = fr->cfg->weighers[k];
		bool floor = has_zero_floor(w);
		for (size_t i = 0; i < n; i++) {
			double raw = weighers__raw(w, fr, hosts[i]);
			scratch[i] = floor && raw < 0 ? 0 : raw;
		}
		weighers__normalize(scratch, n, floor, 0, false, 0);
		for (size_t i = 0; i < n; i++)
			hosts[i]->weight += hosts[i]->multipliers[w] * scratch[i];
	}
}

const char *weighers__multiplier_key(enum scheduler_weigher w)
{
	return w < SCHEDULER_WEIGHER_COUNT ? multiplier_keys[w] : NULL;
}
