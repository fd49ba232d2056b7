/* The API's routes: a table of (method, path pattern, handler). Handlers run
 * with host->lock held. */
#ifndef STRATA_HOST_ROUTES_H
#define STRATA_HOST_ROUTES_H

#include "host/api.h"

/* 0 with *out filled, or -1 with err (errnum picks the status). */
int routes__dispatch(struct api_req *r, struct api_reply *out, struct st_err *err);
unsigned routes__status_of(const struct st_err *err);

#endif
