/* OCI hooks: each runs with the container state JSON on stdin. A failing
 * hook (nonzero exit, signal, timeout) fails the operation for prestart,
 * createRuntime, createContainer and startContainer (hooks__run); for
 * poststart and poststop it is a warning and the rest still run
 * (hooks__run_warn), as the runtime spec says. */
#ifndef STRATA_CTR_HOOKS_H
#define STRATA_CTR_HOOKS_H

#include <stddef.h>

#include "common/err.h"
#include "ctr/config.h"

int hooks__run(const struct ctr_hook *hooks, size_t n, const char *state_json, struct st_err *err);
void hooks__run_warn(const struct ctr_hook *hooks, size_t n, const char *state_json);

#endif
