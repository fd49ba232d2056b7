#include "ctr/hooks.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int run_one(const struct ctr_hook *h, const char *state, struct st_err *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return err__fail_errno(err, "pipe");
	pid_t pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return err__fail_errno(err, "fork hook");
	}
	if (pid == 0) {
		dup2(pipefd[0], 0);
		static char *const empty[] = {NULL};
		execve(h->path, (char *const *)h->argv, h->env ? (char *const *)h->env : empty);
		_exit(127);
	}
	close(pipefd[0]);
	/* The hook may exit without reading: a closed pipe is not our failure. */
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	util__write_all(pipefd[1], state, strlen(state), NULL);
	signal(SIGPIPE, old);
	close(pipefd[1]);
	int status;
	if (h->timeout > 0) {
		int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		if (pfd >= 0 && poll(&p, 1, h->timeout * 1000) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd);
			return err__fail(err, 0, "hook %s timed out after %d s", h->path, h->timeout);
		}
		if (pfd >= 0)
			close(pfd);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err__fail_errno(err, "wait for hook %s", h->path);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		return err__fail(err, 0, "hook %s exited with status %d", h->path, WEXITSTATUS(status));
	return err__fail(err, 0, "hook %s killed by signal %d", h->path, WTERMSIG(status));
}

int hooks__run(const struct ctr_hook *hooks, size_t n, const char *state_json, struct st_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (run_one(&hooks[i], state_json, err) < 0)
			return -1;
	return 0;
}

void hooks__run_warn(const struct ctr_hook *hooks, size_t n, const char *state_json)
{
	for (size_t i = 0; i < n; i++) {
		struct st_err err = {0};
		if (run_one(&hooks[i], state_json, &err) < 0)
			log__warn("%s (ignored: the lifecycle goes on)", err.msg);
	}
}
