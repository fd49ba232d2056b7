/* The scheduler's filters and the per-request state they share. Internal to
 * src/cloud/scheduler/ (scheduler.h is the public face). */
#ifndef STRATA_CLOUD_SCHEDULER_FILTERS_H
#define STRATA_CLOUD_SCHEDULER_FILTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "cloud/scheduler/extra_specs.h"
#include "cloud/scheduler/scheduler.h"

#define FILTERS_PATH_MAX 8

/* One flavor extra spec, parsed once per request. */
struct filter_spec {
	const char *key;
	struct extra_specs_req req;
	/* ComputeCapabilitiesFilter: the key cut at ':' without "capabilities";
	 * n_path 0: not for it (another scope). unscoped: a key without ':',
	 * checked only when the host has such a capability. */
	const char *path[FILTERS_PATH_MAX];
	size_t n_path;
	bool unscoped;
	bool too_deep; /* more parts than FILTERS_PATH_MAX: no host has it */
	char *path_buf;
	/* The last capability object it was matched against, and the answer. */
	const json_t *cached_cap;
	bool cached_ok;
	/* AggregateInstanceExtraSpecsFilter: the metadata key, NULL: another scope. */
	const char *aggregate_key;
};

/* A growing text buffer, reused from host to host. */
struct filter_text {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* What the filters and weighers read of the request, prepared once. */
struct filter_request {
	const struct scheduler_config *cfg;
	const struct scheduler_request *req;
	int64_t disk_gb;
	struct filter_spec *specs;
	size_t n_specs;
	/* ImagePropertiesFilter: canonical names (NULL: not asked for). */
	char image_arch[SCHEDULER_NAME_MAX], image_hv_type[SCHEDULER_NAME_MAX], image_vm_mode[SCHEDULER_NAME_MAX];
	const char *image_hv_version; /* img_hv_requested_version */
	bool group_has_hosts; /* affinity: some member is placed already */
	struct filter_text *text; /* scratch for ComputeCapabilitiesFilter */
};

/* A host as this request sees it: the caller's state plus what the
 * instances chosen so far in this request have consumed. */
struct host_state {
	const struct scheduler_host *h;
	size_t index;
	int64_t vcpus_used, ram_used_mb, disk_used_gb, num_instances;
	int64_t group_members; /* members of the request's server group on it */
	bool group_host;       /* listed in the group's hosts or chosen for it */
	bool same_host_hit, different_host_hit;
	bool selected;
	double weight;
	double multipliers[SCHEDULER_WEIGHER_COUNT]; /* the configuration's or its aggregates' */
};

/* Parses the extra specs and image properties; fails with EINVAL on a bad request. */
int filters__prepare(struct filter_request *fr, const struct scheduler_config *cfg,
		     const struct scheduler_request *req, struct st_err *err);
void filters__release(struct filter_request *fr);

bool filters__passes(enum scheduler_filter f, const struct filter_request *fr, const struct host_state *hs);

/* Resource capacity: (total - reserved) * ratio, the host's ratio or the configuration's. */
double filters__capacity(int64_t total, int64_t reserved, double host_ratio, double cfg_ratio);

/* ComputeCapabilitiesFilter and AggregateInstanceExtraSpecsFilter (filters_specs.c). */
bool filters__capabilities_pass(const struct filter_request *fr, const struct host_state *hs);
bool filters__aggregate_specs_pass(const struct filter_request *fr, const struct host_state *hs);
int filters__prepare_spec(struct filter_spec *fs, const char *key, const char *value, struct st_err *err);

/* Python's str() of a JSON value, as Nova's str(cap), into t (valid until
 * its next use); NULL for null or no memory. */
const char *filters__python_str_into(const json_t *v, struct filter_text *t);
/* The same, malloc'd. */
char *filters__python_str(const json_t *v);

/* ImagePropertiesFilter (filters_image.c). */
int filters__prepare_image(struct filter_request *fr, struct st_err *err);
bool filters__image_pass(const struct filter_request *fr, const struct host_state *hs);
/* Nova's VersionPredicate check: does the dotted version satisfy "OP V[, OP V]..."?
 * -1 when the predicate does not parse. */
int filters__version_satisfies(const char *predicate, const char *version);

/* A host's aggregate metadata values for key, comma-split: calls fn on each
 * (trimmed, not NUL-terminated) until it returns true; returns whether one
 * did, and sets *found when the key is there at all. */
bool filters__aggregate_values(const struct scheduler_host *h, const char *key,
			       bool (*fn)(const char *v, size_t len, void *arg), void *arg, bool *found);

#endif
