/* strata-vm's own confinement once it is set up: a seccomp filter compiled at
 * build time (src/vm/seccomp/policy.c) for every thread. */
#ifndef STRATA_VM_SANDBOX_H
#define STRATA_VM_SANDBOX_H

#include "common/err.h"

#include <stdbool.h>

enum sandbox_mode {
	SANDBOX_ON,  /* a refused system call ends the VMM with one line naming it */
	SANDBOX_LOG, /* refused calls are allowed and logged by the kernel (audit) */
	SANDBOX_OFF,
};

/* Parses "on", "log" or "off". */
int sandbox__parse(const char *s, enum sandbox_mode *mode, struct st_err *err);
/* Installs the filter in every thread of the process (TSYNC), and remembers
 * the mode for sandbox__confine_self. */
int sandbox__apply(enum sandbox_mode mode, struct st_err *err);
/* The same filter for the calling task alone, for a process that shares our
 * memory but was started before the filter (kvm_worker.c's guardian): left
 * unfiltered, it would be a way around the filter. Mode as last applied, or
 * as given to sandbox__configure. */
void sandbox__configure(enum sandbox_mode mode);
/* Whether the filter is in place: then no new io_uring can be set up (its
 * operations would be out of the filter's sight), so disks attached at run
 * time use a thread pool instead. */
bool sandbox__applied(void);
void sandbox__confine_self(void);

#endif
