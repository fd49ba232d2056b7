/* linux.seccomp compiled with libseccomp in the runtime (so a bad profile is
 * reported before anything starts) and loaded by the container process. */
#ifndef STRATA_CTR_SECCOMP_H
#define STRATA_CTR_SECCOMP_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"

int seccomp__build(json_t *profile, void **out, struct st_err *err);
int seccomp__load(void *filter, struct st_err *err);
void seccomp__free(void *filter);

#endif
