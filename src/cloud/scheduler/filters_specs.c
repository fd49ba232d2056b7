/* ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter: a
 * flavor's extra specs against the host's capabilities and its aggregates'
 * metadata (Nova's compute_capabilities_filter.py and
 * aggregate_instance_extra_specs.py). */
#include "cloud/scheduler/filters.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define CAPS_SCOPE "capabilities"
#define AGGREGATE_SCOPE "aggregate_instance_extra_specs"

int filters__prepare_spec(struct filter_spec *fs, const char *key, const char *value, struct st_err *err)
{
	*fs = (struct filter_spec){.key = key};
	if (extra_specs__parse(value, &fs->req, err) < 0)
		return -1;
	/* Aggregate scope: split once, "aggregate_instance_extra_specs:K" is K; no ':' is the key itself. */
	const char *colon = strchr(key, ':');
	if (!colon)
		fs->aggregate_key = key;
	else if ((size_t)(colon - key) == strlen(AGGREGATE_SCOPE) && !strncmp(key, AGGREGATE_SCOPE, colon - key))
		fs->aggregate_key = colon + 1;
	/* Capabilities scope: every ':' cuts, the first part must be "capabilities". */
	if (colon && ((size_t)(colon - key) != strlen(CAPS_SCOPE) || strncmp(key, CAPS_SCOPE, colon - key)))
		return 0;
	fs->path_buf = strdup(colon ? colon + 1 : key);
	if (!fs->path_buf) {
		extra_specs__free(&fs->req);
		return err__fail(err, ENOMEM, "scheduler: out of memory");
	}
	fs->unscoped = !colon;
	for (char *p = fs->path_buf;;) {
		if (fs->n_path == FILTERS_PATH_MAX) {
			fs->too_deep = true;
			break;
		}
		fs->path[fs->n_path++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	return 0;
}

/* The host's own fields, as Nova's HostState attributes of those names. */
static bool host_attribute(const struct host_state *hs, const char *name, char *buf, size_t size)
{
	const struct scheduler_host *h = hs->h;
	int64_t n;
	if (!strcmp(name, "host") || !strcmp(name, "nodename") || !strcmp(name, "hypervisor_hostname")) {
		snprintf(buf, size, "%s", h->name);
		return true;
	}
	if (!strcmp(name, "hypervisor_type")) {
		if (!h->hypervisor_type)
			return false;
		snprintf(buf, size, "%s", h->hypervisor_type);
		return true;
	}
	if (!strcmp(name, "hypervisor_version"))
		n = (int64_t)h->hypervisor_version;
	else if (!strcmp(name, "vcpus_total"))
		n = h->vcpus_total;
	else if (!strcmp(name, "vcpus_used"))
		n = hs->vcpus_used;
	else if (!strcmp(name, "free_ram_mb"))
		n = h->ram_total_mb - h->ram_reserved_mb - hs->ram_used_mb;
	else if (!strcmp(name, "total_usable_ram_mb"))
		n = h->ram_total_mb;
	else if (!strcmp(name, "free_disk_mb"))
		n = (h->disk_total_gb - h->disk_reserved_gb - hs->disk_used_gb) * 1024;
	else if (!strcmp(name, "total_usable_disk_gb"))
		n = h->disk_total_gb;
	else if (!strcmp(name, "num_instances"))
		n = hs->num_instances;
	else
		return false;
	snprintf(buf, size, "%" PRId64, n);
	return true;
}

/* The capability a path names; *owned is set when it had to be parsed from text. */
static const json_t *capability_lookup(const json_t *caps, const char *const *path, size_t n, json_t **owned)
{
	const json_t *cur = caps;
	*owned = NULL;
	if (cur && json_is_object(cur) && !json_object_get(cur, path[0])) {
		/* Nova looks in the host's stats when it has no attribute of that name. */
		const json_t *stats = json_object_get(cur, "stats");
		if (stats && json_is_object(stats) && json_object_get(stats, path[0]))
			cur = stats;
	}
	for (size_t i = 0; i < n && cur; i++) {
		if (json_is_string(cur)) {
			/* cpu_info is JSON text in Nova's compute node record: read it as Nova does. */
			json_t *parsed = json_loads(json_string_value(cur), JSON_DECODE_ANY, NULL);
			json_decref(*owned);
			*owned = parsed;
			cur = parsed;
		}
		cur = cur && json_is_object(cur) ? json_object_get(cur, path[i]) : NULL;
	}
	return cur && !json_is_null(cur) ? cur : NULL;
}

static bool spec_satisfied(struct filter_spec *fs, const struct host_state *hs, struct filter_text *scratch)
{
	char attr[64];
	if (fs->n_path == 1 && host_attribute(hs, fs->path[0], attr, sizeof(attr)))
		return extra_specs__match(&fs->req, attr);
	if (fs->too_deep)
		return false;
	json_t *owned;
	const json_t *cap = capability_lookup(hs->h->capabilities, fs->path, fs->n_path, &owned);
	if (!cap) {
		json_decref(owned);
		/* An unscoped key the host knows nothing of is someone else's extra spec. */
		return fs->unscoped;
	}
	/* Hosts that share one capability object (the same CPU model) cost one
	 * evaluation; text parsed on the way (owned) has no stable address. */
	if (!owned && cap == fs->cached_cap)
		return fs->cached_ok;
	const char *text = filters__python_str_into(cap, scratch);
	bool ok = text && extra_specs__match(&fs->req, text);
	if (!owned) {
		fs->cached_cap = cap;
		fs->cached_ok = ok;
	}
	json_decref(owned);
	return ok;
}

bool filters__capabilities_pass(const struct filter_request *fr, const struct host_state *hs)
{
	for (size_t i = 0; i < fr->n_specs; i++)
		if (fr->specs[i].n_path && !spec_satisfied(&fr->specs[i], hs, fr->text))
			return false;
	return true;
}

static bool value_matches(const char *v, size_t len, void *arg)
{
	const struct extra_specs_req *req = arg;
	char small[256];
	cleanup_free char *big = NULL;
	char *s = small;
	if (len >= sizeof(small)) {
		s = big = malloc(len + 1);
		if (!big)
			return false;
	}
	memcpy(s, v, len);
	s[len] = '\0';
	return extra_specs__match(req, s);
}

bool filters__aggregate_specs_pass(const struct filter_request *fr, const struct host_state *hs)
{
	for (size_t i = 0; i < fr->n_specs; i++) {
		const struct filter_spec *fs = &fr->specs[i];
		if (!fs->aggregate_key)
			continue;
		/* Absent from every aggregate: the host fails, as in Nova. */
		if (!filters__aggregate_values(hs->h, fs->aggregate_key, value_matches, (void *)&fs->req, NULL))
			return false;
	}
	return true;
}
