/* OCI hooks: each runs with the container state JSON on stdin; a hook that
 * fails (nonzero exit, signal, timeout) fails the operation. */
#ifndef STRATA_CTR_HOOKS_H
#define STRATA_CTR_HOOKS_H

#include <stddef.h>

#include "common/err.h"
#include "ctr/config.h"

int hooks__run(const struct ctr_hook *hooks, size_t n, const char *state_json, struct st_err *err);

#endif
