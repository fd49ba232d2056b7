/* `strata-cloud serve`: every service's routes on one HTTP listener, until
 * SIGTERM or SIGINT. */
#ifndef STRATA_CLOUD_SERVE_H
#define STRATA_CLOUD_SERVE_H

#include "common/err.h"
#include "cloud/cloud.h"

/* listen: "HOST:PORT". Returns 0 after a clean stop. */
int serve__run(struct cloud *cloud, const char *listen, struct st_err *err);

#endif
