/* A thread that runs one function at once and then every interval, until
 * stopped (the hosts' heartbeat, the servers' reconciliation). */
#ifndef STRATA_CLOUD_PERIODIC_H
#define STRATA_CLOUD_PERIODIC_H

#include <stdbool.h>

#include "common/err.h"

struct periodic;

/* fn(arg, p) in a new thread now and every interval_s seconds after each
 * run ends; fn may ask periodic__stopping(p) to cut a long run short. */
int periodic__start(void (*fn)(void *arg, struct periodic *p), void *arg, unsigned interval_s,
		    struct periodic **out, struct st_err *err);
bool periodic__stopping(struct periodic *p);
/* Wakes the thread, waits for a run in progress, frees p (NULL: nothing). */
void periodic__stop(struct periodic *p);

#endif
