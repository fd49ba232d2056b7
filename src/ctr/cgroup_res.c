/* linux.resources written to cgroup v1 files or their cgroup v2 counterparts. */
#include "ctr/cgroup.h"
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int wr(const char *dir, const char *file, struct st_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int wr(const char *dir, const char *file, struct st_err *err, const char *fmt, ...)
{
	char val[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return cgroup__write(dir, file, val, err);
}

static int need(const char *dir, const char *controller, struct st_err *err)
{
	if (!dir)
		return err__fail(err, 0, "the %s cgroup controller is not available on this host", controller);
	return 0;
}

/* A knob whose controller this host lacks is refused at create (runc, crun),
 * never accepted silently. */
static int need_for(const char *dir, const char *controller, const char *what, struct st_err *err)
{
	if (!dir)
		return err__fail(err, 0, "%s needs the %s cgroup controller, which this host does not have", what,
			       controller);
	return 0;
}

static bool has_file(const char *dir, const char *file)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return access(path, F_OK) == 0;
}

/* A controller of the unified tree on a hybrid host (hugetlb here): enabled
 * in subtree_control from the tree's root down to dir's parent. *out stays
 * NULL when the tree does not offer it. */
static int unified_with(const struct ctr_cgroup *cg, const char *controller, const char **out,
			struct st_err *err)
{
	const char *dir = NULL;
	*out = NULL;
	for (size_t i = 0; i < cg->n; i++)
		if (!strcmp(cg->h[i].name, "unified"))
			dir = cg->h[i].dir;
	if (!dir)
		return 0;
	char root[4096], buf[512], plus[64];
	snprintf(root, sizeof(root), "%s", dir);
	/* the root: the highest directory that still has cgroup.controllers */
	for (char *slash; (slash = strrchr(root, '/')) && slash != root;) {
		*slash = 0;
		if (!has_file(root, "cgroup.controllers")) {
			*slash = '/';
			break;
		}
	}
	if (cgroup__read(root, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return 0;
	bool offered = false;
	for (char *save, *c = strtok_r(buf, " \n", &save); c; c = strtok_r(NULL, " \n", &save))
		offered |= !strcmp(c, controller);
	if (!offered)
		return 0;
	snprintf(plus, sizeof(plus), "+%s", controller);
	char cur[4096];
	for (const char *p = dir + strlen(root); p && *p; p = strchr(p + 1, '/')) {
		snprintf(cur, sizeof(cur), "%.*s", (int)(p - dir), dir);
		if (cgroup__write(cur, "cgroup.subtree_control", plus, err) < 0)
			return err__prefix(err, "enable the %s controller", controller);
	}
	*out = dir;
	return 0;
}

/* Page sizes as the kernel names them in hugetlb files ("2MB"), checked
 * against the sizes this host has. */
static int check_page_size(const char *size, struct st_err *err)
{
	char path[128];
	unsigned long long n = strtoull(size, NULL, 10);
	char unit = size[strspn(size, "0123456789")];
	unsigned long long kb = unit == 'G' ? n << 20 : unit == 'M' ? n << 10 : n;
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB", kb);
	if (access(path, F_OK) < 0)
		return err__fail(err, 0, "linux.resources.hugepageLimits: this host has no %s huge pages", size);
	return 0;
}

/* hugetlb.<size>.limit_in_bytes (v1) or hugetlb.<size>.max (v2 and the
 * unified tree of a hybrid host). */
static int apply_hugepages(const struct ctr_cgroup *cg, const struct ctr_resources *r, struct st_err *err)
{
	if (!r->n_hugepages)
		return 0;
	const char *dir = cg->v2 ? cg->h[0].dir : cgroup__dir(cg, "hugetlb"), *suffix = "max";
	if (!cg->v2 && dir)
		suffix = "limit_in_bytes";
	else if (!cg->v2 && unified_with(cg, "hugetlb", &dir, err) < 0)
		return -1;
	for (size_t i = 0; i < r->n_hugepages; i++) {
		char file[64];
		snprintf(file, sizeof(file), "hugetlb.%s.%s", r->hugepages[i].page_size, suffix);
		if (check_page_size(r->hugepages[i].page_size, err) < 0 ||
		    need_for(dir && has_file(dir, file) ? dir : NULL, "hugetlb", "linux.resources.hugepageLimits",
			     err) < 0 ||
		    wr(dir, file, err, "%" PRIu64, r->hugepages[i].limit) < 0)
			return -1;
	}
	return 0;
}

/* net_cls and net_prio exist in v1 only. */
static int apply_network(const struct ctr_cgroup *cg, const struct ctr_resources *r, struct st_err *err)
{
	const char *cls = cg->v2 ? NULL : cgroup__dir(cg, "net_cls");
	const char *prio = cg->v2 ? NULL : cgroup__dir(cg, "net_prio");
	if ((r->set & RES_NET_CLASSID) &&
	    (need_for(cls, "net_cls", "linux.resources.network.classID", err) < 0 ||
	     wr(cls, "net_cls.classid", err, "%" PRIu32, r->net_classid) < 0))
		return -1;
	for (size_t i = 0; i < r->n_net_prio; i++)
		if (need_for(prio, "net_prio", "linux.resources.network.priorities", err) < 0 ||
		    wr(prio, "net_prio.ifpriomap", err, "%s %" PRIu32, r->net_prio[i].name,
		       r->net_prio[i].priority) < 0)
			return -1;
	return 0;
}

static int apply_kernel_tcp(const struct ctr_cgroup *cg, const struct ctr_resources *r, struct st_err *err)
{
	static const char file[] = "memory.kmem.tcp.limit_in_bytes";
	if (!(r->set & RES_MEM_KERNEL_TCP))
		return 0;
	const char *dir = cg->v2 ? NULL : cgroup__dir(cg, "memory");
	if (!dir || !has_file(dir, file))
		return err__fail(err, 0, "linux.resources.memory.kernelTCP: this kernel has no %s (cgroup v1 only)",
			       file);
	return wr(dir, file, err, "%" PRId64, r->mem_kernel_tcp);
}

static int apply_memory_v1(const char *dir, const struct ctr_resources *r, struct st_err *err)
{
	if (r->set & (RES_MEM_LIMIT | RES_MEM_SWAP | RES_MEM_RESERVATION | RES_MEM_SWAPPINESS | RES_MEM_OOM) &&
	    need(dir, "memory", err) < 0)
		return -1;
	if (r->set & RES_MEM_LIMIT) {
		/* memsw must stay >= limit: if raising the limit past it, write swap first. */
		if (wr(dir, "memory.limit_in_bytes", err, "%" PRId64, r->mem_limit) < 0) {
			if (!(r->set & RES_MEM_SWAP) || err->errnum != EINVAL)
				return -1;
			if (wr(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, r->mem_swap) < 0 ||
			    wr(dir, "memory.limit_in_bytes", err, "%" PRId64, r->mem_limit) < 0)
				return -1;
		} else if ((r->set & RES_MEM_SWAP) &&
			   wr(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, r->mem_swap) < 0) {
			return -1;
		}
	} else if ((r->set & RES_MEM_SWAP) &&
		   wr(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, r->mem_swap) < 0) {
		return -1;
	}
	if ((r->set & RES_MEM_RESERVATION) &&
	    wr(dir, "memory.soft_limit_in_bytes", err, "%" PRId64, r->mem_reservation) < 0)
		return -1;
	if ((r->set & RES_MEM_SWAPPINESS) &&
	    wr(dir, "memory.swappiness", err, "%" PRIu64, r->mem_swappiness) < 0)
		return -1;
	if ((r->set & RES_MEM_OOM) && wr(dir, "memory.oom_control", err, "%d", r->mem_disable_oom_killer) < 0)
		return -1;
	return 0;
}

static int apply_v1(const struct ctr_cgroup *cg, const struct ctr_resources *r, struct st_err *err)
{
	const char *cpu = cgroup__dir(cg, "cpu"), *cpuset = cgroup__dir(cg, "cpuset");
	const char *pids = cgroup__dir(cg, "pids"), *blkio = cgroup__dir(cg, "blkio");
	const char *devices = cgroup__dir(cg, "devices");
	if (apply_memory_v1(cgroup__dir(cg, "memory"), r, err) < 0)
		return -1;
	if ((r->set & (RES_CPU_SHARES | RES_CPU_PERIOD | RES_CPU_QUOTA | RES_CPU_RT_PERIOD | RES_CPU_RT_RUNTIME)) &&
	    need(cpu, "cpu", err) < 0)
		return -1;
	if ((r->set & RES_CPU_SHARES) && wr(cpu, "cpu.shares", err, "%" PRIu64, r->cpu_shares) < 0)
		return -1;
	if ((r->set & RES_CPU_PERIOD) && wr(cpu, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu_period) < 0)
		return -1;
	if ((r->set & RES_CPU_QUOTA) && wr(cpu, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu_quota) < 0)
		return -1;
	if ((r->set & RES_CPU_RT_PERIOD) && wr(cpu, "cpu.rt_period_us", err, "%" PRIu64, r->cpu_rt_period) < 0)
		return -1;
	if ((r->set & RES_CPU_RT_RUNTIME) && wr(cpu, "cpu.rt_runtime_us", err, "%" PRId64, r->cpu_rt_runtime) < 0)
		return -1;
	if ((r->set & (RES_CPUS | RES_MEMS)) && need(cpuset, "cpuset", err) < 0)
		return -1;
	if ((r->set & RES_CPUS) && cgroup__write(cpuset, "cpuset.cpus", r->cpus, err) < 0)
		return -1;
	if ((r->set & RES_MEMS) && cgroup__write(cpuset, "cpuset.mems", r->mems, err) < 0)
		return -1;
	if (r->set & RES_PIDS) {
		if (need(pids, "pids", err) < 0)
			return -1;
		if (r->pids_limit > 0 ? wr(pids, "pids.max", err, "%" PRId64, r->pids_limit) < 0
				      : cgroup__write(pids, "pids.max", "max", err) < 0)
			return -1;
	}
	if ((r->set & RES_BLKIO_WEIGHT) && (need(blkio, "blkio", err) < 0 ||
					    wr(blkio, "blkio.weight", err, "%" PRIu64, r->blkio_weight) < 0))
		return -1;
	static const char *const blkio_files[BLKIO_LISTS] = {
		"blkio.weight_device", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
		"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
	for (int l = 0; l < BLKIO_LISTS; l++)
		for (size_t i = 0; i < r->n_blkio[l]; i++)
			if (need(blkio, "blkio", err) < 0 ||
			    wr(blkio, blkio_files[l], err, "%" PRId64 ":%" PRId64 " %" PRIu64, r->blkio[l][i].major,
			       r->blkio[l][i].minor, r->blkio[l][i].value) < 0)
				return -1;
	for (size_t i = 0; i < r->n_devices; i++) {
		const struct ctr_dev_rule *d = &r->devices[i];
		char maj[24] = "*", min[24] = "*";
		if (need(devices, "devices", err) < 0)
			return -1;
		if (d->major >= 0)
			snprintf(maj, sizeof(maj), "%" PRId64, d->major);
		if (d->minor >= 0)
			snprintf(min, sizeof(min), "%" PRId64, d->minor);
		if (d->type == 'a' ? wr(devices, d->allow ? "devices.allow" : "devices.deny", err, "a") < 0
				   : wr(devices, d->allow ? "devices.allow" : "devices.deny", err, "%c %s:%s %s",
					d->type, maj, min, d->access) < 0)
			return -1;
	}
	if (r->unified && r->unified[0])
		return err__fail(err, 0, "linux.resources.unified needs cgroup v2 (this host has v1 controllers)");
	return 0;
}

static int apply_v2(const char *dir, const struct ctr_resources *r, struct st_err *err)
{
	if ((r->set & RES_MEM_LIMIT) && (r->mem_limit < 0 ? cgroup__write(dir, "memory.max", "max", err)
							   : wr(dir, "memory.max", err, "%" PRId64, r->mem_limit)) < 0)
		return -1;
	if (r->set & RES_MEM_SWAP) {
		/* OCI swap is memory+swap; v2 counts swap alone. */
		int64_t s = r->mem_swap < 0 || r->mem_limit < 0 ? -1 : r->mem_swap - r->mem_limit;
		if ((s < 0 ? cgroup__write(dir, "memory.swap.max", "max", err)
			   : wr(dir, "memory.swap.max", err, "%" PRId64, s)) < 0)
			return -1;
	}
	if ((r->set & RES_MEM_RESERVATION) && wr(dir, "memory.low", err, "%" PRId64, r->mem_reservation) < 0)
		return -1;
	if ((r->set & RES_CPU_SHARES) && r->cpu_shares &&
	    wr(dir, "cpu.weight", err, "%" PRIu64, 1 + ((r->cpu_shares - 2) * 9999) / 262142) < 0)
		return -1;
	if (r->set & (RES_CPU_QUOTA | RES_CPU_PERIOD)) {
		uint64_t period = (r->set & RES_CPU_PERIOD) ? r->cpu_period : 100000;
		if (((r->set & RES_CPU_QUOTA) && r->cpu_quota > 0
			     ? wr(dir, "cpu.max", err, "%" PRId64 " %" PRIu64, r->cpu_quota, period)
			     : wr(dir, "cpu.max", err, "max %" PRIu64, period)) < 0)
			return -1;
	}
	if ((r->set & RES_CPUS) && cgroup__write(dir, "cpuset.cpus", r->cpus, err) < 0)
		return -1;
	if ((r->set & RES_MEMS) && cgroup__write(dir, "cpuset.mems", r->mems, err) < 0)
		return -1;
	if ((r->set & RES_PIDS) && (r->pids_limit > 0 ? wr(dir, "pids.max", err, "%" PRId64, r->pids_limit)
						      : cgroup__write(dir, "pids.max", "max", err)) < 0)
		return -1;
	if ((r->set & RES_BLKIO_WEIGHT) && wr(dir, "io.weight", err, "default %" PRIu64, r->blkio_weight) < 0)
		return -1;
	static const char *const io_keys[BLKIO_LISTS] = {NULL, "rbps", "wbps", "riops", "wiops"};
	for (int l = 0; l < BLKIO_LISTS; l++)
		for (size_t i = 0; i < r->n_blkio[l]; i++)
			if (l == BLKIO_WEIGHT_DEV
				    ? wr(dir, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, r->blkio[l][i].major,
					 r->blkio[l][i].minor, r->blkio[l][i].value) < 0
				    : wr(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, r->blkio[l][i].major,
					 r->blkio[l][i].minor, io_keys[l], r->blkio[l][i].value) < 0)
				return -1;
	for (size_t i = 0; r->unified && r->unified[i]; i += 2)
		if (cgroup__write(dir, r->unified[i], r->unified[i + 1], err) < 0)
			return -1;
	return 0;
}

const int cgroup__default_devices[CG_N_DEFAULT_DEVICES][2] = {
	{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, -1}, {10, 200}};

int cgroup__allow_devices(const struct ctr_cgroup *cg, const struct ctr_device *devs, size_t n,
			  struct st_err *err)
{
	const char *dir = cg->v2 ? NULL : cgroup__dir(cg, "devices");
	if (!dir)
		return 0;
	for (size_t i = 0; i < CG_N_DEFAULT_DEVICES; i++) {
		const int *d = cgroup__default_devices[i];
		if ((d[1] < 0 ? wr(dir, "devices.allow", err, "c %d:* rwm", d[0])
			      : wr(dir, "devices.allow", err, "c %d:%d rwm", d[0], d[1])) < 0)
			return -1;
	}
	for (size_t i = 0; i < n; i++)
		if ((devs[i].type == 'c' || devs[i].type == 'b' || devs[i].type == 'u') &&
		    wr(dir, "devices.allow", err, "%c %" PRId64 ":%" PRId64 " rwm",
		       devs[i].type == 'b' ? 'b' : 'c', devs[i].major, devs[i].minor) < 0)
			return -1;
	return 0;
}

int cgroup__apply(const struct ctr_cgroup *cg, const struct ctr_resources *res, struct st_err *err)
{
	if (!cg->n)
		return 0;
	if (apply_kernel_tcp(cg, res, err) < 0 || apply_network(cg, res, err) < 0 ||
	    apply_hugepages(cg, res, err) < 0)
		return -1;
	return cg->v2 ? apply_v2(cg->h[0].dir, res, err) : apply_v1(cg, res, err);
}
