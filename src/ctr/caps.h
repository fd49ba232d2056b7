/* Linux capabilities by name, and applying the five OCI capability sets. */
#ifndef STRATA_CTR_CAPS_H
#define STRATA_CTR_CAPS_H

#include <stdint.h>

#include "common/err.h"

/* "CAP_SYS_ADMIN" -> 21, or -1 when unknown. */
int caps__from_name(const char *name);
const char *caps__name(int cap);
int caps__last_cap(void);

/* Drop the bounding set to caps[CAPSET_BOUNDING] (needs CAP_SETPCAP: call
 * before changing uid). */
int caps__drop_bounding(const uint64_t *caps, struct st_err *err);
/* Fails, naming the first one, when effective/permitted/inheritable ask for
 * a capability this process does not hold (capset would refuse it in the
 * container): checked at create, not only when the container starts. Not
 * for a container in a user namespace, where it holds every one. */
int caps__check_grantable(const uint64_t *caps, struct st_err *err);
/* Set effective/permitted/inheritable, then raise ambient ones. */
int caps__apply(const uint64_t *caps, struct st_err *err);

#endif
