/* exec: a new process in a running container's namespaces and cgroups. The
 * process starts from the bundle's process (user, caps, rlimits, seccomp)
 * with --process or the command line replacing what they give. The command
 * line is parsed in cmd_exec.c. */
#include "ctr/caps.h"
#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "ctr/container.h"
#include "ctr/process.h"
#include "ctr/seccomp_profile.h"
#include "ctr/state.h"
#include "ctr/terminal.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const int ns_order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
			       CLONE_NEWCGROUP, CLONE_NEWNS};

/* The container's namespace of a kind, or -1 when it is ours too. */
static int open_ns(pid_t pid, int type)
{
	char path[64], self[64];
	struct stat a, b;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, config__ns_proc_name(type));
	snprintf(self, sizeof(self), "/proc/self/ns/%s", config__ns_proc_name(type));
	if (stat(path, &a) < 0 || (stat(self, &b) == 0 && a.st_ino == b.st_ino))
		return -1;
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* Merge the exec options into the bundle's process. */
static int build_process(struct ctr_config *cfg, const struct ctr_exec_opts *eo, struct ctr_process *out,
			 struct ctr_config **pcfg, struct st_err *err)
{
	*out = cfg->process;
	if (eo->process_file) {
		cleanup_free char *text = NULL;
		size_t len;
		if (util__read_file(eo->process_file, 1 << 20, &text, &len, err) < 0)
			return -1;
		json_error_t jerr;
		json_t *proc = json_loadb(text, len, 0, &jerr);
		if (!proc)
			return err__fail(err, 0, "%s: malformed JSON: %s", eo->process_file, jerr.text);
		cleanup_json json_t *wrap = json_pack("{s:s, s:{s:s}, s:o}", "ociVersion", "1.0.2", "root", "path",
						      "/", "process", proc);
		cleanup_free char *s = json_dumps(wrap, JSON_COMPACT);
		int r = config__parse(s, strlen(s), pcfg, err);
		if (r < 0)
			return err__prefix(err, "%s", eo->process_file);
		*out = (*pcfg)->process;
		return 0;
	}
	if (!eo->args || !eo->args[0])
		return err__fail(err, 0, "exec: a command is required");
	out->args = (const char **)eo->args;
	out->terminal = eo->tty;
	if (eo->cwd)
		out->cwd = eo->cwd;
	if (eo->add_caps) {
		for (int s = 0; s < CAPSETS; s++)
			out->caps[s] |= eo->add_caps;
		out->has_caps = true;
	}
	if (eo->nnp)
		out->no_new_privs = true;
	if (eo->user) {
		uint64_t uid, gid = 0;
		char u[64];
		snprintf(u, sizeof(u), "%s", eo->user);
		char *colon = strchr(u, ':');
		if (colon)
			*colon = 0;
		if (util__parse_u64(u, UINT32_MAX - 1, &uid, err) < 0 ||
		    (colon && util__parse_u64(colon + 1, UINT32_MAX - 1, &gid, err) < 0))
			return err__prefix(err, "exec --user");
		out->uid = (uint32_t)uid;
		out->gid = (uint32_t)gid;
	}
	if (eo->n_env) {
		size_t n = 0;
		while (cfg->process.env && cfg->process.env[n])
			n++;
		/* Lives until exec: the config arena is not reachable here, use a static. */
		static const char *env[512];
		size_t k = 0;
		for (size_t i = 0; i < n && k < 400; i++)
			env[k++] = cfg->process.env[i];
		for (size_t i = 0; i < eo->n_env && k < 510; i++)
			env[k++] = eo->env[i];
		env[k] = NULL;
		out->env = env;
	}
	return 0;
}

static __attribute__((noreturn)) void exec_child(int sync, const int *nsfd, const struct ctr_process *p,
						 void *seccomp, int console, unsigned preserve_fds,
						 const struct ctr_cgroup *cg, bool self_join)
{
	struct st_err err = {0};
	char go;
	/* still host root here: join v1 cheaply, as the container's init did */
	if (self_join && cgroup__enter_self_v1(cg, &err) < 0)
		goto fail;
	if (read(sync, &go, 1) != 1)
		_exit(1);
	for (size_t i = 0; i < ST_ARRAY_SIZE(ns_order); i++)
		if (nsfd[i] >= 0 && setns(nsfd[i], ns_order[i]) < 0) {
			err__fail_errno(&err, "join the container's %s namespace", config__ns_proc_name(ns_order[i]));
			goto fail;
		}
	if (p->terminal) {
		int master;
		if (terminal__setup(&master, 0, p->console_rows, p->console_cols, &err) < 0 ||
		    terminal__send_fd(console >= 0 ? console : sync, master, NULL, 0, &err) < 0)
			goto fail;
		close(master);
	}
	if (process__set_rlimits(p, &err) == 0)
		process__exec(p, seccomp, preserve_fds, &err);
fail:
	if (send(sync, err.msg, strlen(err.msg) + 1, MSG_NOSIGNAL) < 0)
		err__print(&err);
	_exit(127);
}

/* What exec holds; released on every return. */
struct exec_run {
	json_t *state;
	struct ctr_config *cfg, *pcfg;
	struct ctr_cgroup cg;
	void *seccomp;
	int nsfd[ST_ARRAY_SIZE(ns_order)], sv[2], console, pidns, own_pidns, master;
	pid_t child;
};

static void exec_release(struct exec_run *x)
{
	if (x->child > 0) {
		kill(x->child, SIGKILL);
		waitpid(x->child, NULL, 0);
	}
	for (size_t i = 0; i < ST_ARRAY_SIZE(x->nsfd); i++)
		if (x->nsfd[i] >= 0)
			close(x->nsfd[i]);
	int fds[] = {x->sv[0], x->sv[1], x->console, x->pidns, x->own_pidns, x->master};
	for (size_t i = 0; i < ST_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	cgroup__free(&x->cg);
	seccomp_profile__free(x->seccomp);
	config__free(x->pcfg);
	config__free(x->cfg);
	json_decref(x->state);
}

int container__exec(const char *root, const char *id, const struct ctr_exec_opts *eo, struct st_err *err)
{
	__attribute__((cleanup(exec_release))) struct exec_run x = {
		.sv = {-1, -1}, .console = -1, .pidns = -1, .own_pidns = -1, .master = -1, .child = -1};
	for (size_t i = 0; i < ST_ARRAY_SIZE(x.nsfd); i++)
		x.nsfd[i] = -1;
	const char *status;
	struct ctr_process p;
	char path[4096];
	if (container__load(root, id, &x.state, &status, err) < 0)
		return -1;
	if (strcmp(status, "running"))
		return err__fail(err, 0, "container '%s' is %s, not running: cannot exec", id, status);
	snprintf(path, sizeof(path), "%s/config.json", json_string_value(json_object_get(x.state, "bundle")));
	if (config__load(path, &x.cfg, err) < 0 || build_process(x.cfg, eo, &p, &x.pcfg, err) < 0 ||
	    cgroup__from_json(json_object_get(x.state, "cgroup"), &x.cg, err) < 0)
		return -1;
	if (p.has_caps && !config__has_ns(x.cfg, CLONE_NEWUSER) && caps__check_grantable(p.caps, err) < 0)
		return -1;
	if (x.cfg->seccomp && seccomp_profile__build(x.cfg->seccomp, &x.seccomp, err) < 0)
		return -1;
	if (p.terminal && !eo->console_socket && eo->detach)
		return err__fail(err, 0, "exec --tty --detach needs --console-socket");
	if (p.terminal && eo->console_socket && (x.console = terminal__connect(eo->console_socket, err)) < 0)
		return -1;
	pid_t pid = (pid_t)json_integer_value(json_object_get(x.state, "pid"));
	for (size_t i = 0; i < ST_ARRAY_SIZE(ns_order); i++)
		x.nsfd[i] = open_ns(pid, ns_order[i]);
	x.pidns = open_ns(pid, CLONE_NEWPID);
	x.own_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (x.pidns >= 0 && setns(x.pidns, CLONE_NEWPID) < 0)
		return err__fail_errno(err, "join the container's pid namespace");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x.sv) < 0)
		return err__fail_errno(err, "socketpair");
	bool into = false, self_join = geteuid() == 0;
	cleanup_close int cgfd = cgroup__unified_fd(&x.cg);
	x.child = container__clone(0, cgfd, &into);
	if (x.child == 0)
		exec_child(x.sv[1], x.nsfd, &p, x.seccomp, x.console, eo->preserve_fds, &x.cg, self_join);
	/* Only that child belongs in the container's pid namespace (the leak
	 * checker's helper thread, for one, must not). */
	if (x.pidns >= 0 && x.own_pidns >= 0)
		setns(x.own_pidns, CLONE_NEWPID);
	if (x.child < 0)
		return err__fail_errno(err, "fork");
	close(x.sv[1]);
	x.sv[1] = -1;
	if (cgroup__enter_rest(&x.cg, x.child, !self_join, !into, err) < 0)
		return -1;
	if (write(x.sv[0], "g", 1) != 1)
		return err__fail_errno(err, "start the exec process");
	if (p.terminal && x.console < 0 && (x.master = terminal__recv_fd(x.sv[0], NULL, 0, err)) < 0)
		return -1;
	char msg[ST_ERR_MSG_MAX];
	ssize_t n = recv(x.sv[0], msg, sizeof(msg) - 1, 0);
	if (n > 0) {
		msg[n] = 0;
		return err__fail(err, 0, "%s", msg);
	}
	container__write_pid_file(eo->pid_file, x.child);
	if (eo->detach) {
		x.child = -1;
		return 0;
	}
	if (x.master >= 0)
		terminal__proxy(x.master);
	int st;
	while (waitpid(x.child, &st, 0) < 0 && errno == EINTR)
		;
	x.child = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
