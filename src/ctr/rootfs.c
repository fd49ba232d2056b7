#include "ctr/rootfs.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int openat2_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
	return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
}

int rootfs__open_in_root(int rootfd, const char *dest, bool is_file, struct st_err *err)
{
	while (*dest == '/')
		dest++;
	if (!*dest)
		return openat2_in_root(rootfd, ".", O_PATH);
	int fd = openat2_in_root(rootfd, dest, O_PATH);
	if (fd >= 0 || errno != ENOENT) {
		if (fd < 0)
			return err__fail_errno(err, "open %s in the rootfs", dest);
		return fd;
	}
	/* Create the missing components one by one, each resolved inside the root. */
	char path[4096];
	snprintf(path, sizeof(path), "%s", dest);
	cleanup_close int parent = openat2_in_root(rootfd, ".", O_PATH);
	for (char *p = path;;) {
		char *slash = strchr(p, '/');
		bool last = !slash || !slash[strspn(slash, "/")];
		if (slash)
			*slash = 0;
		int cur = openat2_in_root(rootfd, path, O_PATH);
		if (cur < 0 && errno == ENOENT) {
			const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
			/* an O_PATH directory serves as dirfd for *at() calls */
			if (last && is_file) {
				int c = openat(parent, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
				if (c >= 0)
					close(c);
			} else {
				mkdirat(parent, name, 0755);
			}
			cur = openat2_in_root(rootfd, path, O_PATH);
		}
		if (cur < 0)
			return err__fail_errno(err, "create %s in the rootfs", path);
		if (last)
			return cur;
		close(parent);
		parent = cur;
		*slash = '/';
		p = slash + 1;
		while (*p == '/')
			p++;
	}
}

static void fd_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

/* An fd opened before a mount names what is underneath: remounts and
 * propagation changes need the new mount, so resolve the path again. */
static int reopen(int rootfd, const char *dest, int *fd, char *target, size_t size, struct st_err *err)
{
	close(*fd);
	*fd = rootfs__open_in_root(rootfd, dest, false, err);
	if (*fd < 0)
		return -1;
	fd_path(*fd, target, size);
	return 0;
}

/* Remount a bind mount with flags, keeping the flags the kernel locks
 * (nosuid, nodev, noexec, atime) so it also works in a user namespace. */
static int remount_bind(const char *target, unsigned long flags, struct st_err *err)
{
	struct statvfs sv;
	if (statvfs(target, &sv) == 0) {
		if (sv.f_flag & ST_NOSUID)
			flags |= MS_NOSUID;
		if (sv.f_flag & ST_NODEV)
			flags |= MS_NODEV;
		if (sv.f_flag & ST_NOEXEC)
			flags |= MS_NOEXEC;
		if (sv.f_flag & ST_NOATIME)
			flags |= MS_NOATIME;
		if (sv.f_flag & ST_NODIRATIME)
			flags |= MS_NODIRATIME;
		if (sv.f_flag & ST_RELATIME)
			flags |= MS_RELATIME;
	}
	if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
		return err__fail_errno(err, "remount %s", target);
	return 0;
}

/* type "cgroup" on a v1 host: a tmpfs with each hierarchy's container
 * directory bound in; on v2 a fresh cgroup2 (bound where that is refused). */
static int mount_cgroup(const struct rootfs_ctx *ctx, const struct ctr_mount *m, int rootfd,
			const char *target, struct st_err *err)
{
	unsigned long ro = m->flags & MS_RDONLY, base = m->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC);
	if (!ctx->cg || ctx->cg->v2 || !ctx->cg->n) {
		if (mount("cgroup2", target, "cgroup2", m->flags & ~MS_BIND, NULL) == 0)
			return 0;
		const char *dir = ctx->cg && ctx->cg->n ? ctx->cg->h[0].dir : "/sys/fs/cgroup";
		if (mount(dir, target, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err__fail_errno(err, "mount cgroup at %s", m->dest);
		cleanup_close int tfd = rootfs__open_in_root(rootfd, m->dest, false, err);
		char t2[64];
		fd_path(tfd, t2, sizeof(t2));
		return ro ? remount_bind(t2, MS_RDONLY, err) : 0;
	}
	if (mount("tmpfs", target, "tmpfs", base, "mode=755") < 0)
		return err__fail_errno(err, "mount tmpfs for cgroups at %s", m->dest);
	for (size_t i = 0; i < ctx->cg->n; i++) {
		char dest[4096], name[256];
		snprintf(name, sizeof(name), "%s", ctx->cg->h[i].name);
		if (!strncmp(name, "name=", 5))
			memmove(name, name + 5, strlen(name + 5) + 1);
		snprintf(dest, sizeof(dest), "%s/%s", m->dest, name);
		cleanup_close int fd = rootfs__open_in_root(rootfd, dest, false, err);
		if (fd < 0)
			return -1;
		char t[64];
		fd_path(fd, t, sizeof(t));
		if (mount(ctx->cg->h[i].dir, t, NULL, MS_BIND | MS_REC, NULL) < 0)
			return err__fail_errno(err, "bind cgroup %s", ctx->cg->h[i].dir);
		if (ro && (reopen(rootfd, dest, &fd, t, sizeof(t), err) < 0 || remount_bind(t, MS_RDONLY, err) < 0))
			return -1;
		/* "cpu,cpuacct" is also reachable as cpu and cpuacct */
		if (strchr(name, ',')) {
			char link[4096];
			cleanup_close int dirfd = -1;
			char dpath[4096];
			snprintf(dpath, sizeof(dpath), "%s%s", ctx->rootfs, m->dest);
			dirfd = open(dpath, O_DIRECTORY | O_CLOEXEC);
			for (char *save, *c = strtok_r(name, ",", &save); c && dirfd >= 0; c = strtok_r(NULL, ",", &save)) {
				snprintf(link, sizeof(link), "%s", ctx->cg->h[i].name);
				symlinkat(link, dirfd, c);
			}
		}
	}
	cleanup_close int tfd = rootfs__open_in_root(rootfd, m->dest, false, err);
	char t2[64];
	fd_path(tfd, t2, sizeof(t2));
	if (ro && mount(NULL, t2, NULL, MS_REMOUNT | MS_RDONLY | base, "mode=755") < 0)
		return err__fail_errno(err, "remount %s readonly", m->dest);
	return 0;
}

static int do_mount(const struct rootfs_ctx *ctx, const struct ctr_mount *m, int rootfd,
		    struct st_err *err)
{
	char src[4096], target[64];
	const char *source = m->source ? m->source : (m->type ? m->type : "none");
	bool is_file = false;
	if (m->bind) {
		if (source[0] != '/')
			snprintf(src, sizeof(src), "%s/%s", ctx->bundle, source), source = src;
		struct stat st;
		if (stat(source, &st) < 0)
			return err__fail_errno(err, "bind mount source %s", source);
		is_file = !S_ISDIR(st.st_mode);
	}
	cleanup_close int fd = rootfs__open_in_root(rootfd, m->dest, is_file, err);
	if (fd < 0)
		return err__prefix(err, "mount %s", m->dest);
	fd_path(fd, target, sizeof(target));
	if (m->type && !strcmp(m->type, "cgroup") && !m->bind)
		return mount_cgroup(ctx, m, rootfd, target, err);
	if (m->bind) {
		if (mount(source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
			return err__fail_errno(err, "bind mount %s on %s", source, m->dest);
		if (m->readonly_remount &&
		    (reopen(rootfd, m->dest, &fd, target, sizeof(target), err) < 0 || remount_bind(target, m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT), err) < 0))
			return -1;
	} else {
		const char *data = m->data && *m->data ? m->data : NULL;
		int r = mount(source, target, m->type, m->flags, data);
		if (r < 0 && errno == EINVAL && data && strstr(data, "gid=5")) {
			/* devpts gid=5 fails where gid 5 is unmapped in the user namespace */
			char d[1024];
			snprintf(d, sizeof(d), "%s", data);
			char *g = strstr(d, "gid=5");
			memmove(g, g + 5 + (g[5] == ','), strlen(g + 5 + (g[5] == ',')) + 1);
			r = mount(source, target, m->type, m->flags, d);
		}
		if (r < 0 && (errno == EPERM || errno == EBUSY) && m->type &&
		    (!strcmp(m->type, "sysfs") || !strcmp(m->type, "mqueue"))) {
			/* Without a new net (ipc) namespace the kernel refuses a fresh
			 * sysfs (mqueue): bind the host's instead. */
			const char *host = !strcmp(m->type, "sysfs") ? "/sys" : "/dev/mqueue";
			r = mount(host, target, NULL, MS_BIND | MS_REC, NULL);
			if (r == 0 && (m->flags & MS_RDONLY) &&
			    (reopen(rootfd, m->dest, &fd, target, sizeof(target), err) < 0 ||
			     remount_bind(target, MS_RDONLY, err) < 0))
				return -1;
		}
		if (r < 0)
			return err__fail_errno(err, "mount %s (%s) on %s", source, m->type, m->dest);
	}
	if (m->propagation && (reopen(rootfd, m->dest, &fd, target, sizeof(target), err) < 0 ||
			       mount(NULL, target, NULL, m->propagation, NULL) < 0))
		return err__fail_errno(err, "set propagation of %s", m->dest);
	return 0;
}

static const struct ctr_device default_devices[] = {
	{"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
	{"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
	{"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

static int make_device(const struct rootfs_ctx *ctx, const struct ctr_device *d, int rootfd,
		       struct st_err *err)
{
	char t[64];
	if (ctx->userns) {
		/* mknod is refused in a user namespace: bind the host's node. */
		cleanup_close int fd = rootfs__open_in_root(rootfd, d->path, true, err);
		if (fd < 0)
			return -1;
		fd_path(fd, t, sizeof(t));
		if (mount(d->path, t, NULL, MS_BIND, NULL) < 0)
			return err__fail_errno(err, "bind device %s", d->path);
		return 0;
	}
	const char *slash = strrchr(d->path, '/');
	char parent[4096];
	snprintf(parent, sizeof(parent), "%.*s", (int)(slash - d->path), d->path);
	cleanup_close int pfd = rootfs__open_in_root(rootfd, parent, false, err);
	if (pfd < 0)
		return -1;
	int dirfd = pfd;
	mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
	unlinkat(dirfd, slash + 1, 0);
	if (mknodat(dirfd, slash + 1, type | (d->mode & 07777),
		    makedev((unsigned)d->major, (unsigned)d->minor)) < 0)
		return err__fail_errno(err, "mknod %s", d->path);
	if ((d->uid || d->gid) && fchownat(dirfd, slash + 1, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return err__fail_errno(err, "chown %s", d->path);
	return 0;
}

static int setup_dev(const struct rootfs_ctx *ctx, int rootfd, struct st_err *err)
{
	const struct ctr_config *cfg = ctx->cfg;
	bool dev_mounted = false, dev_bound = false;
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (!strcmp(cfg->mounts[i].dest, "/dev")) {
			dev_mounted = true;
			dev_bound = cfg->mounts[i].bind;
		}
	if (dev_bound)
		return 0;
	for (size_t i = 0; i < ST_ARRAY_SIZE(default_devices); i++) {
		bool overridden = false;
		for (size_t j = 0; j < cfg->n_devices; j++)
			overridden |= !strcmp(cfg->devices[j].path, default_devices[i].path);
		if (!overridden && make_device(ctx, &default_devices[i], rootfd, err) < 0)
			return -1;
	}
	for (size_t j = 0; j < cfg->n_devices; j++)
		if (make_device(ctx, &cfg->devices[j], rootfd, err) < 0)
			return -1;
	if (!dev_mounted)
		return 0;
	static const char *const links[][2] = {
		{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
	};
	cleanup_close int dfd = rootfs__open_in_root(rootfd, "/dev", false, err);
	if (dfd < 0)
		return -1;
	int dirfd = dfd;
	for (size_t i = 0; i < ST_ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][0], dirfd, links[i][1]) < 0 && errno != EEXIST)
			return err__fail_errno(err, "symlink /dev/%s", links[i][1]);
	return 0;
}

int rootfs__prepare(const struct rootfs_ctx *ctx, struct st_err *err)
{
	const struct ctr_config *cfg = ctx->cfg;
	unsigned long prop = cfg->rootfs_propagation ? cfg->rootfs_propagation : MS_SLAVE | MS_REC;
	/* Nothing we mount may propagate back to the host. Shared and
	 * unbindable are for the container's root, set after the pivot: an
	 * unbindable / could not be bound as the rootfs (crun's order). */
	if (prop & (MS_SHARED | MS_UNBINDABLE))
		prop = MS_SLAVE;
	if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
		return err__fail_errno(err, "make / %s", "private");
	if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		return err__fail_errno(err, "bind mount the rootfs %s", ctx->rootfs);
	cleanup_close int rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return err__fail_errno(err, "open rootfs %s", ctx->rootfs);
	for (size_t i = 0; i < cfg->n_mounts; i++)
		if (do_mount(ctx, &cfg->mounts[i], rootfd, err) < 0)
			return -1;
	return setup_dev(ctx, rootfd, err);
}

int rootfs__pivot(const struct rootfs_ctx *ctx, struct st_err *err)
{
	const struct ctr_config *cfg = ctx->cfg;
	if (chdir(ctx->rootfs) < 0)
		return err__fail_errno(err, "chdir %s", ctx->rootfs);
	if (!ctx->no_pivot && syscall(SYS_pivot_root, ".", ".") == 0) {
		/* The old root is stacked under the new one: detach it. */
		if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 || umount2(".", MNT_DETACH) < 0)
			return err__fail_errno(err, "detach the old root");
	} else {
		log__debug("pivot_root: %s; falling back to MS_MOVE + chroot", strerror(errno));
		if (mount(ctx->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
			return err__fail_errno(err, "move the rootfs to /");
		if (chroot(".") < 0)
			return err__fail_errno(err, "chroot");
	}
	if (chdir("/") < 0)
		return err__fail_errno(err, "chdir /");
	if (cfg->rootfs_propagation && mount(NULL, "/", NULL, cfg->rootfs_propagation, NULL) < 0)
		return err__fail_errno(err, "set rootfs propagation");
	return 0;
}

static int write_sysctl(const char *key, const char *value, struct st_err *err)
{
	char path[512];
	snprintf(path, sizeof(path), "/proc/sys/%s", key);
	for (char *p = path + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "sysctl %s", key);
	if (util__write_all(fd, value, strlen(value), err) < 0)
		return err__prefix(err, "sysctl %s", key);
	return 0;
}

int rootfs__finish(const struct rootfs_ctx *ctx, struct st_err *err)
{
	const struct ctr_config *cfg = ctx->cfg;
	for (size_t i = 0; cfg->sysctl && cfg->sysctl[i]; i += 2)
		if (write_sysctl(cfg->sysctl[i], cfg->sysctl[i + 1], err) < 0)
			return -1;
	for (size_t i = 0; cfg->masked && cfg->masked[i]; i++) {
		const char *p = cfg->masked[i];
		struct stat st;
		if (stat(p, &st) < 0)
			continue;
		int r = S_ISDIR(st.st_mode) ? mount("tmpfs", p, "tmpfs", MS_RDONLY, "size=0")
					    : mount("/dev/null", p, NULL, MS_BIND, NULL);
		if (r < 0)
			return err__fail_errno(err, "mask %s", p);
	}
	for (size_t i = 0; cfg->readonly && cfg->readonly[i]; i++) {
		const char *p = cfg->readonly[i];
		if (access(p, F_OK) < 0)
			continue;
		if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    remount_bind(p, MS_RDONLY | MS_REC, err) < 0)
			return err__fail_errno(err, "make %s readonly", p);
	}
	if (cfg->root_readonly && remount_bind("/", MS_RDONLY, err) < 0)
		return err__prefix(err, "readonly root");
	return 0;
}
