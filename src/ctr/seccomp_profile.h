/* linux.seccomp compiled with libseccomp in the runtime (so a bad profile is
 * reported before anything starts) and loaded by the container process. */
#ifndef STRATA_CTR_SECCOMP_PROFILE_H
#define STRATA_CTR_SECCOMP_PROFILE_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"

int seccomp_profile__build(json_t *profile, void **out, struct st_err *err);
int seccomp_profile__load(void *filter, struct st_err *err);
void seccomp_profile__free(void *filter);

#endif
