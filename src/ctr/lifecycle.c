/* start, kill, pause/resume, update, ps and delete of an existing container. */
#include "ctr/cgroup.h"
#include "ctr/config.h"
#include "ctr/container.h"
#include "ctr/hooks.h"
#include "ctr/state.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int container__load(const char *root, const char *id, json_t **state, const char **status,
		    struct st_err *err)
{
	if (state__load(root, id, state, err) < 0)
		return -1;
	*status = state__status(root, *state);
	return 0;
}

int container__state_hooks(json_t *state, int kind, const char *status, struct st_err *err)
{
	json_t *hooks = json_object_get(state, "hooks");
	if (!hooks)
		return 0;
	struct ctr_config *cfg = config__new_empty();
	int r = config__parse_hooks(cfg, hooks, err);
	if (r == 0 && cfg->hooks.n[kind]) {
		cleanup_json json_t *oci = state__oci(state, status);
		cleanup_free char *s = json_dumps(oci, JSON_COMPACT);
		hooks__run_warn(cfg->hooks.list[kind], cfg->hooks.n[kind], s);
	}
	config__free(cfg);
	return r;
}

int container__signal_number(const char *s, struct st_err *err)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {
		{"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
		{"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
		{"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
		{"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
		{"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
		{"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},
		{"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
		{"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
	};
	if (isdigit((unsigned char)s[0])) {
		uint64_t v;
		if (util__parse_u64(s, 64, &v, NULL) < 0 || v == 0)
			return err__fail(err, 0, "invalid signal '%s'", s);
		return (int)v;
	}
	const char *n = strncasecmp(s, "SIG", 3) ? s : s + 3;
	for (size_t i = 0; i < ST_ARRAY_SIZE(sigs); i++)
		if (!strcasecmp(n, sigs[i].name))
			return sigs[i].sig;
	return err__fail(err, 0, "unknown signal '%s'", s);
}

static int load_cgroup(json_t *state, struct ctr_cgroup *cg, struct st_err *err)
{
	return cgroup__from_json(json_object_get(state, "cgroup"), cg, err);
}

/* The init writes one byte once start opened the fifo, then keeps its
 * (O_CLOEXEC) end open until its execve closes it: end of file means the
 * program runs, as runc's exec fifo. False when the init died first. */
static bool wait_exec(int fd, json_t *state)
{
	bool got = false;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[16];
		ssize_t n = poll(&p, 1, 100) > 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (n > 0)
			got = true;
		else if (n == 0 && got)
			return true; /* the writer's end closed: exec done (or init gone) */
		else if (!got && !state__alive(state))
			return false;
	}
}

int container__start(const char *root, const char *id, struct st_err *err)
{
	cleanup_json json_t *state = NULL;
	const char *status;
	char fifo[PATH_MAX];
	if (container__load(root, id, &state, &status, err) < 0)
		return -1;
	if (strcmp(status, "created"))
		return err__fail(err, 0, "container '%s' is %s, not created: cannot start it", id, status);
	state__path(root, id, "exec.fifo", fifo, sizeof(fifo));
	/* Non-blocking, so an init that died meanwhile cannot hang us: its
	 * liveness is checked while waiting for its byte. */
	int fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "open %s", fifo);
	bool got = wait_exec(fd, state);
	close(fd);
	unlink(fifo);
	if (!got)
		return err__fail(err, 0, "container '%s' exited before it could start", id);
	return container__state_hooks(state, HOOK_POSTSTART, "running", err);
}

int container__kill(const char *root, const char *id, int sig, bool all, struct st_err *err)
{
	cleanup_json json_t *state = NULL;
	const char *status;
	if (container__load(root, id, &state, &status, err) < 0)
		return -1;
	int r = 0;
	if (!strcmp(status, "stopped")) {
		r = err__fail(err, 0, "container '%s' is not running", id);
	} else if (all) {
		struct ctr_cgroup cg;
		if (load_cgroup(state, &cg, err) < 0 || cgroup__signal_all(&cg, sig, err) < 0)
			r = -1;
		cgroup__free(&cg);
	} else {
		pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		/* The pidfd pins the process: no signal to a recycled pid. */
		if (pfd < 0 || !state__alive(state) || syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0) < 0)
			r = err__fail_errno(err, "kill container '%s'", id);
		if (pfd >= 0)
			close(pfd);
	}
	return r;
}

int container__pause(const char *root, const char *id, bool pause, struct st_err *err)
{
	cleanup_json json_t *state = NULL;
	const char *status;
	if (container__load(root, id, &state, &status, err) < 0)
		return -1;
	int r = 0;
	if (pause && strcmp(status, "running"))
		r = err__fail(err, 0, "container '%s' is %s, not running: cannot pause it", id, status);
	else if (!pause && strcmp(status, "paused"))
		r = err__fail(err, 0, "container '%s' is %s, not paused: cannot resume it", id, status);
	if (r == 0) {
		struct ctr_cgroup cg;
		if (load_cgroup(state, &cg, err) < 0 || cgroup__freeze(&cg, pause, err) < 0)
			r = -1;
		cgroup__free(&cg);
	}
	return r;
}

/* The cgroup recorded in a running (or created, paused) container's state. */
static int running_cgroup(const char *root, const char *id, struct ctr_cgroup *cg, struct st_err *err)
{
	cleanup_json json_t *state = NULL;
	const char *status;
	if (container__load(root, id, &state, &status, err) < 0)
		return -1;
	int r;
	if (!strcmp(status, "stopped"))
		r = err__fail(err, 0, "container '%s' is not running", id);
	else
		r = load_cgroup(state, cg, err);
	return r;
}

int container__update(const char *root, const char *id, const struct ctr_resources *res, struct st_err *err)
{
	struct ctr_cgroup cg = {0};
	int r = running_cgroup(root, id, &cg, err);
	if (r == 0)
		r = cgroup__apply(&cg, res, err);
	cgroup__free(&cg);
	return r;
}

int container__pids(const char *root, const char *id, pid_t **pids, size_t *n, struct st_err *err)
{
	struct ctr_cgroup cg = {0};
	int r = running_cgroup(root, id, &cg, err);
	if (r == 0)
		r = cgroup__pids(&cg, pids, n, err);
	cgroup__free(&cg);
	return r;
}

static void wait_gone(json_t *state)
{
	pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd < 0)
		return;
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	if (state__alive(state))
		poll(&p, 1, 10000);
	close(pfd);
}

int container__delete(const char *root, const char *id, bool force, struct st_err *err)
{
	cleanup_json json_t *state = NULL;
	const char *status;
	if (container__load(root, id, &state, &status, err) < 0) {
		char path[PATH_MAX];
		state__path(root, id, NULL, path, sizeof(path));
		if (!force || state__check_id(id, NULL) < 0)
			return -1;
		if (access(path, F_OK) < 0) {
			/* Already gone: --force succeeds, as runc's and crun's
			 * (podman's cleanup deletes what may have been deleted). */
			if (errno != ENOENT)
				return -1;
			log__debug("%s", err->msg);
			return 0;
		}
		/* Unreadable state: nothing to stop, but --force clears the name. */
		log__warn("%s; removing its state directory only", err->msg);
		state__remove_dir(root, id);
		return 0;
	}
	if (!force && strcmp(status, "stopped") && strcmp(status, "created")) {
		return err__fail(err, 0, "container '%s' is %s: stop it first or use delete --force", id, status);
	}
	struct ctr_cgroup cg = {0};
	bool have_cg = load_cgroup(state, &cg, NULL) == 0;
	if (strcmp(status, "stopped")) {
		pid_t pid = (pid_t)json_integer_value(json_object_get(state, "pid"));
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (pfd >= 0 && state__alive(state))
			syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
		if (pfd >= 0)
			close(pfd);
		if (have_cg) {
			cgroup__signal_all(&cg, SIGKILL, NULL);
			if (!strcmp(status, "paused"))
				cgroup__freeze(&cg, false, NULL);
		}
		wait_gone(state);
	}
	if (have_cg)
		cgroup__destroy(&cg);
	cgroup__free(&cg);
	if (container__state_hooks(state, HOOK_POSTSTOP, "stopped", err) < 0)
		err__print(err); /* a malformed hook list: reported, the delete still happens */
	state__remove_dir(root, id);
	return 0;
}
