#include "ctr/cgroup.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int cgroup__write(const char *dir, const char *file, const char *val, struct st_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "open %s", path);
	ssize_t n = write(fd, val, strlen(val));
	int saved = errno;
	close(fd);
	if (n < 0)
		return err__fail(err, saved, "write '%s' to %s", val, path);
	return 0;
}

int cgroup__read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

static void add_hier(struct ctr_cgroup *cg, const char *name, const char *dir, size_t mnt_len)
{
	if (cg->n >= CG_MAX_HIER)
		return;
	cg->h[cg->n].name = strdup(name);
	cg->h[cg->n].dir = strdup(dir);
	cg->h[cg->n].top = NULL;
	cg->h[cg->n].mnt_len = mnt_len;
	if (!cg->h[cg->n].name || !cg->h[cg->n].dir)
		abort();
	cg->n++;
}

const char *cgroup__dir(const struct ctr_cgroup *cg, const char *controller)
{
	size_t len = strlen(controller);
	for (size_t i = 0; i < cg->n; i++) {
		const char *p = cg->h[i].name;
		if (cg->v2)
			return cg->h[i].dir;
		while ((p = strstr(p, controller))) {
			bool start = p == cg->h[i].name || p[-1] == ',';
			if (start && (p[len] == 0 || p[len] == ','))
				return cg->h[i].dir;
			p += len;
		}
	}
	return NULL;
}

/* Our own cgroup in the hierarchy whose /proc/self/cgroup key is `key`
 * ("memory", "name=systemd", "" for v2); the file is read once per process. */
static void own_cgroup(const char *key, char *out, size_t size)
{
	static char text[8192];
	static bool loaded;
	if (!loaded) {
		int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
		text[n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
		loaded = true;
	}
	snprintf(out, size, "/");
	size_t klen = strlen(key);
	/* lines are "ID:KEY:PATH" */
	for (const char *line = text; *line;) {
		const char *end = strchrnul(line, '\n'), *c1 = memchr(line, ':', (size_t)(end - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 && (size_t)(c2 - c1 - 1) == klen && !memcmp(c1 + 1, key, klen)) {
			snprintf(out, size, "%.*s", (int)(end - c2 - 1), c2 + 1);
			return;
		}
		line = *end ? end + 1 : end;
	}
}

/* mkdir -p, remembering the highest directory we created. */
static int mkdir_tracked(const char *mnt, const char *dir, char **top, bool cpuset,
			 struct st_err *err)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + strlen(mnt) + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(path, 0755) == 0) {
			if (!*top && !(*top = strdup(path)))
				abort();
			if (cpuset) {
				/* A new v1 cpuset starts empty: inherit the parent's cpus and mems. */
				char parent[4096], buf[1024];
				snprintf(parent, sizeof(parent), "%s", path);
				*strrchr(parent, '/') = 0;
				if (cgroup__read(parent, "cpuset.cpus", buf, sizeof(buf)) == 0)
					cgroup__write(path, "cpuset.cpus", buf, NULL);
				if (cgroup__read(parent, "cpuset.mems", buf, sizeof(buf)) == 0)
					cgroup__write(path, "cpuset.mems", buf, NULL);
			}
		} else if (errno != EEXIST) {
			return err__fail_errno(err, "mkdir %s", path);
		}
		*p = c;
		if (!c)
			return 0;
	}
}

static void systemd_path(const char *spec, const char *id, char *out, size_t size)
{
	char slice[256] = "system.slice", prefix[256] = "", name[256];
	snprintf(name, sizeof(name), "%s", id);
	if (spec) {
		const char *a = strchr(spec, ':'), *b = a ? strchr(a + 1, ':') : NULL;
		if (a && b) {
			if (a > spec)
				snprintf(slice, sizeof(slice), "%.*s", (int)(a - spec), spec);
			snprintf(prefix, sizeof(prefix), "%.*s", (int)(b - a - 1), a + 1);
			snprintf(name, sizeof(name), "%s", b + 1);
		}
	}
	snprintf(out, size, "/%s/%s%s%s.scope", slice, prefix, *prefix ? "-" : "", name);
}

int cgroup__create(const char *cgroups_path, const char *id, bool systemd, struct ctr_cgroup *cg,
		   struct st_err *err)
{
	char rel[2048], own[2048], dir[4096], line[4096];
	memset(cg, 0, sizeof(*cg));
	if (systemd || (cgroups_path && cgroups_path[0] != '/' && strchr(cgroups_path, ':')))
		systemd_path(cgroups_path, id, rel, sizeof(rel));
	else if (cgroups_path && *cgroups_path)
		snprintf(rel, sizeof(rel), "%s", cgroups_path);
	else
		snprintf(rel, sizeof(rel), "/%s", id);
	if (strstr(rel, ".."))
		return err__fail(err, 0, "cgroupsPath '%s' must not contain '..'", rel);

	struct statfs sfs;
	if (statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC) {
		cg->v2 = true;
		own_cgroup("", own, sizeof(own));
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup%s%s%s", rel[0] == '/' ? "" : own,
			 rel[0] == '/' || !strcmp(own, "/") ? "" : "/", rel);
		add_hier(cg, "unified", dir, strlen("/sys/fs/cgroup"));
	} else {
		cleanup_fclose FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return err__fail_errno(err, "open /proc/self/mountinfo");
		while (fgets(line, sizeof(line), f)) {
			/* id parent maj:min root mountpoint opts - fstype source superopts */
			char *sep = strstr(line, " - ");
			if (!sep)
				continue;
			char mnt[1024], fstype[64], super[1024];
			if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) != 1 ||
			    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
				continue;
			char key[256] = "";
			if (!strcmp(fstype, "cgroup2")) {
				snprintf(key, sizeof(key), "unified");
				own_cgroup("", own, sizeof(own));
			} else if (!strcmp(fstype, "cgroup")) {
				/* controllers are the super options other than rw/ro/flags */
				for (char *save, *o = strtok_r(super, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
					if (!strcmp(o, "rw") || !strcmp(o, "ro") || strstr(o, "noprefix") ||
					    !strncmp(o, "release_agent", 13) || !strcmp(o, "clone_children") ||
					    !strcmp(o, "xattr"))
						continue;
					size_t l = strlen(key);
					snprintf(key + l, sizeof(key) - l, "%s%s", l ? "," : "", o);
				}
				own_cgroup(key, own, sizeof(own));
			} else {
				continue;
			}
			snprintf(dir, sizeof(dir), "%s%s%s%s", mnt, rel[0] == '/' ? "" : own,
				 rel[0] == '/' || !strcmp(own, "/") ? "" : "/", rel);
			add_hier(cg, key, dir, strlen(mnt));
		}
	}
	for (size_t i = 0; i < cg->n; i++) {
		char mnt[4096];
		snprintf(mnt, sizeof(mnt), "%.*s", (int)cg->h[i].mnt_len, cg->h[i].dir);
		if (mkdir_tracked(mnt, cg->h[i].dir, &cg->h[i].top, cgroup__dir(cg, "cpuset") == cg->h[i].dir,
				  err) < 0) {
			cgroup__destroy(cg);
			cgroup__free(cg);
			return -1;
		}
	}
	if (cg->v2) {
		/* Delegate the controllers down to the container's directory. */
		char buf[512], enable[512] = "";
		if (cgroup__read("/sys/fs/cgroup", "cgroup.controllers", buf, sizeof(buf)) == 0) {
			for (char *save, *c = strtok_r(buf, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
				size_t l = strlen(enable);
				snprintf(enable + l, sizeof(enable) - l, "%s+%s", l ? " " : "", c);
			}
		}
		snprintf(dir, sizeof(dir), "%s", cg->h[0].dir);
		for (char *p = dir + strlen("/sys/fs/cgroup"); (p = strchr(p + 1, '/'));) {
			*p = 0;
			cgroup__write(dir, "cgroup.subtree_control", enable, NULL);
			*p = '/';
		}
		cgroup__write("/sys/fs/cgroup", "cgroup.subtree_control", enable, NULL);
	}
	return 0;
}

void cgroup__free(struct ctr_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		free(cg->h[i].name);
		free(cg->h[i].dir);
		free(cg->h[i].top);
	}
	cg->n = 0;
}

int cgroup__unified_fd(const struct ctr_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (!strcmp(cg->h[i].name, "unified"))
			return open(cg->h[i].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return -1;
}

int cgroup__enter_self_v1(const struct ctr_cgroup *cg, struct st_err *err)
{
	for (size_t i = 0; i < cg->n; i++)
		if (strcmp(cg->h[i].name, "unified") && cgroup__write(cg->h[i].dir, "tasks", "0", err) < 0)
			return -1;
	return 0;
}

int cgroup__enter_rest(const struct ctr_cgroup *cg, pid_t pid, bool v1, bool unified, struct st_err *err)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%d", pid);
	for (size_t i = 0; i < cg->n; i++)
		if ((strcmp(cg->h[i].name, "unified") ? v1 : unified) &&
		    cgroup__write(cg->h[i].dir, "cgroup.procs", buf, err) < 0)
			return -1;
	return 0;
}

int cgroup__pids(const struct ctr_cgroup *cg, pid_t **out, size_t *n, struct st_err *err)
{
	const char *dir = cg->v2 ? cg->h[0].dir : cgroup__dir(cg, "freezer");
	if (!dir)
		dir = cgroup__dir(cg, "pids");
	if (!dir && cg->n)
		dir = cg->h[0].dir;
	*out = NULL;
	*n = 0;
	if (!dir)
		return 0;
	char path[4096], line[64];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	cleanup_fclose FILE *f = fopen(path, "re");
	if (!f)
		return err__fail_errno(err, "open %s", path);
	size_t cap = 0;
	while (fgets(line, sizeof(line), f)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			pid_t *p = realloc(*out, cap * sizeof(pid_t));
			if (!p)
				abort();
			*out = p;
		}
		(*out)[(*n)++] = atoi(line);
	}
	return 0;
}

int cgroup__signal_all(const struct ctr_cgroup *cg, int sig, struct st_err *err)
{
	cleanup_free pid_t *pids = NULL;
	size_t n;
	if (cgroup__pids(cg, &pids, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		kill(pids[i], sig);
	return 0;
}

void cgroup__destroy(struct ctr_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++) {
		if (!cg->h[i].top)
			continue;
		char path[4096];
		snprintf(path, sizeof(path), "%s", cg->h[i].dir);
		for (;;) {
			int tries = 0;
			/* Processes just killed linger as zombies for a moment. */
			int r;
			bool leaf = !strcmp(path, cg->h[i].dir);
			/* A parent we made may hold another container now: one try. */
			while ((r = rmdir(path)) < 0 && errno == EBUSY && leaf && tries++ < 500) {
				if (tries == 1)
					cgroup__signal_all(cg, SIGKILL, NULL);
				nanosleep(&(struct timespec){0, 1000000}, NULL);
			}
			if (r < 0 && errno != ENOENT && errno != EBUSY)
				log__warn("remove cgroup %s: %s", path, strerror(errno));
			else if (r < 0 && errno == EBUSY && leaf)
				log__warn("cgroup %s is still busy: left in place", path);
			if (!strcmp(path, cg->h[i].top))
				break;
			char *slash = strrchr(path, '/');
			if (!slash || slash == path)
				break;
			*slash = 0;
		}
	}
}

int cgroup__is_frozen(const struct ctr_cgroup *cg)
{
	char buf[256];
	if (cg->v2) {
		if (cgroup__read(cg->h[0].dir, "cgroup.freeze", buf, sizeof(buf)) < 0)
			return 0;
		return buf[0] == '1';
	}
	const char *dir = cgroup__dir(cg, "freezer");
	if (!dir || cgroup__read(dir, "freezer.state", buf, sizeof(buf)) < 0)
		return 0;
	return !strncmp(buf, "FROZEN", 6) || !strncmp(buf, "FREEZING", 8);
}

int cgroup__freeze(const struct ctr_cgroup *cg, bool frozen, struct st_err *err)
{
	if (cg->v2)
		return cgroup__write(cg->h[0].dir, "cgroup.freeze", frozen ? "1" : "0", err);
	const char *dir = cgroup__dir(cg, "freezer");
	if (!dir)
		return err__fail(err, 0, "the freezer cgroup controller is not mounted");
	const char *want = frozen ? "FROZEN" : "THAWED";
	for (int i = 0; i < 1000; i++) {
		char buf[64];
		if (cgroup__write(dir, "freezer.state", want, err) < 0)
			return -1;
		if (cgroup__read(dir, "freezer.state", buf, sizeof(buf)) == 0 && !strncmp(buf, want, strlen(want)))
			return 0;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return err__fail(err, 0, "the container did not reach %s", want);
}

json_t *cgroup__to_json(const struct ctr_cgroup *cg)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < cg->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s?}", "name", cg->h[i].name, "dir",
						     cg->h[i].dir, "top", cg->h[i].top));
	return json_pack("{s:b, s:o}", "v2", cg->v2, "hierarchies", arr);
}

int cgroup__from_json(json_t *j, struct ctr_cgroup *cg, struct st_err *err)
{
	json_t *arr = json_object_get(j, "hierarchies"), *e;
	size_t i;
	memset(cg, 0, sizeof(*cg));
	if (!json_is_array(arr))
		return err__fail(err, 0, "state file: cgroup entry is malformed");
	cg->v2 = json_is_true(json_object_get(j, "v2"));
	json_array_foreach(arr, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		const char *dir = json_string_value(json_object_get(e, "dir"));
		const char *top = json_string_value(json_object_get(e, "top"));
		if (!name || !dir)
			return err__fail(err, 0, "state file: cgroup entry is malformed");
		add_hier(cg, name, dir, 0);
		if (top && !(cg->h[cg->n - 1].top = strdup(top)))
			abort();
	}
	return 0;
}
