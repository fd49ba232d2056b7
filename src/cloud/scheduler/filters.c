/* The filters that read a host's fields (compute, zone, resources, groups,
 * hints, instance count) and the dispatch; the extra-spec filters are in
 * filters_specs.c, the image one in filters_image.c. */
#include "cloud/scheduler/filters.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int filters__prepare(struct filter_request *fr, const struct scheduler_config *cfg,
		     const struct scheduler_request *req, struct st_err *err)
{
	*fr = (struct filter_request){.cfg = cfg, .req = req};
	int64_t root = req->boot_from_volume ? 0 : req->root_gb;
	fr->disk_gb = root + req->ephemeral_gb + (req->swap_mb + 1023) / 1024;
	fr->group_has_hosts = req->n_group_hosts > 0;
	fr->text = calloc(1, sizeof(*fr->text));
	if (!fr->text)
		return err__fail(err, ENOMEM, "scheduler: out of memory");
	if (req->n_extra_specs) {
		fr->specs = calloc(req->n_extra_specs, sizeof(*fr->specs));
		if (!fr->specs)
			return err__fail(err, ENOMEM, "scheduler: out of memory");
	}
	for (size_t i = 0; i < req->n_extra_specs; i++) {
		const struct scheduler_kv *kv = &req->extra_specs[i];
		if (!kv->key || !kv->value) {
			filters__release(fr);
			return err__fail_class(err, EINVAL, "extra spec %zu has no key or no value", i);
		}
		if (filters__prepare_spec(&fr->specs[i], kv->key, kv->value, err) < 0) {
			filters__release(fr);
			return -1;
		}
		fr->n_specs = i + 1;
	}
	if (filters__prepare_image(fr, err) < 0) {
		filters__release(fr);
		return -1;
	}
	return 0;
}

void filters__release(struct filter_request *fr)
{
	for (size_t i = 0; i < fr->n_specs; i++) {
		extra_specs__free(&fr->specs[i].req);
		free(fr->specs[i].path_buf);
	}
	free(fr->specs);
	fr->specs = NULL;
	if (fr->text)
		free(fr->text->buf);
	free(fr->text);
	fr->text = NULL;
	fr->n_specs = 0;
}

double filters__capacity(int64_t total, int64_t reserved, double host_ratio, double cfg_ratio)
{
	return (double)(total - reserved) * (host_ratio > 0 ? host_ratio : cfg_ratio);
}

/* Placement's rule: one allocation fits the inventory's max_unit (the
 * total) and the usage after it stays within the capacity. */
static bool resource_fits(int64_t want, int64_t used, int64_t total, int64_t reserved, double host_ratio,
			  double cfg_ratio)
{
	if (want <= 0)
		return true;
	if (want > total)
		return false;
	return (double)(used + want) <= filters__capacity(total, reserved, host_ratio, cfg_ratio);
}

bool filters__aggregate_values(const struct scheduler_host *h, const char *key,
			       bool (*fn)(const char *v, size_t len, void *arg), void *arg, bool *found)
{
	for (size_t a = 0; a < h->n_aggregates; a++) {
		const struct scheduler_aggregate *agg = &h->aggregates[a];
		for (size_t m = 0; m < agg->n_metadata; m++) {
			const struct scheduler_kv *kv = &agg->metadata[m];
			if (!kv->key || !kv->value || strcmp(kv->key, key))
				continue;
			if (found)
				*found = true;
			/* Nova's aggregate_metadata_get_by_host: "a, b" is the values a and b. */
			for (const char *p = kv->value;;) {
				const char *comma = strchr(p, ',');
				size_t len = comma ? (size_t)(comma - p) : strlen(p);
				const char *s = p;
				while (len && (*s == ' ' || *s == '\t'))
					s++, len--;
				while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					len--;
				if (fn(s, len, arg))
					return true;
				if (!comma)
					break;
				p = comma + 1;
			}
		}
	}
	return false;
}

static bool equals_arg(const char *v, size_t len, void *arg)
{
	const char *want = arg;
	return strlen(want) == len && !memcmp(v, want, len);
}

static bool zone_passes(const struct filter_request *fr, const struct host_state *hs)
{
	const char *want = fr->req->availability_zone;
	if (!want || !*want)
		return true;
	if (hs->h->availability_zone)
		return !strcmp(hs->h->availability_zone, want);
	bool found = false;
	if (filters__aggregate_values(hs->h, "availability_zone", equals_arg, (void *)want, &found))
		return true;
	return !found && !strcmp(fr->cfg->default_availability_zone, want);
}

static bool anti_affinity_passes(const struct filter_request *fr, const struct host_state *hs)
{
	if (fr->req->group_policy != SCHEDULER_GROUP_ANTI_AFFINITY)
		return true;
	int64_t max = fr->req->max_server_per_host > 0 ? fr->req->max_server_per_host : 1;
	return hs->group_members < max;
}

static bool affinity_passes(const struct filter_request *fr, const struct host_state *hs)
{
	if (fr->req->group_policy != SCHEDULER_GROUP_AFFINITY || !fr->group_has_hosts)
		return true;
	return hs->group_host;
}

bool filters__passes(enum scheduler_filter f, const struct filter_request *fr, const struct host_state *hs)
{
	const struct scheduler_request *req = fr->req;
	const struct scheduler_config *cfg = fr->cfg;
	const struct scheduler_host *h = hs->h;
	switch (f) {
	case SCHEDULER_FILTER_COMPUTE: return h->enabled && h->up;
	case SCHEDULER_FILTER_AVAILABILITY_ZONE: return zone_passes(fr, hs);
	case SCHEDULER_FILTER_RAM:
		return resource_fits(req->ram_mb, hs->ram_used_mb, h->ram_total_mb, h->ram_reserved_mb,
				     h->ram_allocation_ratio, cfg->ram_allocation_ratio);
	case SCHEDULER_FILTER_CORE:
		return resource_fits(req->vcpus, hs->vcpus_used, h->vcpus_total, h->vcpus_reserved,
				     h->cpu_allocation_ratio, cfg->cpu_allocation_ratio);
	case SCHEDULER_FILTER_DISK:
		return resource_fits(fr->disk_gb, hs->disk_used_gb, h->disk_total_gb, h->disk_reserved_gb,
				     h->disk_allocation_ratio, cfg->disk_allocation_ratio);
	case SCHEDULER_FILTER_COMPUTE_CAPABILITIES: return filters__capabilities_pass(fr, hs);
	case SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS: return filters__aggregate_specs_pass(fr, hs);
	case SCHEDULER_FILTER_IMAGE_PROPERTIES: return filters__image_pass(fr, hs);
	case SCHEDULER_FILTER_GROUP_AFFINITY: return affinity_passes(fr, hs);
	case SCHEDULER_FILTER_GROUP_ANTI_AFFINITY: return anti_affinity_passes(fr, hs);
	case SCHEDULER_FILTER_SAME_HOST: return req->n_same_host == 0 || hs->same_host_hit;
	case SCHEDULER_FILTER_DIFFERENT_HOST: return req->n_different_host == 0 || !hs->different_host_hit;
	case SCHEDULER_FILTER_NUM_INSTANCES: return hs->num_instances < cfg->max_instances_per_host;
	case SCHEDULER_FILTER_COUNT: break;
	}
	return false;
}
