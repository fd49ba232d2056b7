#include "host/vmproc.h"
#include "common/cleanup.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Async-signal-safe decimal formatting for the keeper (it runs in a fork of
 * a multi-threaded process: no malloc, no stdio). */
static size_t fmt_uint(char *buf, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		buf[i++] = tmp[--n];
	return i;
}

static void close_all_but(int a, int b)
{
	if (a > b) {
		int t = a;
		a = b;
		b = t;
	}
	if (a > 3)
		close_range(3, (unsigned)a - 1, 0);
	if (b > a + 1)
		close_range((unsigned)a + 1, (unsigned)b - 1, 0);
	close_range((unsigned)b + 1, ~0u, 0);
}

static void reset_signals(void)
{
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

static __attribute__((noreturn)) void keeper(const struct vmproc_spec *spec, int log_fd, int exit_fd, int pipe_w)
{
	setsid();
	reset_signals();
	prctl(PR_SET_NAME, "strata-keeper");
	pid_t vm = fork();
	if (vm == 0) {
		int null_fd = open("/dev/null", O_RDONLY);
		dup2(null_fd, 0);
		dup2(log_fd, 1);
		dup2(log_fd, 2);
		/* copies above the targets first, so no dup2 clobbers a source */
		int high[VMPROC_MAX_FDS];
		for (unsigned i = 0; i < spec->nr_fds; i++)
			high[i] = fcntl(spec->fds[i], F_DUPFD, 3 + VMPROC_MAX_FDS);
		for (unsigned i = 0; i < spec->nr_fds; i++)
			if (high[i] < 0 || dup2(high[i], 3 + (int)i) < 0)
				_exit(127);
		close_range(3 + spec->nr_fds, ~0u, 0);
		execv(spec->argv[0], spec->argv);
		static const char msg[] = "stratad: cannot execute the VMM\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(127);
	}
	close_all_but(exit_fd, pipe_w);
	char buf[32];
	size_t n = 0;
	if (vm > 0)
		n = fmt_uint(buf, (unsigned long)vm);
	buf[n++] = '\n';
	(void)!write(pipe_w, buf, n);
	close(pipe_w);
	if (vm < 0)
		_exit(1);
	int status;
	while (waitpid(vm, &status, 0) < 0 && errno == EINTR)
		;
	const char *what = WIFSIGNALED(status) ? "signal " : "exit ";
	n = strlen(what);
	memcpy(buf, what, n);
	n += fmt_uint(buf + n, (unsigned long)(WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)));
	buf[n++] = '\n';
	(void)!write(exit_fd, buf, n);
	fsync(exit_fd);
	_exit(0);
}

uint64_t vmproc__starttime(pid_t pid)
{
	return util__proc_starttime(pid);
}

bool vmproc__alive(pid_t pid, uint64_t start)
{
	return pid > 0 && start && vmproc__starttime(pid) == start;
}

int vmproc__pidfd(pid_t pid, uint64_t start, struct st_err *err)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0)
		return err__fail_errno(err, "pidfd_open(%d)", (int)pid);
	/* checked after opening: the pidfd now pins this very process */
	if (!vmproc__alive(pid, start)) {
		close(fd);
		return err__fail(err, ESRCH, "process %d has gone", (int)pid);
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

void vmproc__reap(pid_t keeper_pid)
{
	while (waitpid(keeper_pid, NULL, WNOHANG) < 0 && errno == EINTR)
		;
}

int vmproc__spawn(const struct vmproc_spec *spec, struct vmproc *out, struct st_err *err)
{
	if (spec->nr_fds > VMPROC_MAX_FDS)
		return err__fail(err, 0, "at most %d fds for the VMM", VMPROC_MAX_FDS);
	cleanup_close int log_fd = open(spec->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (log_fd < 0)
		return err__fail_errno(err, "%s", spec->log_path);
	cleanup_close int exit_fd = open(spec->exit_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (exit_fd < 0)
		return err__fail_errno(err, "%s", spec->exit_path);
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err__fail_errno(err, "pipe");
	cleanup_close int pipe_r = pipefd[0], pipe_w = pipefd[1];
	unlink(spec->control_path);
	pid_t k = fork();
	if (k < 0)
		return err__fail_errno(err, "fork");
	if (k == 0)
		keeper(spec, log_fd, exit_fd, pipe_w);
	close(cleanup__steal_fd(&pipe_w));
	char buf[32] = {0};
	ssize_t n;
	do
		n = read(pipe_r, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	pid_t vm = n > 0 ? (pid_t)atoi(buf) : 0;
	if (vm <= 0) {
		vmproc__reap(k);
		return err__fail(err, 0, "the keeper could not fork the VMM");
	}
	*out = (struct vmproc){.vm_pid = vm, .keeper_pid = k, .keeper_start = vmproc__starttime(k),
			       .vm_start = vmproc__starttime(vm)};
	return 0;
}

static void last_log_line(const char *path, char *out, size_t len)
{
	cleanup_free char *text = NULL;
	size_t n;
	snprintf(out, len, "no message");
	if (util__read_file(path, 1 << 20, &text, &n, NULL) < 0)
		return;
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = 0;
	char *line = strrchr(text, '\n');
	snprintf(out, len, "%s", line ? line + 1 : text);
}

int vmproc__wait_ready(const struct vmproc_spec *spec, const struct vmproc *p, int timeout_ms, json_t **status,
		       struct st_err *err)
{
	uint64_t deadline = util__now_ns() + (uint64_t)timeout_ms * 1000000;
	for (unsigned delay_us = 200;; delay_us = ST_MIN(delay_us * 2, 20000u)) {
		struct st_err cerr = {0};
		if (vmproc__control(spec->control_path, "status", status, &cerr) == 0)
			return 0;
		int code, sig;
		bool ended = vmproc__exit_status(spec->exit_path, &code, &sig) == 0;
		if (ended && code != 1)
			return 1; /* the guest ran and has already ended */
		if (ended || (!vmproc__alive(p->vm_pid, p->vm_start) && !vmproc__alive(p->keeper_pid, p->keeper_start))) {
			char line[300];
			last_log_line(spec->log_path, line, sizeof(line));
			return err__fail(err, 0, "the VMM exited at start: %s", line);
		}
		if (util__now_ns() > deadline)
			return err__fail(err, ETIMEDOUT, "the VMM's control socket did not answer (%s)", cerr.msg);
		usleep(delay_us);
	}
}

int vmproc__exit_status(const char *exit_path, int *code, int *sig)
{
	char buf[64] = {0};
	cleanup_close int fd = open(exit_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[n - 1] != '\n')
		return -1;
	*code = *sig = -1;
	if (sscanf(buf, "exit %d", code) == 1 || sscanf(buf, "signal %d", sig) == 1)
		return 0;
	return -1;
}

int vmproc__control_args(const char *path, const char *cmd, json_t *args, json_t **ret, struct st_err *err)
{
	cleanup_close int fd = sock__unix_connect(path, err);
	if (fd < 0)
		return err__prefix(err, "control socket");
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	json_t *q = json_pack("{s:s}", "execute", cmd);
	if (q && args)
		json_object_set(q, "arguments", args);
	cleanup_free char *req = q ? json_dumps(q, JSON_COMPACT) : NULL;
	json_decref(q);
	if (!req)
		return err__fail(err, ENOMEM, "control socket: %s", cmd);
	size_t len = strlen(req);
	req[len] = '\n'; /* json_dumps' NUL becomes the line's end */
	if (send(fd, req, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
		return err__fail_errno(err, "control socket: send");
	char buf[65536];
	size_t have = 0;
	for (;;) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err__fail(err, n < 0 ? errno : EPIPE, "control socket: no reply to %s", cmd);
		have += (size_t)n;
		if (memchr(buf, '\n', have) || have == sizeof(buf) - 1)
			break;
	}
	buf[have] = 0;
	json_t *reply = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	if (!reply)
		return err__fail(err, 0, "control socket: unreadable reply to %s", cmd);
	json_t *e = json_object_get(reply, "error");
	if (e) {
		err__fail(err, 0, "%s: %s", cmd, json_string_value(json_object_get(e, "desc")));
		json_decref(reply);
		return -1;
	}
	if (ret)
		*ret = json_incref(json_object_get(reply, "return"));
	json_decref(reply);
	return 0;
}

int vmproc__control(const char *path, const char *cmd, json_t **ret, struct st_err *err)
{
	return vmproc__control_args(path, cmd, NULL, ret, err);
}

int vmproc__kill(const struct vmproc *p, int sig, struct st_err *err)
{
	int fd = vmproc__pidfd(p->vm_pid, p->vm_start, err);
	if (fd < 0)
		return -1;
	int rc = pidfd_send_signal(fd, sig, NULL, 0);
	close(fd);
	if (rc < 0)
		return err__fail_errno(err, "kill %d", (int)p->vm_pid);
	return 0;
}
