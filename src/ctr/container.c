#include "ctr/container.h"
#include "ctr/caps.h"
#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "ctr/hooks.h"
#include "ctr/process.h"
#include "ctr/rootfs.h"
#include "ctr/seccomp_profile.h"
#include "ctr/state.h"
#include "ctr/terminal.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { SYNC_GO = 1, SYNC_READY, SYNC_ERROR, SYNC_TTY, SYNC_JOINED, SYNC_PID };

struct sync_msg {
	int type;
	int value;
	char msg[ST_ERR_MSG_MAX];
};

/* Everything the init needs: the runtime's memory, copied by clone. */
struct init_ctx {
	const struct ctr_opts *o;
	struct ctr_config *cfg;
	struct ctr_cgroup *cg;
	const char *bundle, *rootfs;
	void *seccomp;
	int sync_fd, console_fd, state_dirfd;
	bool fifo;
	bool self_join; /* the init moves itself into the v1 hierarchies */
	bool early;     /* an intermediate process joined and created the namespaces */
	pid_t host_pid;
};

static int send_msg(int fd, int type, int value, const char *text)
{
	struct sync_msg m = {.type = type, .value = value};
	if (text)
		snprintf(m.msg, sizeof(m.msg), "%s", text);
	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : -1;
}

static int run_hooks_now(const struct init_ctx *c, int kind, const char *status, struct st_err *err)
{
	const struct ctr_hooks *h = &c->cfg->hooks;
	if (!h->n[kind])
		return 0;
	cleanup_free char *s = state__oci_string(c->o->id, status, c->host_pid, c->bundle,
						 c->cfg->annotations);
	return hooks__run(h->list[kind], h->n[kind], s, err);
}

static int join_namespaces(const struct ctr_config *cfg, bool user_pass, struct st_err *err)
{
	for (size_t i = 0; i < cfg->n_ns; i++) {
		const struct ctr_ns *ns = &cfg->ns[i];
		if (!ns->path || ns->type == CLONE_NEWPID || (ns->type == CLONE_NEWUSER) != user_pass)
			continue;
		cleanup_close int fd = open(ns->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return err__fail_errno(err, "open namespace %s", ns->path);
		if (setns(fd, ns->type) < 0)
			return err__fail_errno(err, "join namespace %s", ns->path);
	}
	return 0;
}

static int init_setup(struct init_ctx *c, struct st_err *err)
{
	const struct ctr_config *cfg = c->cfg;
	struct sync_msg m;
	/* Its own session, as with runc and crun: out of the caller's process
	 * group (conmon's), so a signal to that group does not reach it. */
	if (setsid() < 0)
		return err__fail_errno(err, "setsid");
	if (c->self_join && cgroup__enter_self_v1(c->cg, err) < 0)
		return -1;
	if (send_msg(c->sync_fd, SYNC_JOINED, 0, NULL) < 0)
		_exit(1);
	if (recv(c->sync_fd, &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_GO)
		_exit(1); /* the runtime went away: nothing to report to */
	c->host_pid = m.value;
	if (!c->early && (join_namespaces(cfg, true, err) < 0 || join_namespaces(cfg, false, err) < 0))
		return -1;
	bool userns = config__has_ns(cfg, CLONE_NEWUSER);
	if (userns && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return err__fail_errno(err, "become root in the user namespace");
	if ((cfg->ns_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
		return err__fail_errno(err, "new cgroup namespace");
	if (cfg->hostname && *cfg->hostname && sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		return err__fail_errno(err, "sethostname");
	if (cfg->domainname && *cfg->domainname &&
	    setdomainname(cfg->domainname, strlen(cfg->domainname)) < 0)
		return err__fail_errno(err, "setdomainname");
	umask(0);
	struct rootfs_ctx rctx = {cfg, c->rootfs, c->bundle, c->cg, userns, c->o->no_pivot};
	bool mntns = cfg->ns_flags & CLONE_NEWNS;
	if (mntns && rootfs__prepare(&rctx, err) < 0)
		return -1;
	/* The spec's moment for createContainer: mounts done, pivot not yet. */
	if (run_hooks_now(c, HOOK_CREATE_CONTAINER, "creating", err) < 0)
		return -1;
	if (mntns ? rootfs__pivot(&rctx, err) < 0 : (chroot(c->rootfs) < 0 || chdir("/") < 0))
		return mntns ? -1 : err__fail_errno(err, "chroot %s", c->rootfs);
	if (cfg->process.terminal) {
		int master;
		if (terminal__setup(&master, cfg->ns_flags & CLONE_NEWNS, cfg->process.console_rows,
				    cfg->process.console_cols, err) < 0)
			return -1;
		/* No console socket (run in the foreground): the runtime proxies it. */
		struct sync_msg tty = {.type = SYNC_TTY};
		int r = c->console_fd >= 0 ? terminal__send_fd(c->console_fd, master, NULL, 0, err)
					   : terminal__send_fd(c->sync_fd, master, &tty, sizeof(tty), err);
		close(master);
		if (c->console_fd >= 0)
			close(c->console_fd);
		if (r < 0)
			return -1;
	}
	if (rootfs__finish(&rctx, err) < 0 || process__set_rlimits(&cfg->process, err) < 0 ||
	    process__check_exec(&cfg->process, err) < 0)
		return -1;
	if (c->fifo) {
		send_msg(c->sync_fd, SYNC_READY, 0, NULL);
		close(c->sync_fd);
		c->sync_fd = -1;
		/* Blocks until `start` opens the fifo for reading; the fd stays
		 * open (O_CLOEXEC) so start sees end of file once we exec. */
		int fd = openat(c->state_dirfd, "exec.fifo", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			return err__fail_errno(err, "wait for start");
		close(c->state_dirfd);
	}
	if (run_hooks_now(c, HOOK_START_CONTAINER, "created", err) < 0)
		return -1;
	return process__exec(&cfg->process, c->seccomp, c->o->preserve_fds, err);
}

static __attribute__((noreturn)) void init_main(struct init_ctx *c)
{
	struct st_err err = {0};
	init_setup(c, &err);
	if (c->sync_fd < 0 || send_msg(c->sync_fd, SYNC_ERROR, err.errnum, err.msg) < 0)
		err__print(&err); /* after create returned, stderr is all there is */
	_exit(127);
}

/* A user namespace joined by path must own the namespaces the container
 * creates: this child joins it first, then unshares them, and forks the init
 * when a new pid namespace needs one. It reports the init's pid (0: itself). */
static __attribute__((noreturn)) void intermediate_main(struct init_ctx *c)
{
	const struct ctr_config *cfg = c->cfg;
	struct st_err err = {0};
	if (c->self_join && cgroup__enter_self_v1(c->cg, &err) < 0)
		goto fail;
	c->self_join = false; /* the init inherits the membership */
	if (join_namespaces(cfg, true, &err) < 0 || join_namespaces(cfg, false, &err) < 0)
		goto fail;
	if (unshare(cfg->ns_flags & ~(CLONE_NEWCGROUP | CLONE_NEWUSER)) < 0) {
		err__fail_errno(&err, "create the namespaces in the joined user namespace");
		goto fail;
	}
	c->early = true;
	if (!(cfg->ns_flags & CLONE_NEWPID)) {
		if (send_msg(c->sync_fd, SYNC_PID, 0, NULL) < 0)
			_exit(1);
		init_main(c);
	}
	pid_t pid = fork();
	if (pid == 0)
		init_main(c);
	if (pid < 0) {
		err__fail_errno(&err, "fork the container process");
		goto fail;
	}
	send_msg(c->sync_fd, SYNC_PID, pid, NULL);
	_exit(0);
fail:
	send_msg(c->sync_fd, SYNC_ERROR, err.errnum, err.msg);
	_exit(127);
}

static bool joins_user_ns(const struct ctr_config *cfg)
{
	for (size_t i = 0; i < cfg->n_ns; i++)
		if (cfg->ns[i].type == CLONE_NEWUSER && cfg->ns[i].path)
			return true;
	return false;
}

struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

#define ST_CLONE_INTO_CGROUP 0x200000000ULL

pid_t container__clone(int flags, int cgroup_fd, bool *into)
{
	struct clone_args_v2 a = {.flags = (uint64_t)flags, .exit_signal = SIGCHLD};
	*into = false;
	if (cgroup_fd >= 0) {
		a.flags |= ST_CLONE_INTO_CGROUP;
		a.cgroup = (uint64_t)cgroup_fd;
		pid_t pid = (pid_t)syscall(SYS_clone3, &a, sizeof(a));
		if (pid >= 0) {
			*into = true;
			return pid;
		}
		/* older kernels: join by writing the pid afterwards */
		a.flags &= ~ST_CLONE_INTO_CGROUP;
		a.cgroup = 0;
	}
	pid_t pid = (pid_t)syscall(SYS_clone3, &a, 64);
	if (pid < 0 && errno == ENOSYS)
		pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
	return pid;
}

/* Rootless with ranges beyond our own id: the setuid helpers of uidmap
 * check /etc/subuid and /etc/subgid for us. */
static int run_newidmap(pid_t pid, const char *file, const struct ctr_idmap *map, size_t n,
			struct st_err *err)
{
	const char *tool = strcmp(file, "uid_map") ? "newgidmap" : "newuidmap";
	char args[64][16];
	char *argv[68];
	size_t k = 0;
	argv[k++] = (char *)tool;
	snprintf(args[0], sizeof(args[0]), "%d", pid);
	argv[k++] = args[0];
	for (size_t i = 0; i < n && k < 64; i++) {
		snprintf(args[k], sizeof(args[k]), "%u", map[i].container_id);
		argv[k] = args[k], k++;
		snprintf(args[k], sizeof(args[k]), "%u", map[i].host_id);
		argv[k] = args[k], k++;
		snprintf(args[k], sizeof(args[k]), "%u", map[i].size);
		argv[k] = args[k], k++;
	}
	argv[k] = NULL;
	pid_t child = fork();
	if (child < 0)
		return err__fail_errno(err, "fork %s", tool);
	if (child == 0) {
		execvp(tool, argv);
		_exit(127);
	}
	int st;
	while (waitpid(child, &st, 0) < 0)
		if (errno != EINTR)
			return err__fail_errno(err, "wait for %s", tool);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return err__fail(err, 0, "%s failed (is uidmap installed, and /etc/sub%cid set up?)", tool,
			       tool[3] == 'u' ? 'u' : 'g');
	return 0;
}

static int write_idmap(pid_t pid, const char *file, const struct ctr_idmap *map, size_t n,
		       struct st_err *err)
{
	char path[64], buf[4096];
	size_t len = 0;
	bool own = n == 1 && map[0].size == 1 &&
		   map[0].host_id == (strcmp(file, "uid_map") ? getegid() : geteuid());
	if (geteuid() != 0 && !own)
		return run_newidmap(pid, file, map, n, err);
	for (size_t i = 0; i < n && len < sizeof(buf) - 40; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", map[i].container_id,
					map[i].host_id, map[i].size);
	if (geteuid() != 0 && !strcmp(file, "gid_map")) {
		/* An unprivileged writer may map its own gid only once setgroups is off. */
		snprintf(path, sizeof(path), "/proc/%d/setgroups", pid);
		cleanup_close int sfd = open(path, O_WRONLY | O_CLOEXEC);
		if (sfd < 0 || write(sfd, "deny", 4) != 4)
			return err__fail_errno(err, "write %s", path);
	}
	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	cleanup_close int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		return err__fail_errno(err, "write %s", file);
	return 0;
}

void container__write_pid_file(const char *path, pid_t pid)
{
	if (!path)
		return;
	char tmp[4096], buf[32];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	int n = snprintf(buf, sizeof(buf), "%d", pid);
	if (write(fd, buf, (size_t)n) == n)
		rename(tmp, path);
	close(fd);
}

static json_t *make_state(const struct ctr_opts *o, const struct ctr_config *cfg,
			  const struct ctr_cgroup *cg, const char *bundle, const char *rootfs, pid_t pid)
{
	char created[64];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(created + n, sizeof(created) - n, ".%09ldZ", ts.tv_nsec);
	json_t *s = json_pack("{s:s, s:i, s:I, s:s, s:s, s:s, s:o, s:b}", "id", o->id, "pid", (int)pid,
			      "starttime", (json_int_t)state__proc_starttime(pid), "bundle", bundle,
			      "rootfs", rootfs, "created", created, "cgroup", cgroup__to_json(cg),
			      "systemd", o->systemd_cgroup);
	if (cfg->annotations)
		json_object_set(s, "annotations", cfg->annotations);
	json_t *hooks = json_object_get(cfg->json, "hooks");
	if (hooks)
		json_object_set(s, "hooks", hooks);
	return s;
}

static pid_t child_pid;

static void forward_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
}

/* From before the container's program may run: a signal that reaches a
 * foreground `run` once the program started is the program's, never run's
 * own death (a TERM between the start and the wait killed run itself). */
static void forward_signals_to(pid_t pid)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
	struct sigaction sa = {.sa_handler = forward_signal};
	child_pid = pid;
	for (size_t i = 0; i < ST_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int wait_child(pid_t pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 255;
	child_pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int resolve_paths(const struct ctr_opts *o, bool foreground, char *bundle, char *rootfs,
			 struct ctr_config **cfg, struct st_err *err)
{
	char path[PATH_MAX + 16];
	if (!realpath(o->bundle ? o->bundle : ".", bundle))
		return err__fail_errno(err, "bundle %s", o->bundle ? o->bundle : ".");
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	if (config__load(path, cfg, err) < 0)
		return -1;
	if ((*cfg)->root_path[0] == '/')
		snprintf(path, sizeof(path), "%s", (*cfg)->root_path);
	else
		snprintf(path, sizeof(path), "%s/%s", bundle, (*cfg)->root_path);
	struct stat st;
	if (!realpath(path, rootfs) || stat(rootfs, &st) < 0)
		return err__fail_errno(err, "rootfs %s", path);
	if (!S_ISDIR(st.st_mode))
		return err__fail(err, 0, "rootfs %s is not a directory", path);
	if ((*cfg)->process.terminal && !o->console_socket && !foreground)
		return err__fail(err, 0, "process.terminal is true: --console-socket is required");
	return 0;
}

/* Clone the init with the namespaces of the config, joining a pid namespace
 * given by path for the clone only. */
static pid_t spawn_init(struct init_ctx *c, bool *into_cgroup, struct st_err *err)
{
	const struct ctr_config *cfg = c->cfg;
	cleanup_close int own_pidns = -1, target = -1;
	for (size_t i = 0; i < cfg->n_ns; i++)
		if (cfg->ns[i].type == CLONE_NEWPID && cfg->ns[i].path) {
			own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
			target = open(cfg->ns[i].path, O_RDONLY | O_CLOEXEC);
			if (target < 0 || own_pidns < 0 || setns(target, CLONE_NEWPID) < 0)
				return err__fail_errno(err, "join pid namespace %s", cfg->ns[i].path);
		}
	cleanup_close int cgfd = cgroup__unified_fd(c->cg);
	bool via = joins_user_ns(cfg);
	/* the intermediate's child must come back to us for run to wait on it */
	if (via && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		return err__fail_errno(err, "become a subreaper");
	pid_t pid = container__clone(via ? 0 : cfg->ns_flags & ~CLONE_NEWCGROUP, cgfd, into_cgroup);
	if (pid == 0) {
		if (via)
			intermediate_main(c);
		init_main(c);
	}
	int e = errno;
	if (own_pidns >= 0)
		setns(own_pidns, CLONE_NEWPID);
	if (pid < 0)
		return err__fail(err, e, "clone the container process");
	return pid;
}

/* What create holds; released on every return, torn down unless kept. */
struct launch {
	const struct ctr_opts *o;
	struct ctr_config *cfg;
	struct ctr_cgroup cg;
	void *seccomp;
	json_t *state;
	int sv[2], console, state_dirfd, master;
	pid_t pid;
	bool dir_made, keep;
};

static void launch_release(struct launch *l)
{
	if (!l->keep) {
		if (l->pid > 0) {
			kill(l->pid, SIGKILL);
			waitpid(l->pid, NULL, 0);
		}
		cgroup__destroy(&l->cg);
		if (l->dir_made)
			state__remove_dir(l->o->root, l->o->id);
	}
	cgroup__free(&l->cg);
	int fds[] = {l->sv[0], l->sv[1], l->console, l->state_dirfd, l->master};
	for (size_t i = 0; i < ST_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	json_decref(l->state);
	seccomp_profile__free(l->seccomp);
	config__free(l->cfg);
}

static int set_oom_score_adj(pid_t pid, int adj, struct st_err *err)
{
	char p[64], v[16];
	snprintf(p, sizeof(p), "/proc/%d/oom_score_adj", pid);
	snprintf(v, sizeof(v), "%d", adj);
	cleanup_close int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || util__write_all(fd, v, strlen(v), err) < 0)
		return err__fail_errno(err, "set oom_score_adj");
	return 0;
}

/* With an intermediate: its report of the init's pid (then reap it), and
 * possibly the init's JOINED already, in either order. */
static int await_init_pid(struct launch *l, bool *joined, struct st_err *err)
{
	for (bool have_pid = false; !have_pid;) {
		struct sync_msg m = {0};
		if (recv(l->sv[0], &m, sizeof(m), 0) != sizeof(m))
			return err__fail(err, 0, "the container process exited during setup");
		if (m.type == SYNC_ERROR)
			return err__fail(err, 0, "%s", m.msg);
		if (m.type == SYNC_JOINED)
			*joined = true;
		if (m.type == SYNC_PID) {
			have_pid = true;
			if (m.value > 0) {
				waitpid(l->pid, NULL, 0);
				l->pid = m.value;
			}
		}
	}
	return 0;
}

/* The init's answer after GO: the pty master first when the runtime proxies
 * it, then READY (create), end of file (exec done) or an error. */
static int await_init(struct launch *l, struct st_err *err)
{
	struct sync_msg m = {0};
	if (l->cfg->process.terminal && l->console < 0) {
		l->master = terminal__recv_fd(l->sv[0], &m, sizeof(m), err);
		if (l->master < 0)
			return m.type == SYNC_ERROR ? err__fail(err, 0, "%s", m.msg) : -1;
	}
	ssize_t n = recv(l->sv[0], &m, sizeof(m), 0);
	if (n == sizeof(m) && m.type == SYNC_ERROR)
		return err__fail(err, 0, "%s", m.msg);
	if (l->state_dirfd >= 0 && (n != sizeof(m) || m.type != SYNC_READY))
		return err__fail(err, 0, "the container process exited during setup");
	return 0;
}

int container__create(const struct ctr_opts *o, bool run, int *exit_code, struct st_err *err)
{
	char bundle[PATH_MAX], rootfs[PATH_MAX], dir[PATH_MAX];
	__attribute__((cleanup(launch_release))) struct launch l = {
		.o = o, .sv = {-1, -1}, .console = -1, .state_dirfd = -1, .master = -1, .pid = -1};
	bool fifo = !run;

	if (state__check_id(o->id, err) < 0 ||
	    resolve_paths(o, run && !o->detach, bundle, rootfs, &l.cfg, err) < 0)
		return -1;
	struct ctr_config *cfg = l.cfg;
	if (cfg->process.has_caps && !config__has_ns(cfg, CLONE_NEWUSER) &&
	    caps__check_grantable(cfg->process.caps, err) < 0)
		return -1;
	if (cfg->seccomp && seccomp_profile__build(cfg->seccomp, &l.seccomp, err) < 0)
		return -1;
	if (state__create_dir(o->root, o->id, err) < 0)
		return -1;
	l.dir_made = true;
	if (cgroup__create(cfg->cgroups_path, o->id, o->systemd_cgroup, &l.cg, err) < 0) {
		/* Rootless without a delegated cgroup: run without one unless limits were asked. */
		if (geteuid() == 0 || cfg->has_resources_limits ||
		    (err->errnum != EACCES && err->errnum != EPERM && err->errnum != EROFS))
			return -1;
		log__debug("rootless: no cgroup (%s)", err->msg);
	}
	if (cgroup__apply(&l.cg, &cfg->res, err) < 0 ||
	    cgroup__allow_devices(&l.cg, cfg->devices, cfg->n_devices, err) < 0 ||
	    cgroup__v2_devices(&l.cg, &cfg->res, cfg->devices, cfg->n_devices, err) < 0)
		return -1;
	state__path(o->root, o->id, NULL, dir, sizeof(dir));
	if (fifo) {
		char f[PATH_MAX + 16];
		snprintf(f, sizeof(f), "%s/exec.fifo", dir);
		if (mkfifo(f, 0622) < 0 || chmod(f, 0622) < 0)
			return err__fail_errno(err, "mkfifo %s", f);
		if ((l.state_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
			return err__fail_errno(err, "open %s", dir);
	}
	if (cfg->process.terminal && o->console_socket &&
	    (l.console = terminal__connect(o->console_socket, err)) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, l.sv) < 0)
		return err__fail_errno(err, "socketpair");
	struct init_ctx c = {.o = o, .cfg = cfg, .cg = &l.cg, .bundle = bundle, .rootfs = rootfs,
			     .seccomp = l.seccomp, .sync_fd = l.sv[1], .console_fd = l.console,
			     .state_dirfd = l.state_dirfd, .fifo = fifo};
	/* In a new user namespace the init is no longer host root: the runtime
	 * moves it instead. */
	c.self_join = !(cfg->ns_flags & CLONE_NEWUSER) && geteuid() == 0;
	bool into_cgroup = false;
	if ((l.pid = spawn_init(&c, &into_cgroup, err)) < 0)
		return -1;
	close(l.sv[1]);
	l.sv[1] = -1;
	bool joined = false;
	if (joins_user_ns(cfg) && await_init_pid(&l, &joined, err) < 0)
		return -1;
	c.host_pid = l.pid;
	if ((cfg->ns_flags & CLONE_NEWUSER) &&
	    (write_idmap(l.pid, "uid_map", cfg->uid_maps, cfg->n_uid_maps, err) < 0 ||
	     write_idmap(l.pid, "gid_map", cfg->gid_maps, cfg->n_gid_maps, err) < 0))
		return -1;
	/* What neither the clone nor the init itself did is left to us. */
	if (cgroup__enter_rest(&l.cg, l.pid, !c.self_join, !into_cgroup, err) < 0)
		return -1;
	struct sync_msg jm = {0};
	if (!joined && (recv(l.sv[0], &jm, sizeof(jm), 0) != sizeof(jm) || jm.type != SYNC_JOINED))
		return jm.type == SYNC_ERROR ? err__fail(err, 0, "%s", jm.msg)
					     : err__fail(err, 0, "the container process exited during setup");
	if (cfg->process.has_oom_score_adj && set_oom_score_adj(l.pid, cfg->process.oom_score_adj, err) < 0)
		return -1;
	l.state = make_state(o, cfg, &l.cg, bundle, rootfs, l.pid);
	if (state__write(o->root, o->id, l.state, err) < 0 ||
	    run_hooks_now(&c, HOOK_PRESTART, "created", err) < 0 ||
	    run_hooks_now(&c, HOOK_CREATE_RUNTIME, "creating", err) < 0)
		return -1;
	if (run && !o->detach)
		forward_signals_to(l.pid);
	if (send_msg(l.sv[0], SYNC_GO, l.pid, NULL) < 0)
		return err__fail_errno(err, "start the container process");
	if (await_init(&l, err) < 0)
		return -1;
	container__write_pid_file(o->pid_file, l.pid);
	if (run && container__state_hooks(l.state, HOOK_POSTSTART, "running", err) < 0)
		return -1;
	if (!run || o->detach) {
		l.keep = true;
		return 0;
	}
	if (l.master >= 0)
		terminal__proxy(l.master);
	*exit_code = wait_child(l.pid);
	l.pid = -1; /* reaped: the release below removes cgroups and state */
	if (container__state_hooks(l.state, HOOK_POSTSTOP, "stopped", err) < 0)
		err__print(err);
	return 0;
}
