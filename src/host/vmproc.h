/* strata-vm processes: spawning one under a keeper, finding it again, and
 * talking to its control socket.
 *
 * stratad forks a keeper that calls setsid() and forks strata-vm; the keeper
 * waits for it and writes how it ended ("exit N" or "signal N") to the exit
 * file, then exits. So a guest outlives stratad (kill -9 included), and a
 * restarted stratad learns from the exit file how a guest ended while it was
 * away. A pid alone could be reused: the pair (pid, /proc start time)
 * identifies a process. */
#ifndef STRATA_HOST_VMPROC_H
#define STRATA_HOST_VMPROC_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct vmproc {
	pid_t vm_pid, keeper_pid;
	uint64_t vm_start, keeper_start;
};

#define VMPROC_MAX_FDS 16

struct vmproc_spec {
	char *const *argv; /* argv[0] is the strata-vm binary */
	const char *log_path, *exit_path, *control_path;
	/* handed to the VMM as fds 3, 4, ... (taps) */
	const int *fds;
	unsigned nr_fds;
};

int vmproc__spawn(const struct vmproc_spec *spec, struct vmproc *out, struct st_err *err);
/* Waits until the control socket answers "status" (returns 0 and its
 * reply), or the VMM has ended: returns 1 when the guest ran and ended on
 * its own already (a quick guest), fails with the last line of the VMM's
 * log when it could not set up (exit status 1). */
int vmproc__wait_ready(const struct vmproc_spec *spec, const struct vmproc *p, int timeout_ms, json_t **status,
		       struct st_err *err);

/* /proc/PID/stat start time, 0 when the process is gone or a zombie. */
uint64_t vmproc__starttime(pid_t pid);
bool vmproc__alive(pid_t pid, uint64_t start);
/* A pidfd for the keeper (poll-readable once it has exited), or -1. */
int vmproc__pidfd(pid_t pid, uint64_t start, struct st_err *err);
/* Reaps the keeper when it is our child (not after a stratad restart). */
void vmproc__reap(pid_t keeper);

/* Reads the exit file: 0 and *code (exit status) or *sig (signal), -1 if
 * absent or incomplete. */
int vmproc__exit_status(const char *exit_path, int *code, int *sig);

/* One command on the control socket; *ret is the "return" object (new ref).
 * A reply with "error" fails with its description. */
int vmproc__control(const char *path, const char *cmd, json_t **ret, struct st_err *err);
/* The same with "arguments" (an object, or NULL). */
int vmproc__control_args(const char *path, const char *cmd, json_t *args, json_t **ret, struct st_err *err);

int vmproc__kill(const struct vmproc *p, int sig, struct st_err *err);

#endif
