#include "ctr/config.h"
#include "ctr/caps.h"
#include "ctr/config_json.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

/* Every array of a config comes from one chain of blocks freed together. */
struct arena_block {
	struct arena_block *next;
	max_align_t data[];
};

void *config__alloc(struct ctr_config *cfg, size_t size)
{
	struct arena_block *b = calloc(1, sizeof(*b) + size);
	if (!b)
		abort();
	b->next = cfg->arena;
	cfg->arena = b;
	return b->data;
}

struct ctr_config *config__new_empty(void)
{
	struct ctr_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		abort();
	cfg->process.umask = -1;
	return cfg;
}

void config__free(struct ctr_config *cfg)
{
	if (!cfg)
		return;
	for (struct arena_block *b = cfg->arena, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	json_decref(cfg->json);
	free(cfg);
}

static const struct {
	const char *name;
	int flag;
	const char *proc;
} ns_table[] = {
	{"pid", CLONE_NEWPID, "pid"},       {"network", CLONE_NEWNET, "net"},
	{"mount", CLONE_NEWNS, "mnt"},      {"ipc", CLONE_NEWIPC, "ipc"},
	{"uts", CLONE_NEWUTS, "uts"},       {"user", CLONE_NEWUSER, "user"},
	{"cgroup", CLONE_NEWCGROUP, "cgroup"},
#ifdef CLONE_NEWTIME
	{"time", CLONE_NEWTIME, "time"},
#endif
};

int config__ns_flag(const char *name)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(ns_table); i++)
		if (!strcmp(ns_table[i].name, name))
			return ns_table[i].flag;
	return 0;
}

bool config__has_ns(const struct ctr_config *cfg, int flag)
{
	for (size_t i = 0; i < cfg->n_ns; i++)
		if (cfg->ns[i].type == flag)
			return true;
	return false;
}

const char *config__ns_proc_name(int flag)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(ns_table); i++)
		if (ns_table[i].flag == flag)
			return ns_table[i].proc;
	return NULL;
}

/* --- mounts --- */

static const struct {
	const char *name;
	bool clear;
	unsigned long flag;
} mount_flags[] = {
	{"ro", false, MS_RDONLY},        {"rw", true, MS_RDONLY},
	{"nosuid", false, MS_NOSUID},    {"suid", true, MS_NOSUID},
	{"nodev", false, MS_NODEV},      {"dev", true, MS_NODEV},
	{"noexec", false, MS_NOEXEC},    {"exec", true, MS_NOEXEC},
	{"sync", false, MS_SYNCHRONOUS}, {"async", true, MS_SYNCHRONOUS},
	{"dirsync", false, MS_DIRSYNC},  {"remount", false, MS_REMOUNT},
	{"mand", false, MS_MANDLOCK},    {"nomand", true, MS_MANDLOCK},
	{"atime", true, MS_NOATIME},     {"noatime", false, MS_NOATIME},
	{"diratime", true, MS_NODIRATIME}, {"nodiratime", false, MS_NODIRATIME},
	{"relatime", false, MS_RELATIME}, {"norelatime", true, MS_RELATIME},
	{"strictatime", false, MS_STRICTATIME}, {"nostrictatime", true, MS_STRICTATIME},
	{"bind", false, MS_BIND},        {"rbind", false, MS_BIND | MS_REC},
};

static const struct {
	const char *name;
	unsigned long flag;
} propagation_flags[] = {
	{"private", MS_PRIVATE},         {"rprivate", MS_PRIVATE | MS_REC},
	{"shared", MS_SHARED},           {"rshared", MS_SHARED | MS_REC},
	{"slave", MS_SLAVE},             {"rslave", MS_SLAVE | MS_REC},
	{"unbindable", MS_UNBINDABLE},   {"runbindable", MS_UNBINDABLE | MS_REC},
};

static unsigned long propagation_flag(const char *name)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(propagation_flags); i++)
		if (!strcmp(propagation_flags[i].name, name))
			return propagation_flags[i].flag;
	return 0;
}

static int parse_mount(struct ctr_config *cfg, json_t *m, size_t idx, struct ctr_mount *out,
		       struct st_err *err)
{
	char where[32];
	snprintf(where, sizeof(where), "mounts[%zu]", idx);
	if (!json_is_object(m))
		return err__fail(err, 0, "%s must be an object", where);
	if (json_util__field_string(m, where, "destination", &out->dest, err) < 0 ||
	    json_util__field_string(m, where, "type", &out->type, err) < 0 ||
	    json_util__field_string(m, where, "source", &out->source, err) < 0)
		return -1;
	if (!out->dest || out->dest[0] != '/')
		return err__fail(err, 0, "%s.destination must be an absolute path", where);
	const char **opts = NULL;
	if (config_json__strv(cfg, m, "options", where, &opts, err) < 0)
		return -1;
	size_t datalen = 1;
	for (size_t i = 0; opts && opts[i]; i++)
		datalen += strlen(opts[i]) + 1;
	out->data = config__alloc(cfg, datalen);
	for (size_t i = 0; opts && opts[i]; i++) {
		const char *o = opts[i];
		bool known = false;
		for (size_t j = 0; j < ST_ARRAY_SIZE(mount_flags); j++) {
			if (strcmp(o, mount_flags[j].name))
				continue;
			if (mount_flags[j].clear)
				out->flags &= ~mount_flags[j].flag;
			else
				out->flags |= mount_flags[j].flag;
			known = true;
		}
		unsigned long p = propagation_flag(o);
		if (p) {
			out->propagation = p;
			known = true;
		}
		if (!strcmp(o, "tmpcopyup") || !strncmp(o, "idmap", 5) || !strcmp(o, "rro"))
			known = true; /* accepted, not acted upon */
		if (known)
			continue;
		if (out->data[0])
			strcat(out->data, ",");
		strcat(out->data, o);
	}
	if (out->type && !strcmp(out->type, "bind"))
		out->flags |= MS_BIND;
	out->bind = out->flags & MS_BIND;
	/* Flags other than MS_BIND|MS_REC are ignored by a bind: remount to apply them. */
	if (out->bind && (out->flags & ~(MS_BIND | MS_REC | MS_REMOUNT)))
		out->readonly_remount = true;
	if (!out->type && !out->bind)
		return err__fail(err, 0, "%s (%s) has no type and is not a bind mount", where, out->dest);
	return 0;
}

/* --- process --- */

static const struct {
	const char *name;
	int res;
} rlimit_table[] = {
	{"RLIMIT_AS", RLIMIT_AS},           {"RLIMIT_CORE", RLIMIT_CORE},
	{"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_DATA", RLIMIT_DATA},
	{"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	{"RLIMIT_NICE", RLIMIT_NICE},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	{"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
	{"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

static int parse_caps(json_t *caps, struct ctr_process *p, struct st_err *err)
{
	static const char *const sets[CAPSETS] = {"bounding", "effective", "inheritable",
						  "permitted", "ambient"};
	for (int s = 0; s < CAPSETS; s++) {
		json_t *arr = json_object_get(caps, sets[s]), *c;
		size_t i;
		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return err__fail(err, 0, "process.capabilities.%s must be an array", sets[s]);
		json_array_foreach(arr, i, c) {
			int n = json_is_string(c) ? caps__from_name(json_string_value(c)) : -1;
			if (n < 0)
				return err__fail(err, 0, "process.capabilities.%s: unknown capability %s",
					       sets[s], json_is_string(c) ? json_string_value(c) : "(not a string)");
			p->caps[s] |= 1ull << n;
		}
	}
	p->has_caps = true;
	return 0;
}

static int parse_process(struct ctr_config *cfg, json_t *proc, struct st_err *err)
{
	struct ctr_process *p = &cfg->process;
	const char *w = "process";
	json_t *user, *caps, *rl;
	int64_t v = 0;
	if (json_util__field_bool(proc, w, "terminal", &p->terminal, err) < 0 ||
	    json_util__field_bool(proc, w, "noNewPrivileges", &p->no_new_privs, err) < 0 ||
	    json_util__field_string(proc, w, "cwd", &p->cwd, err) < 0 || config_json__strv(cfg, proc, "args", w, &p->args, err) < 0 ||
	    config_json__strv(cfg, proc, "env", w, &p->env, err) < 0 || json_util__field_object(proc, w, "user", &user, err) < 0 ||
	    json_util__field_object(proc, w, "capabilities", &caps, err) < 0 || json_util__field_array(proc, w, "rlimits", &rl, err) < 0)
		return -1;
	if (!p->args || !p->args[0])
		return err__fail(err, 0, "process.args must not be empty");
	if (!p->cwd)
		p->cwd = "/";
	if (p->cwd[0] != '/')
		return err__fail(err, 0, "process.cwd must be an absolute path");
	json_t *size;
	int64_t rows = 0, cols = 0;
	if (json_util__field_object(proc, w, "consoleSize", &size, err) < 0 ||
	    (size && (json_util__field_int(size, "process.consoleSize", "height", 0, 65535, &rows, err) < 0 ||
		      json_util__field_int(size, "process.consoleSize", "width", 0, 65535, &cols, err) < 0)))
		return -1;
	p->console_rows = (unsigned short)rows;
	p->console_cols = (unsigned short)cols;
	int r = json_util__field_int(proc, w, "oomScoreAdj", -1000, 1000, &v, err);
	if (r < 0)
		return -1;
	if (r) {
		p->has_oom_score_adj = true;
		p->oom_score_adj = (int)v;
	}
	if (user) {
		if (json_util__field_int(user, "process.user", "uid", 0, UINT32_MAX - 1, &v, err) < 0)
			return -1;
		p->uid = (uint32_t)v;
		v = 0;
		if (json_util__field_int(user, "process.user", "gid", 0, UINT32_MAX - 1, &v, err) < 0)
			return -1;
		p->gid = (uint32_t)v;
		if (json_util__field_int(user, "process.user", "umask", 0, 0777, &v, err) < 0)
			return -1;
		if (json_object_get(user, "umask"))
			p->umask = (int)v;
		json_t *gids, *g;
		size_t i;
		if (json_util__field_array(user, "process.user", "additionalGids", &gids, err) < 0)
			return -1;
		if (gids) {
			p->additional_gids = config__alloc(cfg, json_array_size(gids) * sizeof(gid_t) + 1);
			json_array_foreach(gids, i, g) {
				if (!json_is_integer(g) || json_integer_value(g) < 0 ||
				    json_integer_value(g) >= UINT32_MAX)
					return err__fail(err, 0, "process.user.additionalGids[%zu] is not a valid gid", i);
				p->additional_gids[p->n_additional_gids++] = (gid_t)json_integer_value(g);
			}
		}
	}
	if (caps && parse_caps(caps, p, err) < 0)
		return -1;
	if (rl) {
		json_t *e;
		size_t i;
		p->rlimits = config__alloc(cfg, json_array_size(rl) * sizeof(*p->rlimits) + 1);
		json_array_foreach(rl, i, e) {
			const char *type = NULL;
			int64_t soft = 0, hard = 0;
			if (!json_is_object(e) || json_util__field_string(e, "process.rlimits", "type", &type, err) < 0 ||
			    json_util__field_int(e, "process.rlimits", "soft", 0, INT64_MAX, &soft, err) < 0 ||
			    json_util__field_int(e, "process.rlimits", "hard", 0, INT64_MAX, &hard, err) < 0)
				return err__fail(err, 0, "process.rlimits[%zu] is malformed", i);
			int res = -1;
			for (size_t j = 0; type && j < ST_ARRAY_SIZE(rlimit_table); j++)
				if (!strcmp(type, rlimit_table[j].name))
					res = rlimit_table[j].res;
			if (res < 0)
				return err__fail(err, 0, "process.rlimits[%zu]: unknown rlimit %s", i,
					       type ? type : "(missing type)");
			p->rlimits[p->n_rlimits++] = (struct ctr_rlimit){res, (uint64_t)soft, (uint64_t)hard};
		}
	}
	return 0;
}

/* --- linux --- */

static int parse_idmaps(struct ctr_config *cfg, json_t *lin, const char *key, struct ctr_idmap **out,
			size_t *n, struct st_err *err)
{
	json_t *arr, *e;
	size_t i;
	int r = json_util__field_array(lin, "linux", key, &arr, err);
	if (r <= 0)
		return r;
	*out = config__alloc(cfg, json_array_size(arr) * sizeof(**out) + 1);
	json_array_foreach(arr, i, e) {
		int64_t c = -1, h = -1, s = -1;
		if (!json_is_object(e) || json_util__field_int(e, key, "containerID", 0, UINT32_MAX - 1, &c, err) < 0 ||
		    json_util__field_int(e, key, "hostID", 0, UINT32_MAX - 1, &h, err) < 0 ||
		    json_util__field_int(e, key, "size", 1, UINT32_MAX, &s, err) < 0 || c < 0 || h < 0 || s < 1)
			return err__fail(err, 0, "linux.%s[%zu]: invalid id mapping", key, i);
		if ((uint64_t)c + (uint64_t)s > UINT32_MAX || (uint64_t)h + (uint64_t)s > UINT32_MAX)
			return err__fail(err, 0, "linux.%s[%zu]: id range overflows", key, i);
		(*out)[(*n)++] = (struct ctr_idmap){(uint32_t)c, (uint32_t)h, (uint32_t)s};
	}
	return 0;
}

static int parse_namespaces(struct ctr_config *cfg, json_t *arr, struct st_err *err)
{
	json_t *e;
	size_t i;
	int seen = 0;
	cfg->ns = config__alloc(cfg, json_array_size(arr) * sizeof(*cfg->ns) + 1);
	json_array_foreach(arr, i, e) {
		const char *type = NULL, *path = NULL;
		if (!json_is_object(e) || json_util__field_string(e, "linux.namespaces", "type", &type, err) < 0 ||
		    json_util__field_string(e, "linux.namespaces", "path", &path, err) < 0 || !type)
			return err__fail(err, 0, "linux.namespaces[%zu] is malformed", i);
		int flag = config__ns_flag(type);
		if (!flag)
			return err__fail(err, 0, "linux.namespaces[%zu]: unknown namespace type '%s'", i, type);
		if (seen & flag)
			return err__fail(err, 0, "linux.namespaces: duplicate namespace '%s'", type);
		seen |= flag;
		if (path && !*path)
			path = NULL;
		if (path && path[0] != '/')
			return err__fail(err, 0, "linux.namespaces[%zu].path must be absolute", i);
		cfg->ns[cfg->n_ns++] = (struct ctr_ns){flag, path};
		if (!path)
			cfg->ns_flags |= flag;
	}
	return 0;
}

static int parse_devices(struct ctr_config *cfg, json_t *arr, struct st_err *err)
{
	json_t *e;
	size_t i;
	cfg->devices = config__alloc(cfg, json_array_size(arr) * sizeof(*cfg->devices) + 1);
	json_array_foreach(arr, i, e) {
		struct ctr_device d = {.mode = 0666};
		const char *type = NULL;
		int64_t v = 0;
		if (!json_is_object(e) || json_util__field_string(e, "linux.devices", "path", &d.path, err) < 0 ||
		    json_util__field_string(e, "linux.devices", "type", &type, err) < 0 ||
		    json_util__field_int(e, "linux.devices", "major", 0, INT32_MAX, &d.major, err) < 0 ||
		    json_util__field_int(e, "linux.devices", "minor", 0, INT32_MAX, &d.minor, err) < 0)
			return err__fail(err, 0, "linux.devices[%zu] is malformed", i);
		if (!d.path || d.path[0] != '/' || !type || strlen(type) != 1 || !strchr("cbup", type[0]))
			return err__fail(err, 0, "linux.devices[%zu] needs an absolute path and type c, b, u or p", i);
		d.type = type[0];
		/* podman sends the whole st_mode (0o20600): the permission bits
		 * are what counts, as for runc and crun. */
		if (json_util__field_int(e, "linux.devices", "fileMode", 0, 0177777, &v, err) < 0)
			return -1;
		if (json_object_get(e, "fileMode"))
			d.mode = (uint32_t)v & 07777;
		v = 0;
		if (json_util__field_int(e, "linux.devices", "uid", 0, UINT32_MAX - 1, &v, err) < 0)
			return -1;
		d.uid = (uint32_t)v;
		v = 0;
		if (json_util__field_int(e, "linux.devices", "gid", 0, UINT32_MAX - 1, &v, err) < 0)
			return -1;
		d.gid = (uint32_t)v;
		cfg->devices[cfg->n_devices++] = d;
	}
	return 0;
}

static int parse_linux(struct ctr_config *cfg, json_t *lin, struct st_err *err)
{
	json_t *arr, *res;
	const char *prop = NULL;
	if (json_util__field_array(lin, "linux", "namespaces", &arr, err) < 0 ||
	    (arr && parse_namespaces(cfg, arr, err) < 0))
		return -1;
	if (parse_idmaps(cfg, lin, "uidMappings", &cfg->uid_maps, &cfg->n_uid_maps, err) < 0 ||
	    parse_idmaps(cfg, lin, "gidMappings", &cfg->gid_maps, &cfg->n_gid_maps, err) < 0)
		return -1;
	if ((cfg->n_uid_maps || cfg->n_gid_maps) && !(cfg->ns_flags & CLONE_NEWUSER))
		return err__fail(err, 0, "linux.uidMappings/gidMappings need a new user namespace");
	if ((cfg->ns_flags & CLONE_NEWUSER) && (!cfg->n_uid_maps || !cfg->n_gid_maps))
		return err__fail(err, 0, "a new user namespace needs linux.uidMappings and linux.gidMappings");
	if (json_util__field_array(lin, "linux", "devices", &arr, err) < 0 || (arr && parse_devices(cfg, arr, err) < 0))
		return -1;
	if (json_util__field_object(lin, "linux", "resources", &res, err) < 0 ||
	    (res && config__parse_resources(cfg, res, err) < 0))
		return -1;
	cfg->has_resources = res != NULL;
	cfg->has_resources_limits = cfg->res.set || cfg->res.unified || cfg->res.n_net_prio ||
				    cfg->res.n_hugepages;
	for (int l = 0; l < BLKIO_LISTS; l++)
		cfg->has_resources_limits |= cfg->res.n_blkio[l] > 0;
	if (json_util__field_string(lin, "linux", "cgroupsPath", &cfg->cgroups_path, err) < 0 ||
	    config_json__strv(cfg, lin, "maskedPaths", "linux", &cfg->masked, err) < 0 ||
	    config_json__strv(cfg, lin, "readonlyPaths", "linux", &cfg->readonly, err) < 0 ||
	    config_json__str_map(cfg, lin, "sysctl", "linux", &cfg->sysctl, err) < 0 ||
	    json_util__field_string(lin, "linux", "rootfsPropagation", &prop, err) < 0 ||
	    json_util__field_object(lin, "linux", "seccomp", &cfg->seccomp, err) < 0)
		return -1;
	if (prop && *prop && !(cfg->rootfs_propagation = propagation_flag(prop)))
		return err__fail(err, 0, "linux.rootfsPropagation: unknown value '%s'", prop);
	for (size_t i = 0; cfg->sysctl && cfg->sysctl[i]; i += 2)
		if (strstr(cfg->sysctl[i], "..") || strchr(cfg->sysctl[i], '/'))
			return err__fail(err, 0, "linux.sysctl: invalid key '%s'", cfg->sysctl[i]);
	return 0;
}

int config__parse_hooks(struct ctr_config *cfg, json_t *hooks, struct st_err *err)
{
	static const char *const names[HOOK_KINDS] = {"prestart", "createRuntime", "createContainer",
						      "startContainer", "poststart", "poststop"};
	for (int k = 0; k < HOOK_KINDS; k++) {
		json_t *arr, *h;
		size_t i;
		if (json_util__field_array(hooks, "hooks", names[k], &arr, err) < 0)
			return -1;
		if (!arr)
			continue;
		cfg->hooks.list[k] = config__alloc(cfg, json_array_size(arr) * sizeof(struct ctr_hook) + 1);
		json_array_foreach(arr, i, h) {
			struct ctr_hook hk = {0};
			int64_t t = 0;
			if (!json_is_object(h) || json_util__field_string(h, names[k], "path", &hk.path, err) < 0 ||
			    config_json__strv(cfg, h, "args", names[k], &hk.argv, err) < 0 ||
			    config_json__strv(cfg, h, "env", names[k], &hk.env, err) < 0 ||
			    json_util__field_int(h, names[k], "timeout", 1, 3600, &t, err) < 0 || !hk.path || hk.path[0] != '/')
				return err__fail(err, 0, "hooks.%s[%zu] is malformed (needs an absolute path)", names[k], i);
			if (!hk.argv || !hk.argv[0]) {
				hk.argv = config__alloc(cfg, 2 * sizeof(char *));
				hk.argv[0] = hk.path;
			}
			hk.timeout = (int)t;
			cfg->hooks.list[k][cfg->hooks.n[k]++] = hk;
		}
	}
	return 0;
}

static int parse_root(struct ctr_config *cfg, struct st_err *err)
{
	json_t *j = cfg->json, *root, *proc, *lin, *hooks, *mounts, *m;
	const char *ver = NULL;
	size_t i;
	if (!json_is_object(j))
		return err__fail(err, 0, "the top level must be a JSON object");
	if (json_util__field_string(j, "config", "ociVersion", &ver, err) < 0)
		return -1;
	if (!ver)
		return err__fail(err, 0, "ociVersion is missing");
	if (json_util__field_object(j, "config", "root", &root, err) < 0 || json_util__field_object(j, "config", "process", &proc, err) < 0 ||
	    json_util__field_object(j, "config", "linux", &lin, err) < 0 || json_util__field_object(j, "config", "hooks", &hooks, err) < 0 ||
	    json_util__field_array(j, "config", "mounts", &mounts, err) < 0 ||
	    json_util__field_string(j, "config", "hostname", &cfg->hostname, err) < 0 ||
	    json_util__field_string(j, "config", "domainname", &cfg->domainname, err) < 0 ||
	    json_util__field_object(j, "config", "annotations", &cfg->annotations, err) < 0)
		return -1;
	if (!root || json_util__field_string(root, "root", "path", &cfg->root_path, err) <= 0)
		return err__fail(err, 0, "root.path is missing");
	if (json_util__field_bool(root, "root", "readonly", &cfg->root_readonly, err) < 0)
		return -1;
	if (!proc)
		return err__fail(err, 0, "process is missing");
	if (parse_process(cfg, proc, err) < 0)
		return -1;
	if (mounts) {
		cfg->mounts = config__alloc(cfg, json_array_size(mounts) * sizeof(*cfg->mounts) + 1);
		json_array_foreach(mounts, i, m) {
			if (parse_mount(cfg, m, i, &cfg->mounts[i], err) < 0)
				return -1;
			cfg->n_mounts++;
		}
	}
	if (lin && parse_linux(cfg, lin, err) < 0)
		return -1;
	if (hooks && config__parse_hooks(cfg, hooks, err) < 0)
		return -1;
	/* In a uts namespace joined by path the hostname is set there (runc, crun). */
	if (cfg->hostname && *cfg->hostname && !config__has_ns(cfg, CLONE_NEWUTS))
		return err__fail(err, 0, "hostname needs a uts namespace (new or joined by path)");
	return 0;
}

int config__parse(const char *text, size_t len, struct ctr_config **out, struct st_err *err)
{
	json_error_t jerr;
	struct ctr_config *cfg = config__new_empty();
	cfg->json = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!cfg->json) {
		config__free(cfg);
		return err__fail(err, 0, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
			       jerr.text);
	}
	if (parse_root(cfg, err) < 0) {
		config__free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int config__load(const char *path, struct ctr_config **out, struct st_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (util__read_file(path, 16 << 20, &text, &len, err) < 0)
		return err__prefix(err, "%s", path);
	if (config__parse(text, len, out, err) < 0)
		return err__prefix(err, "%s", path);
	return 0;
}
