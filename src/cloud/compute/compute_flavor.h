/* What the flavor files share (flavors.c, flavor_specs.c). */
#ifndef STRATA_CLOUD_COMPUTE_FLAVOR_H
#define STRATA_CLOUD_COMPUTE_FLAVOR_H

#include <jansson.h>

#include "common/err.h"
#include "cloud/compute/compute.h"

/* The flavor as its row holds it (before shaping): ENOENT "Flavor X could
 * not be found." when it does not exist or c (NULL: no check) may not see
 * it (a private flavor outside the caller's access list). */
int compute_flavor__find(struct db *db, const struct compute_caller *c, const char *id,
			 json_t **out, struct st_err *err);

#endif
