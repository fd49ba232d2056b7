/* The scheduler's configuration: Nova's [filter_scheduler] options as
 * "key = value" lines (strata-cloud serve --scheduler-config FILE). */
#include "cloud/scheduler/scheduler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cloud/scheduler/extra_specs.h"
#include "cloud/scheduler/weighers.h"

#define CONFIG_MAX (64 * 1024)

static const char *const filter_names[SCHEDULER_FILTER_COUNT] = {
	[SCHEDULER_FILTER_COMPUTE] = "ComputeFilter",
	[SCHEDULER_FILTER_AVAILABILITY_ZONE] = "AvailabilityZoneFilter",
	[SCHEDULER_FILTER_RAM] = "RamFilter",
	[SCHEDULER_FILTER_CORE] = "CoreFilter",
	[SCHEDULER_FILTER_DISK] = "DiskFilter",
	[SCHEDULER_FILTER_COMPUTE_CAPABILITIES] = "ComputeCapabilitiesFilter",
	[SCHEDULER_FILTER_AGGREGATE_EXTRA_SPECS] = "AggregateInstanceExtraSpecsFilter",
	[SCHEDULER_FILTER_IMAGE_PROPERTIES] = "ImagePropertiesFilter",
	[SCHEDULER_FILTER_GROUP_AFFINITY] = "ServerGroupAffinityFilter",
	[SCHEDULER_FILTER_GROUP_ANTI_AFFINITY] = "ServerGroupAntiAffinityFilter",
	[SCHEDULER_FILTER_SAME_HOST] = "SameHostFilter",
	[SCHEDULER_FILTER_DIFFERENT_HOST] = "DifferentHostFilter",
	[SCHEDULER_FILTER_NUM_INSTANCES] = "NumInstancesFilter",
};

static const char *const weigher_names[SCHEDULER_WEIGHER_COUNT] = {
	[SCHEDULER_WEIGHER_RAM] = "RAMWeigher",
	[SCHEDULER_WEIGHER_CPU] = "CPUWeigher",
	[SCHEDULER_WEIGHER_DISK] = "DiskWeigher",
	[SCHEDULER_WEIGHER_NUM_INSTANCES] = "NumInstancesWeigher",
	[SCHEDULER_WEIGHER_UTILISATION] = "UtilisationWeigher",
	[SCHEDULER_WEIGHER_SOFT_AFFINITY] = "ServerGroupSoftAffinityWeigher",
	[SCHEDULER_WEIGHER_SOFT_ANTI_AFFINITY] = "ServerGroupSoftAntiAffinityWeigher",
};

const char *scheduler__filter_name(enum scheduler_filter f)
{
	return (unsigned)f < SCHEDULER_FILTER_COUNT ? filter_names[f] : "?";
}

const char *scheduler__weigher_name(enum scheduler_weigher w)
{
	return (unsigned)w < SCHEDULER_WEIGHER_COUNT ? weigher_names[w] : "?";
}

void scheduler__config_default(struct scheduler_config *cfg)
{
	static const enum scheduler_filter filters[] = {
		SCHEDULER_FILTER_COMPUTE,           SCHEDULER_FILTER_AVAILABILITY_ZONE,
		SCHEDULER_FILTER_RAM,               SCHEDULER_FILTER_CORE,
		SCHEDULER_FILTER_DISK,              SCHEDULER_FILTER_COMPUTE_CAPABILITIES,
		SCHEDULER_FILTER_IMAGE_PROPERTIES,  SCHEDULER_FILTER_GROUP_ANTI_AFFINITY,
		SCHEDULER_FILTER_GROUP_AFFINITY,    SCHEDULER_FILTER_SAME_HOST,
		SCHEDULER_FILTER_DIFFERENT_HOST,
	};
	*cfg = (struct scheduler_config){
		.cpu_allocation_ratio = 4.0,
		.ram_allocation_ratio = 1.0,
		.disk_allocation_ratio = 1.0,
		.max_instances_per_host = 50,
		.host_subset_size = 1,
		.max_attempts = 3,
		.default_availability_zone = "nova",
	};
	memcpy(cfg->filters, filters, sizeof(filters));
	cfg->n_filters = ST_ARRAY_SIZE(filters);
	for (size_t w = 0; w < SCHEDULER_WEIGHER_COUNT; w++) {
		cfg->weighers[w] = (enum scheduler_weigher)w;
		cfg->multipliers[w] = w == SCHEDULER_WEIGHER_NUM_INSTANCES ? 0.0 : 1.0;
	}
	cfg->n_weighers = SCHEDULER_WEIGHER_COUNT;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static int name_index(const char *const *names, size_t count, const char *name)
{
	/* Nova's class paths work too: nova.scheduler.filters.ram_filter.RamFilter. */
	const char *dot = strrchr(name, '.');
	const char *base = dot ? dot + 1 : name;
	for (size_t i = 0; i < count; i++)
		if (!strcmp(base, names[i]))
			return (int)i;
	return -1;
}

/* A comma-separated list of names into out[]; all_ok: "all" (or Nova's
 * all_weighers path) stands for every name in order. */
static int parse_list(char *value, const char *const *names, size_t count, bool all_ok, int *out, size_t *n,
		      unsigned line, struct st_err *err)
{
	bool seen[SCHEDULER_FILTER_COUNT + SCHEDULER_WEIGHER_COUNT] = {false};
	*n = 0;
	if (all_ok && (!strcmp(value, "all") || !strcmp(value, "nova.scheduler.weights.all_weighers"))) {
		for (size_t i = 0; i < count; i++)
			out[(*n)++] = (int)i;
		return 0;
	}
	for (char *save = NULL, *item = strtok_r(value, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		item = trim(item);
		if (!*item)
			continue;
		int i = name_index(names, count, item);
		if (i < 0)
			return err__fail_class(err, EINVAL, "line %u: unknown name \"%.64s\"", line, item);
		if (seen[i])
			return err__fail_class(err, EINVAL, "line %u: \"%.64s\" is listed twice", line, item);
		seen[i] = true;
		out[(*n)++] = i;
	}
	return 0;
}

static int parse_double(const char *value, double min, unsigned line, const char *key, double *out,
			struct st_err *err)
{
	double d;
	if (!extra_specs__parse_number(value, &d) || !isfinite(d) || d < min)
		return err__fail_class(err, EINVAL, "line %u: %s must be a number >= %g, not \"%.64s\"", line, key, min,
				       value);
	*out = d;
	return 0;
}

static int parse_uint(const char *value, uint64_t min, uint64_t max, unsigned line, const char *key, uint64_t *out,
		      struct st_err *err)
{
	uint64_t v;
	if (util__parse_u64(value, max, &v, NULL) < 0 || v < min)
		return err__fail_class(err, EINVAL, "line %u: %s must be an integer in [%llu, %llu], not \"%.64s\"",
				       line, key, (unsigned long long)min, (unsigned long long)max, value);
	*out = v;
	return 0;
}

static int parse_name(const char *value, bool empty_ok, unsigned line, const char *key, char *out,
		      struct st_err *err)
{
	if ((!empty_ok && !*value) || strlen(value) >= SCHEDULER_NAME_MAX || strpbrk(value, " \t"))
		return err__fail_class(err, EINVAL, "line %u: %s must be a name of 1 to %d characters without spaces",
				       line, key, SCHEDULER_NAME_MAX - 1);
	strcpy(out, value);
	return 0;
}

static int set_list(struct scheduler_config *cfg, const char *key, char *value, unsigned line, struct st_err *err)
{
	int list[SCHEDULER_FILTER_COUNT + SCHEDULER_WEIGHER_COUNT];
	size_t n;
	if (!strcmp(key, "enabled_filters")) {
		if (parse_list(value, filter_names, SCHEDULER_FILTER_COUNT, false, list, &n, line, err) < 0)
			return -1;
		for (size_t i = 0; i < n; i++)
			cfg->filters[i] = (enum scheduler_filter)list[i];
		cfg->n_filters = n;
		return 0;
	}
	if (parse_list(value, weigher_names, SCHEDULER_WEIGHER_COUNT, true, list, &n, line, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		cfg->weighers[i] = (enum scheduler_weigher)list[i];
	cfg->n_weighers = n;
	return 0;
}

static int set_key(struct scheduler_config *cfg, const char *key, char *value, unsigned line, struct st_err *err)
{
	uint64_t u = 0;
	if (!strcmp(key, "enabled_filters") || !strcmp(key, "weight_classes") || !strcmp(key, "weighers"))
		return set_list(cfg, key, value, line, err);
	for (size_t w = 0; w < SCHEDULER_WEIGHER_COUNT; w++)
		if (!strcmp(key, weighers__multiplier_key((enum scheduler_weigher)w)))
			return parse_double(value, -INFINITY, line, key, &cfg->multipliers[w], err);
	if (!strcmp(key, "cpu_allocation_ratio"))
		return parse_double(value, 0.0001, line, key, &cfg->cpu_allocation_ratio, err);
	if (!strcmp(key, "ram_allocation_ratio"))
		return parse_double(value, 0.0001, line, key, &cfg->ram_allocation_ratio, err);
	if (!strcmp(key, "disk_allocation_ratio"))
		return parse_double(value, 0.0001, line, key, &cfg->disk_allocation_ratio, err);
	if (!strcmp(key, "max_instances_per_host")) {
		if (parse_uint(value, 1, INT32_MAX, line, key, &u, err) < 0)
			return -1;
		cfg->max_instances_per_host = (int64_t)u;
		return 0;
	}
	if (!strcmp(key, "host_subset_size")) {
		if (parse_uint(value, 1, 1000, line, key, &u, err) < 0)
			return -1;
		cfg->host_subset_size = (unsigned)u;
		return 0;
	}
	if (!strcmp(key, "max_attempts")) {
		if (parse_uint(value, 1, SCHEDULER_MAX_ATTEMPTS, line, key, &u, err) < 0)
			return -1;
		cfg->max_attempts = (unsigned)u;
		return 0;
	}
	if (!strcmp(key, "random_seed"))
		return parse_uint(value, 0, UINT64_MAX, line, key, &cfg->random_seed, err);
	if (!strcmp(key, "default_availability_zone"))
		return parse_name(value, false, line, key, cfg->default_availability_zone, err);
	if (!strcmp(key, "image_properties_default_architecture"))
		return parse_name(value, true, line, key, cfg->default_architecture, err);
	return err__fail_class(err, EINVAL, "line %u: unknown key \"%.64s\"", line, key);
}

static int parse_line(struct scheduler_config *cfg, char *line, unsigned no, struct st_err *err)
{
	char *hash = strpbrk(line, "#;");
	if (hash)
		*hash = '\0';
	line = trim(line);
	if (!*line)
		return 0;
	if (*line == '[') {
		if (strcmp(line, "[filter_scheduler]") && strcmp(line, "[scheduler]"))
			return err__fail_class(err, EINVAL, "line %u: unknown section %.64s", no, line);
		return 0;
	}
	char *eq = strchr(line, '=');
	if (!eq)
		return err__fail_class(err, EINVAL, "line %u: expected \"key = value\"", no);
	*eq = '\0';
	char *key = trim(line), *value = trim(eq + 1);
	if (!*key)
		return err__fail_class(err, EINVAL, "line %u: expected \"key = value\"", no);
	return set_key(cfg, key, value, no, err);
}

int scheduler__config_parse(const char *text, size_t len, struct scheduler_config *cfg, struct st_err *err)
{
	if (len > CONFIG_MAX)
		return err__fail_class(err, E2BIG, "scheduler configuration: larger than %d bytes", CONFIG_MAX);
	if (memchr(text, '\0', len))
		return err__fail_class(err, EINVAL, "scheduler configuration: holds a NUL byte");
	cleanup_free char *copy = malloc(len + 1);
	if (!copy)
		return err__fail(err, ENOMEM, "scheduler configuration: out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	/* Applied to a scratch copy so that a bad file leaves *cfg as it was. */
	struct scheduler_config next = *cfg;
	unsigned no = 1;
	for (char *line = copy; line; no++) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (parse_line(&next, line, no, err) < 0)
			return err__prefix(err, "scheduler configuration");
		line = nl ? nl + 1 : NULL;
	}
	*cfg = next;
	return 0;
}

int scheduler__config_load(const char *path, struct scheduler_config *cfg, struct st_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (util__read_file(path, CONFIG_MAX, &text, &len, err) < 0)
		return -1;
	if (scheduler__config_parse(text, len, cfg, err) < 0)
		return err__prefix(err, "%s", path);
	return 0;
}
