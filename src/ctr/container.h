/* Container lifecycle: create (or run) clones the container's init straight
 * into its namespaces; the runtime and init talk over one socketpair. */
#ifndef STRATA_CTR_CONTAINER_H
#define STRATA_CTR_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

struct ctr_resources;

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
/* Live limits of a running container (`update`): only the knobs in res->set. */
int container__update(const char *root, const char *id, const struct ctr_resources *res, struct st_err *err);
/* The pids in a running container's cgroup (`ps`); *pids is malloc'd. */
int container__pids(const char *root, const char *id, pid_t **pids, size_t *n, struct st_err *err);

/* exec: a new process joining a running container's namespaces and cgroups.
 * It starts from the bundle's process (user, caps, rlimits, seccomp) with
 * process_file or args and the other options replacing what they give. */
struct ctr_exec_opts {
	const char *process_file, *cwd, *pid_file, *console_socket, *user;
	const char *env[64];
	size_t n_env;
	bool tty, detach, nnp;
	uint64_t add_caps; /* --cap: added to every set, as runc does */
	unsigned preserve_fds;
	char **args;
};

/* Returns the process's exit code (128+signal) unless detached (0). */
int container__exec(const char *root, const char *id, const struct ctr_exec_opts *eo, struct st_err *err);

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
