/* Container cgroups: v1 hierarchies (hybrid hosts join every one, plus the
 * unified tree), or one cgroup v2 directory. Limits go to whichever holds the
 * controller, so they take effect on the host as it is. */
#ifndef STRATA_CTR_CGROUP_H
#define STRATA_CTR_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "ctr/config.h"

#define CG_MAX_HIER 16

struct ctr_cgroup {
	bool v2; /* the host is pure cgroup v2 */
	size_t n;
	struct {
		char *name; /* v1 controllers ("cpu,cpuacct", "name=systemd") or "unified" */
		char *dir;
		char *top;  /* highest directory we created (removed on destroy), or NULL */
		size_t mnt_len;
	} h[CG_MAX_HIER];
};

/* cgroups_path: absolute (from the hierarchy root), relative (from our own
 * cgroup), "slice:prefix:name" when systemd is set, or NULL ("/<id>"). */
int cgroup__create(const char *cgroups_path, const char *id, bool systemd, struct ctr_cgroup *cg,
		   struct st_err *err);
int cgroup__apply(const struct ctr_cgroup *cg, const struct ctr_resources *res, struct st_err *err);
/* Devices every container may use whatever its rules say (runc's list):
 * {major, minor}, minor -1 = any. */
#define CG_N_DEFAULT_DEVICES 10
extern const int cgroup__default_devices[CG_N_DEFAULT_DEVICES][2];

/* The default devices and the config's devices stay usable under any rules. */
int cgroup__allow_devices(const struct ctr_cgroup *cg, const struct ctr_device *devs, size_t n,
			  struct st_err *err);
/* v2: the device rules as an eBPF program on the container's cgroup. */
int cgroup__v2_devices(const struct ctr_cgroup *cg, const struct ctr_resources *res,
		       const struct ctr_device *devs, size_t n_devs, struct st_err *err);
/* Joining without the kernel's global migration lock, whose first taker waits
 * for an RCU grace period (milliseconds): the unified (v2) directory is joined
 * at clone time (CLONE_INTO_CGROUP, fd from cgroup__unified_fd), and the
 * process moves itself into each v1 hierarchy by writing "0" to `tasks`.
 * cgroup__enter_rest moves pid into what is left: the v1 hierarchies, the
 * unified one, or both. */
int cgroup__unified_fd(const struct ctr_cgroup *cg);
int cgroup__enter_self_v1(const struct ctr_cgroup *cg, struct st_err *err);
int cgroup__enter_rest(const struct ctr_cgroup *cg, pid_t pid, bool v1, bool unified, struct st_err *err);
/* Kills what is left, removes what create made; best effort. */
void cgroup__destroy(struct ctr_cgroup *cg);
void cgroup__free(struct ctr_cgroup *cg);
int cgroup__freeze(const struct ctr_cgroup *cg, bool frozen, struct st_err *err);
int cgroup__is_frozen(const struct ctr_cgroup *cg);
/* Pids in the container's cgroup; *out is malloc'd. */
int cgroup__pids(const struct ctr_cgroup *cg, pid_t **out, size_t *n, struct st_err *err);
int cgroup__signal_all(const struct ctr_cgroup *cg, int sig, struct st_err *err);
/* Directory holding a controller ("memory", "pids", "freezer", ...) or NULL. */
const char *cgroup__dir(const struct ctr_cgroup *cg, const char *controller);

/* Read dir/file into buf (NUL-terminated); -1 when it cannot be read. */
int cgroup__read(const char *dir, const char *file, char *buf, size_t size);
/* Write val to dir/file (one write, as the kernel wants). */
int cgroup__write(const char *dir, const char *file, const char *val, struct st_err *err);

json_t *cgroup__to_json(const struct ctr_cgroup *cg);
int cgroup__from_json(json_t *j, struct ctr_cgroup *cg, struct st_err *err);

#endif
