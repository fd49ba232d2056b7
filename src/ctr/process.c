#include "ctr/process.h"
#include "ctr/caps.h"
#include "ctr/seccomp_profile.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static const char *env_path(const struct ctr_process *p)
{
	for (size_t i = 0; p->env && p->env[i]; i++)
		if (!strncmp(p->env[i], "PATH=", 5))
			return p->env[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

int process__check_exec(const struct ctr_process *p, struct st_err *err)
{
	const char *arg0 = p->args[0];
	if (strchr(arg0, '/')) {
		if (access(arg0, X_OK) < 0)
			return err__fail_errno(err, "exec %s", arg0);
		return 0;
	}
	const char *path = env_path(p);
	while (*path) {
		size_t len = strcspn(path, ":");
		char full[4096];
		struct stat st;
		snprintf(full, sizeof(full), "%.*s%s%s", (int)len, path, len ? "/" : "", arg0);
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
			return 0;
		path += len + (path[len] == ':');
	}
	return err__fail(err, 0, "exec %s: executable file not found in $PATH", arg0);
}

int process__set_rlimits(const struct ctr_process *p, struct st_err *err)
{
	static const char *const names[] = {
		[RLIMIT_CPU] = "RLIMIT_CPU", [RLIMIT_FSIZE] = "RLIMIT_FSIZE", [RLIMIT_DATA] = "RLIMIT_DATA",
		[RLIMIT_STACK] = "RLIMIT_STACK", [RLIMIT_CORE] = "RLIMIT_CORE", [RLIMIT_RSS] = "RLIMIT_RSS",
		[RLIMIT_NPROC] = "RLIMIT_NPROC", [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
		[RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS", [RLIMIT_LOCKS] = "RLIMIT_LOCKS",
		[RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING", [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE",
		[RLIMIT_NICE] = "RLIMIT_NICE", [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO", [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
	};
	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {p->rlimits[i].soft, p->rlimits[i].hard};
		if (setrlimit(p->rlimits[i].resource, &rl) < 0)
			return err__fail_errno(err, "setrlimit %s", names[p->rlimits[i].resource]);
	}
	return 0;
}

int process__exec(const struct ctr_process *p, void *seccomp, unsigned preserve_fds, struct st_err *err)
{
	/* CLOEXEC rather than close: our own fds must work until the execve. */
	if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3 + (int)preserve_fds; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (chdir(p->cwd) < 0)
		return err__fail_errno(err, "chdir to cwd %s", p->cwd);
	if (p->umask >= 0)
		umask((mode_t)p->umask);
	else
		umask(022);
	if (p->has_caps && caps__drop_bounding(p->caps, err) < 0)
		return -1;
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return err__fail_errno(err, "keep capabilities");
	/* Without no_new_privs, the filter must go in while CAP_SYS_ADMIN is held. */
	if (seccomp && !p->no_new_privs && seccomp_profile__load(seccomp, err) < 0)
		return -1;
	if (setgroups(p->n_additional_gids, p->additional_gids) < 0 &&
	    !(errno == EPERM && !p->n_additional_gids))
		return err__fail_errno(err, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return err__fail_errno(err, "setgid %u", p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return err__fail_errno(err, "setuid %u", p->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return err__fail_errno(err, "reset keepcaps");
	if (p->has_caps && caps__apply(p->caps, err) < 0)
		return -1;
	if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err__fail_errno(err, "set no_new_privs");
	if (seccomp && p->no_new_privs && seccomp_profile__load(seccomp, err) < 0)
		return -1;
	static char *empty_env[] = {NULL};
	environ = p->env ? (char **)p->env : empty_env;
	execvp(p->args[0], (char *const *)p->args);
	return err__fail_errno(err, "exec %s", p->args[0]);
}
