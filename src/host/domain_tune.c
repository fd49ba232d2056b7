/* setmem, dommemstat, setvcpus, vcpuinfo and edit on stratad's domains. */
#include "host/domain_tune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "host/domains.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/store.h"
#include "host/vmproc.h"

#define BALLOON_PAGE_KIB 4

static json_int_t def_int(const struct dom *d, const char *key)
{
	return json_integer_value(json_object_get(d->def, key));
}

/* setmem and dommemstat go through the balloon, which a definition may leave out. */
static int require_balloon(const struct dom *d, const char *verb, struct st_err *err)
{
	if (json_is_false(json_object_get(d->def, "balloon")))
		return err__fail_class(err, EINVAL, "domain '%s' has no memory balloon (memballoon model='none'): no %s",
				       d->name, verb);
	return 0;
}

int domain_tune__set_memory(struct host *h, struct dom *d, uint64_t kib, struct st_err *err)
{
	uint64_t max = (uint64_t)def_int(d, "memory_mib") * 1024;
	if (require_balloon(d, "setmem", err) < 0)
		return -1;
	if (d->state == DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is not running: setmem changes a running guest's memory",
				       d->name);
	if (kib < 1024 || kib > max)
		return err__fail_class(err, EINVAL, "memory %llu KiB is outside 1024..%llu KiB (the definition's)",
				       (unsigned long long)kib, (unsigned long long)max);
	struct dom_op op;
	if (domains__op_begin(h, d, "setting its memory", &op, err) < 0)
		return -1;
	json_t *args = json_pack("{s:I}", "target_mib", (json_int_t)(kib / 1024));
	int rc = args ? vmproc__control_args(op.ctl, "balloon-set", args, NULL, err) : err__fail(err, ENOMEM, "setmem");
	json_decref(args);
	if (domains__op_end(h, &op, rc < 0 ? NULL : err) < 0 || rc < 0)
		return rc < 0 ? err__class(err, EBUSY, err__prefix(err, "setmem %s", d->name)) : -1;
	char why[64];
	snprintf(why, sizeof(why), "balloon target %llu KiB", (unsigned long long)kib);
	events__emit("memory-changed", "domain", d->name, d->uuid, why);
	return 0;
}

/* VmRSS of pid in KiB, -1 if unreadable. */
static long long rss_kib(pid_t pid)
{
	char path[64], line[128];
	long long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
			break;
	if (f)
		fclose(f);
	return v;
}

int domain_tune__memstats(struct host *h, struct dom *d, json_t **out, struct st_err *err)
{
	/* the guest driver's statistics (virtio-balloon tags) as virsh names them */
	static const struct {
		const char *virsh, *tag;
		int bytes;
	} map[] = {
		{"swap_in", "swap_in", 1},         {"swap_out", "swap_out", 1},
		{"major_fault", "major_faults", 0}, {"minor_fault", "minor_faults", 0},
		{"unused", "free_memory", 1},      {"available", "total_memory", 1},
		{"usable", "available_memory", 1}, {"disk_caches", "disk_caches", 1},
		{"hugetlb_pgalloc", "hugetlb_allocations", 0}, {"hugetlb_pgfail", "hugetlb_failures", 0},
	};
	json_int_t mem_kib = def_int(d, "memory_mib") * 1024;
	struct dom_op op;
	if (require_balloon(d, "dommemstat", err) < 0 || domains__op_begin(h, d, NULL, &op, err) < 0)
		return -1;
	json_t *b = NULL;
	int rc = vmproc__control(op.ctl, "balloon-stats", &b, err);
	if (domains__op_end(h, &op, rc < 0 ? NULL : err) < 0 || rc < 0) {
		json_decref(b);
		return rc < 0 ? err__class(err, EBUSY, err__prefix(err, "dommemstat %s", d->name)) : -1;
	}
	json_t *o = json_pack("{s:I}", "actual", mem_kib - json_integer_value(json_object_get(b, "actual_pages")) *
							      BALLOON_PAGE_KIB);
	json_t *stats = json_object_get(b, "stats");
	for (size_t i = 0; o && i < ST_ARRAY_SIZE(map); i++) {
		json_t *v = json_object_get(stats, map[i].tag);
		if (json_is_integer(v))
			json_object_set_new(o, map[i].virsh,
					    json_integer(json_integer_value(v) / (map[i].bytes ? 1024 : 1)));
	}
	long long rss = rss_kib(d->proc.vm_pid);
	if (o && rss >= 0)
		json_object_set_new(o, "rss", json_integer(rss));
	json_decref(b);
	if (!o)
		return err__fail(err, ENOMEM, "dommemstat");
	*out = o;
	return 0;
}

int domain_tune__set_vcpus(struct host *h, struct dom *d, uint64_t n, struct st_err *err)
{
	if (n < 1 || n > DOMDEF_VCPUS_MAX)
		return err__fail_class(err, EINVAL, "vCPU count %llu is not 1..%d", (unsigned long long)n,
				       DOMDEF_VCPUS_MAX);
	if (domains__check_idle(d, false, err) < 0)
		return -1;
	json_t *def = json_deep_copy(d->def);
	if (!def || json_object_set_new(def, "vcpus", json_integer((json_int_t)n)) < 0) {
		json_decref(def);
		return err__fail(err, ENOMEM, "setvcpus");
	}
	if (domains__store_def(h, d, def, err) < 0)
		return -1;
	events__emit("defined", "domain", d->name, d->uuid, "vcpus changed");
	return 0;
}

int domain_tune__redefine(struct host *h, struct dom *d, const json_t *input, struct st_err *err)
{
	if (d->state != DOM_SHUTOFF)
		return err__fail_class(err, EBUSY, "domain '%s' is %s: its definition can be replaced once it is shut off",
				       d->name, domains__state_name(d));
	if (domains__check_idle(d, true, err) < 0)
		return -1;
	/* the uuid is the domain's: one left out is not a new one */
	cleanup_json json_t *in = json_copy((json_t *)input);
	if (!in)
		return err__fail(err, ENOMEM, "redefine");
	if (!json_object_get(in, "uuid"))
		json_object_set_new(in, "uuid", json_string(d->uuid));
	json_t *def;
	if (domdef__check(in, domains__resolve_volume, h, &def, err) < 0)
		return err__class(err, EINVAL, -1);
	const char *name = json_string_value(json_object_get(def, "name"));
	const char *uuid = json_string_value(json_object_get(def, "uuid"));
	if (strcmp(name, d->name) || strcmp(uuid, d->uuid)) {
		err__fail_class(err, EINVAL, "the definition of '%s' cannot change its %s (%s)", d->name,
				strcmp(name, d->name) ? "name" : "uuid", strcmp(name, d->name) ? name : uuid);
		json_decref(def);
		return -1;
	}
	if (json_equal(def, d->def)) {
		json_decref(def);
		return 0;
	}
	if (domains__store_def(h, d, def, err) < 0)
		return -1;
	events__emit("defined", "domain", d->name, d->uuid, "updated");
	return 0;
}

/* One vCPU thread's host CPU, state and CPU time from its stat line. */
static json_t *vcpu_thread(pid_t pid, const char *tid, unsigned id, long ncpu)
{
	char path[384], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, tid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return NULL;
	buf[n] = 0;
	char *p = strrchr(buf, ')'), state;
	unsigned long long utime, stime;
	int cpu;
	/* after the name: state (3), ... utime (14), stime (15), ... processor (39) */
	if (!p || sscanf(p + 2, "%c %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu %llu %*s %*s %*s %*s %*s %*s %*s %*s "
			  "%*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %d",
			  &state, &utime, &stime, &cpu) != 4)
		return NULL;
	long hz = sysconf(_SC_CLK_TCK);
	char aff[1025] = "";
	cpu_set_t set;
	if (sched_getaffinity((pid_t)atoi(tid), sizeof(set), &set) == 0)
		for (long c = 0; c < ncpu && c < 1024; c++)
			aff[c] = CPU_ISSET((int)c, &set) ? 'y' : '-';
	return json_pack("{s:i, s:i, s:s, s:I, s:s}", "vcpu", (int)id, "cpu", cpu, "state",
			 state == 'R' ? "running" : "sleeping", "cpu_time_ns",
			 (json_int_t)((utime + stime) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100))),
			 "affinity", aff);
}

json_t *domain_tune__vcpus(struct host *h, const struct dom *d)
{
	(void)h;
	json_int_t n = def_int(d, "vcpus");
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	/* until a vCPU runs: any host CPU */
	char any[1025] = "";
	for (long c = 0; c < ncpu && c < 1024; c++)
		any[c] = 'y';
	json_t *list = json_array();
	for (json_int_t i = 0; list && i < n; i++)
		json_array_append_new(list, json_pack("{s:I, s:s}", "vcpu", i, "affinity", any));
	if (d->state == DOM_SHUTOFF)
		return list;
	/* strata-vm names each vCPU's thread "vcpuN" */
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)d->proc.vm_pid);
	DIR *tasks = opendir(dir);
	struct dirent *e;
	while (tasks && (e = readdir(tasks))) {
		char path[384], comm[32] = "";
		unsigned id;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		bool ok = fgets(comm, sizeof(comm), f) && sscanf(comm, "vcpu%u", &id) == 1 && id < (unsigned)n;
		fclose(f);
		json_t *t = ok ? vcpu_thread(d->proc.vm_pid, e->d_name, id, ncpu) : NULL;
		if (t)
			json_array_set_new(list, id, t);
	}
	if (tasks)
		closedir(tasks);
	return list;
}
