/* linux.resources of config.json (also `update -r`) into struct ctr_resources. */
#include "ctr/config.h"
#include "ctr/config_json.h"
#include "common/json_util.h"

#include <string.h>

static int parse_blkio_list(struct ctr_config *cfg, json_t *bio, const char *key, const char *vkey,
			    enum ctr_blkio_list which, struct st_err *err)
{
	json_t *arr, *e;
	size_t i;
	int r = json_util__field_array(bio, "blockIO", key, &arr, err);
	if (r <= 0)
		return r;
	struct ctr_resources *res = &cfg->res;
	res->blkio[which] = config__alloc(cfg, json_array_size(arr) * sizeof(struct ctr_blkio_dev) + 1);
	json_array_foreach(arr, i, e) {
		int64_t maj = -1, min = -1, v = -1;
		if (!json_is_object(e) || json_util__field_int(e, key, "major", 0, INT32_MAX, &maj, err) < 0 ||
		    json_util__field_int(e, key, "minor", 0, INT32_MAX, &min, err) < 0 ||
		    json_util__field_int(e, key, vkey, 0, INT64_MAX, &v, err) < 0 || maj < 0 || min < 0 || v < 0)
			return err__fail(err, 0, "blockIO.%s[%zu] is malformed", key, i);
		res->blkio[which][res->n_blkio[which]++] = (struct ctr_blkio_dev){maj, min, (uint64_t)v};
	}
	return 0;
}

static int parse_dev_rules(struct ctr_config *cfg, json_t *arr, struct st_err *err)
{
	json_t *e;
	size_t i;
	struct ctr_resources *res = &cfg->res;
	res->devices = config__alloc(cfg, json_array_size(arr) * sizeof(*res->devices) + 1);
	json_array_foreach(arr, i, e) {
		struct ctr_dev_rule d = {.type = 'a', .major = -1, .minor = -1};
		const char *type = NULL, *access = NULL;
		if (!json_is_object(e) || json_util__field_bool(e, "devices", "allow", &d.allow, err) < 0 ||
		    json_util__field_string(e, "devices", "type", &type, err) < 0 ||
		    json_util__field_string(e, "devices", "access", &access, err) < 0 ||
		    json_util__field_int(e, "devices", "major", -1, INT32_MAX, &d.major, err) < 0 ||
		    json_util__field_int(e, "devices", "minor", -1, INT32_MAX, &d.minor, err) < 0)
			return err__fail(err, 0, "linux.resources.devices[%zu] is malformed", i);
		if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
			return err__fail(err, 0, "linux.resources.devices[%zu]: type must be a, c or b", i);
		if (type)
			d.type = type[0];
		if (!access)
			access = "rwm";
		if (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))
			return err__fail(err, 0, "linux.resources.devices[%zu]: access must use r, w, m", i);
		strcpy(d.access, access);
		res->devices[res->n_devices++] = d;
	}
	return 0;
}

static int parse_network(struct ctr_config *cfg, json_t *net, struct st_err *err)
{
	struct ctr_resources *res = &cfg->res;
	const char *w = "linux.resources.network";
	int64_t v = 0;
	json_t *arr, *e;
	size_t i;
	int g = json_util__field_int(net, w, "classID", 0, UINT32_MAX, &v, err);
	if (g < 0 || json_util__field_array(net, w, "priorities", &arr, err) < 0)
		return -1;
	if (g) {
		res->net_classid = (uint32_t)v;
		res->set |= RES_NET_CLASSID;
	}
	if (!arr)
		return 0;
	res->net_prio = config__alloc(cfg, json_array_size(arr) * sizeof(*res->net_prio) + 1);
	json_array_foreach(arr, i, e) {
		struct ctr_net_prio p = {0};
		v = -1;
		if (!json_is_object(e) || json_util__field_string(e, w, "name", &p.name, err) < 0 ||
		    json_util__field_int(e, w, "priority", 0, UINT32_MAX, &v, err) < 0 || !p.name || !*p.name ||
		    strpbrk(p.name, " \n/") || v < 0)
			return err__fail(err, 0, "%s.priorities[%zu] needs an interface name and a priority", w, i);
		p.priority = (uint32_t)v;
		res->net_prio[res->n_net_prio++] = p;
	}
	return 0;
}

static int parse_hugepages(struct ctr_config *cfg, json_t *arr, struct st_err *err)
{
	struct ctr_resources *res = &cfg->res;
	json_t *e;
	size_t i;
	res->hugepages = config__alloc(cfg, json_array_size(arr) * sizeof(*res->hugepages) + 1);
	json_array_foreach(arr, i, e) {
		struct ctr_hugepage h = {0};
		int64_t v = -1;
		const char *w = "linux.resources.hugepageLimits";
		if (!json_is_object(e) || json_util__field_string(e, w, "pageSize", &h.page_size, err) < 0 ||
		    json_util__field_int(e, w, "limit", 0, INT64_MAX, &v, err) < 0 || !h.page_size || v < 0)
			return err__fail(err, 0, "%s[%zu] needs a pageSize and a limit", w, i);
		size_t digits = strspn(h.page_size, "0123456789");
		if (!digits || h.page_size[0] == '0' || strlen(h.page_size) != digits + 2 ||
		    !strchr("KMG", h.page_size[digits]) || h.page_size[digits + 1] != 'B')
			return err__fail(err, 0, "%s[%zu].pageSize '%s' is not like 2MB or 1GB", w, i, h.page_size);
		h.limit = (uint64_t)v;
		res->hugepages[res->n_hugepages++] = h;
	}
	return 0;
}

int config__parse_resources(struct ctr_config *cfg, json_t *r, struct st_err *err)
{
	struct ctr_resources *res = &cfg->res;
	json_t *mem, *cpu, *pids, *bio, *devs, *net, *huge;
	int64_t v = 0;
	int g;
	if (json_util__field_object(r, "resources", "memory", &mem, err) < 0 || json_util__field_object(r, "resources", "cpu", &cpu, err) < 0 ||
	    json_util__field_object(r, "resources", "pids", &pids, err) < 0 ||
	    json_util__field_object(r, "resources", "blockIO", &bio, err) < 0 ||
	    json_util__field_array(r, "resources", "devices", &devs, err) < 0 ||
	    json_util__field_object(r, "resources", "network", &net, err) < 0 ||
	    json_util__field_array(r, "resources", "hugepageLimits", &huge, err) < 0 ||
	    config_json__str_map(cfg, r, "unified", "resources", &res->unified, err) < 0)
		return -1;
#define INT_KNOB(obj, key, min, field, bit)                                                  \
	do {                                                                                  \
		if ((g = json_util__field_int(obj, #obj, key, min, INT64_MAX, &v, err)) < 0)          \
			return -1;                                                            \
		if (g) {                                                                      \
			res->field = v;                                                       \
			res->set |= bit;                                                      \
		}                                                                             \
	} while (0)
	if (mem) {
		INT_KNOB(mem, "limit", -1, mem_limit, RES_MEM_LIMIT);
		INT_KNOB(mem, "reservation", -1, mem_reservation, RES_MEM_RESERVATION);
		INT_KNOB(mem, "swap", -1, mem_swap, RES_MEM_SWAP);
		INT_KNOB(mem, "kernelTCP", -1, mem_kernel_tcp, RES_MEM_KERNEL_TCP);
		if ((g = json_util__field_int(mem, "memory", "swappiness", 0, 100, &v, err)) < 0)
			return -1;
		if (g) {
			res->mem_swappiness = (uint64_t)v;
			res->set |= RES_MEM_SWAPPINESS;
		}
		if ((g = json_util__field_bool(mem, "memory", "disableOOMKiller", &res->mem_disable_oom_killer, err)) < 0)
			return -1;
		if (g)
			res->set |= RES_MEM_OOM;
	}
	if (cpu) {
		INT_KNOB(cpu, "shares", 0, cpu_shares, RES_CPU_SHARES);
		INT_KNOB(cpu, "quota", -1, cpu_quota, RES_CPU_QUOTA);
		INT_KNOB(cpu, "period", 0, cpu_period, RES_CPU_PERIOD);
		INT_KNOB(cpu, "realtimeRuntime", -1, cpu_rt_runtime, RES_CPU_RT_RUNTIME);
		INT_KNOB(cpu, "realtimePeriod", 0, cpu_rt_period, RES_CPU_RT_PERIOD);
		if ((g = json_util__field_string(cpu, "cpu", "cpus", &res->cpus, err)) < 0)
			return -1;
		if (g && *res->cpus)
			res->set |= RES_CPUS;
		if ((g = json_util__field_string(cpu, "cpu", "mems", &res->mems, err)) < 0)
			return -1;
		if (g && *res->mems)
			res->set |= RES_MEMS;
	}
	if (pids)
		INT_KNOB(pids, "limit", -1, pids_limit, RES_PIDS);
	if (bio) {
		INT_KNOB(bio, "weight", 0, blkio_weight, RES_BLKIO_WEIGHT);
		if (parse_blkio_list(cfg, bio, "weightDevice", "weight", BLKIO_WEIGHT_DEV, err) < 0 ||
		    parse_blkio_list(cfg, bio, "throttleReadBpsDevice", "rate", BLKIO_READ_BPS, err) < 0 ||
		    parse_blkio_list(cfg, bio, "throttleWriteBpsDevice", "rate", BLKIO_WRITE_BPS, err) < 0 ||
		    parse_blkio_list(cfg, bio, "throttleReadIOPSDevice", "rate", BLKIO_READ_IOPS, err) < 0 ||
		    parse_blkio_list(cfg, bio, "throttleWriteIOPSDevice", "rate", BLKIO_WRITE_IOPS, err) < 0)
			return -1;
	}
#undef INT_KNOB
	if ((devs && parse_dev_rules(cfg, devs, err) < 0) || (net && parse_network(cfg, net, err) < 0) ||
	    (huge && parse_hugepages(cfg, huge, err) < 0))
		return -1;
	for (size_t i = 0; res->unified && res->unified[i]; i += 2)
		if (strchr(res->unified[i], '/') || res->unified[i][0] == '.')
			return err__fail(err, 0, "linux.resources.unified: invalid key '%s'", res->unified[i]);
	return 0;
}
