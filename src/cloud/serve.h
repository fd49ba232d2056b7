/* `strata-cloud serve`: every service's routes on one HTTP listener, until
 * SIGTERM or SIGINT. */
#ifndef STRATA_CLOUD_SERVE_H
#define STRATA_CLOUD_SERVE_H

#include "common/err.h"
#include "cloud/cloud.h"

struct serve_opts {
	const char *listen;   /* "HOST:PORT" */
	const char *tls_cert; /* PEM files: HTTPS; without them only a loopback address */
	const char *tls_key;
	/* Once the listener is up: the background work (heartbeat, reconciliation)
	 * starts only when the configuration has proved good, so a serve refused
	 * for its TLS files or address never took over anything. */
	int (*listening)(void *arg, struct st_err *err);
	void *listening_arg;
};

/* Returns 0 after a clean stop. */
int serve__run(struct cloud *cloud, const struct serve_opts *opts, struct st_err *err);

#endif
