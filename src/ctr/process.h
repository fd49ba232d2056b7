/* The last steps before execve, shared by the container's init and `exec`:
 * rlimits, cwd, user and groups, capabilities, no_new_privs, seccomp. */
#ifndef STRATA_CTR_PROCESS_H
#define STRATA_CTR_PROCESS_H

#include "common/err.h"
#include "ctr/config.h"

/* Fails clearly when args[0] cannot be found in the process's PATH. */
int process__check_exec(const struct ctr_process *p, struct st_err *err);
int process__set_rlimits(const struct ctr_process *p, struct st_err *err);
/* Returns only on failure. File descriptors from 3 + preserve_fds up are
 * closed at exec: nothing of the caller's leaks into the container. */
int process__exec(const struct ctr_process *p, void *seccomp, unsigned preserve_fds, struct st_err *err);

#endif
