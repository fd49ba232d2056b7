/* config.json (OCI runtime-spec 1.x) parsed and validated into plain structs.
 * Strings point into the jansson tree kept in `json`; every array lives in
 * the config's arena, so config__free() releases everything at once. */
#ifndef STRATA_CTR_CONFIG_H
#define STRATA_CTR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

struct ctr_mount {
	const char *dest, *type, *source;
	unsigned long flags;       /* MS_* applied at mount time */
	unsigned long propagation; /* MS_SHARED/SLAVE/PRIVATE/UNBINDABLE (| MS_REC) or 0 */
	char *data;                /* options that are not flags, comma-joined */
	bool bind, readonly_remount;
};

struct ctr_idmap {
	uint32_t container_id, host_id, size;
};

struct ctr_ns {
	int type; /* CLONE_NEW* */
	const char *path;
};

struct ctr_rlimit {
	int resource;
	uint64_t soft, hard;
};

struct ctr_device {
	const char *path;
	char type; /* c, b, u, p */
	int64_t major, minor;
	uint32_t mode;
	uint32_t uid, gid;
};

struct ctr_hook {
	const char *path;
	const char **argv; /* NULL-terminated; argv[0] may be path */
	const char **env;  /* NULL-terminated or NULL */
	int timeout;       /* seconds, 0 = none */
};

enum ctr_hook_kind {
	HOOK_PRESTART, HOOK_CREATE_RUNTIME, HOOK_CREATE_CONTAINER, HOOK_START_CONTAINER,
	HOOK_POSTSTART, HOOK_POSTSTOP, HOOK_KINDS
};

struct ctr_hooks {
	struct ctr_hook *list[HOOK_KINDS];
	size_t n[HOOK_KINDS];
};

enum { CAPSET_BOUNDING, CAPSET_EFFECTIVE, CAPSET_INHERITABLE, CAPSET_PERMITTED, CAPSET_AMBIENT,
       CAPSETS };

struct ctr_process {
	bool terminal, no_new_privs, has_oom_score_adj, has_caps;
	uint32_t uid, gid;
	gid_t *additional_gids;
	size_t n_additional_gids;
	int umask; /* -1 when unset */
	const char **args, **env;
	const char *cwd;
	uint64_t caps[CAPSETS];
	struct ctr_rlimit *rlimits;
	size_t n_rlimits;
	int oom_score_adj;
	unsigned short console_rows, console_cols; /* process.consoleSize, 0 = unset */
};

/* One value per knob; `set` bits say which were given. */
struct ctr_dev_rule {
	bool allow;
	char type;             /* a, c, b */
	int64_t major, minor;  /* -1 = any */
	char access[4];
};

struct ctr_net_prio {
	const char *name; /* interface */
	uint32_t priority;
};

struct ctr_hugepage {
	const char *page_size; /* "2MB", "1GB", "64KB" */
	uint64_t limit;        /* bytes */
};

struct ctr_blkio_dev {
	int64_t major, minor;
	uint64_t value;
};

enum ctr_blkio_list { BLKIO_WEIGHT_DEV, BLKIO_READ_BPS, BLKIO_WRITE_BPS, BLKIO_READ_IOPS,
		      BLKIO_WRITE_IOPS, BLKIO_LISTS };

struct ctr_resources {
	uint64_t set;
	int64_t mem_limit, mem_reservation, mem_swap;
	uint64_t mem_swappiness;
	bool mem_disable_oom_killer;
	uint64_t cpu_shares, cpu_period, cpu_rt_period;
	int64_t cpu_quota, cpu_rt_runtime;
	const char *cpus, *mems;
	int64_t pids_limit;
	uint64_t blkio_weight;
	struct ctr_blkio_dev *blkio[BLKIO_LISTS];
	size_t n_blkio[BLKIO_LISTS];
	struct ctr_dev_rule *devices;
	size_t n_devices;
	const char **unified; /* key, value, key, value, ..., NULL */
	int64_t mem_kernel_tcp;
	uint32_t net_classid;
	struct ctr_net_prio *net_prio; /* network.priorities */
	size_t n_net_prio;
	struct ctr_hugepage *hugepages; /* hugepageLimits */
	size_t n_hugepages;
};

enum {
	RES_MEM_LIMIT = 1 << 0, RES_MEM_RESERVATION = 1 << 1, RES_MEM_SWAP = 1 << 2,
	RES_MEM_SWAPPINESS = 1 << 3, RES_MEM_OOM = 1 << 4, RES_CPU_SHARES = 1 << 5,
	RES_CPU_QUOTA = 1 << 6, RES_CPU_PERIOD = 1 << 7, RES_CPU_RT_RUNTIME = 1 << 8,
	RES_CPU_RT_PERIOD = 1 << 9, RES_CPUS = 1 << 10, RES_MEMS = 1 << 11, RES_PIDS = 1 << 12,
	RES_BLKIO_WEIGHT = 1 << 13, RES_MEM_KERNEL_TCP = 1 << 14, RES_NET_CLASSID = 1 << 15,
};

struct ctr_config {
	json_t *json;
	const char *root_path;
	bool root_readonly;
	const char *hostname, *domainname;
	struct ctr_process process;
	struct ctr_mount *mounts;
	size_t n_mounts;
	struct ctr_ns *ns;
	size_t n_ns;
	int ns_flags; /* union of CLONE_NEW* for namespaces created (no path) */
	struct ctr_idmap *uid_maps, *gid_maps;
	size_t n_uid_maps, n_gid_maps;
	struct ctr_device *devices;
	size_t n_devices;
	bool has_resources;
	bool has_resources_limits; /* any knob besides device rules */
	struct ctr_resources res;
	const char *cgroups_path;
	const char **masked, **readonly; /* NULL-terminated */
	const char **sysctl;             /* key, value, ..., NULL */
	unsigned long rootfs_propagation; /* 0 = default (rslave) */
	json_t *seccomp;                 /* linux.seccomp or NULL */
	struct ctr_hooks hooks;
	json_t *annotations;
	void *arena;
};

int config__parse(const char *text, size_t len, struct ctr_config **out, struct st_err *err);
int config__load(const char *path, struct ctr_config **out, struct st_err *err);
void config__free(struct ctr_config *cfg);

/* linux.resources alone (for `update -r`); res is filled into cfg->res. */
int config__parse_resources(struct ctr_config *cfg, json_t *res, struct st_err *err);

/* A fresh empty config (arena only) for building resources by hand. */
struct ctr_config *config__new_empty(void);
/* Zeroed memory that lives as long as the config (its arena). */
void *config__alloc(struct ctr_config *cfg, size_t size);

/* "pid" -> CLONE_NEWPID, or 0. */
int config__ns_flag(const char *name);
const char *config__ns_proc_name(int flag);
/* The container has a namespace of this kind, created or joined by path. */
bool config__has_ns(const struct ctr_config *cfg, int flag);

/* The config.json `spec` writes (malloc'd): runc's defaults, or with rootless
 * a user namespace mapping our uid/gid, no network namespace, no limits. */
char *config__default_spec(bool rootless);

/* Hook list parsing shared with the state file (poststop kept there). */
int config__parse_hooks(struct ctr_config *cfg, json_t *hooks, struct st_err *err);

#endif
