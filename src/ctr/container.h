/* Container lifecycle: create (or run) clones the container's init straight
 * into its namespaces; the runtime and init talk over one socketpair. */
#ifndef STRATA_CTR_CONTAINER_H
#define STRATA_CTR_CONTAINER_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

struct ctr_opts {
	const char *root, *id, *bundle, *pid_file, *console_socket;
	bool systemd_cgroup;
	bool detach;   /* run -d */
	bool no_pivot; /* --no-pivot: MS_MOVE + chroot */
	unsigned preserve_fds; /* fds 3..3+n-1 of the caller pass to the process */
};

/* create (run = false) or run; for a foreground run *exit_code is the
 * container process's exit code (128+signal when killed). */
int container__create(const struct ctr_opts *o, bool run, int *exit_code, struct st_err *err);
int container__start(const char *root, const char *id, struct st_err *err);
int container__delete(const char *root, const char *id, bool force, struct st_err *err);
int container__kill(const char *root, const char *id, int sig, bool all, struct st_err *err);
int container__pause(const char *root, const char *id, bool pause, struct st_err *err);

/* Shared by the commands: state plus its live status; fails when missing. */
int container__load(const char *root, const char *id, json_t **state, const char **status,
		    struct st_err *err);
/* Run the hooks of one kind recorded in the state (poststart, poststop):
 * a failing hook is a warning; fails only when the recorded list is malformed. */
int container__state_hooks(json_t *state, int kind, const char *status, struct st_err *err);
int container__signal_number(const char *s, struct st_err *err);
void container__write_pid_file(const char *path, pid_t pid);
/* clone3 with CLONE_NEW* flags, born in cgroup_fd's cgroup when >= 0 (*into
 * says whether it was: older kernels lack CLONE_INTO_CGROUP). */
pid_t container__clone(int flags, int cgroup_fd, bool *into);

#endif
