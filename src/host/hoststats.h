/* The host's use for the web UI's dashboard: CPU, memory, disk and network,
 * sampled once a second from /proc by a thread of its own, the last
 * HOSTSTATS_KEEP samples kept (five minutes). Rates are per second over the
 * sample's interval. */
#ifndef STRATA_HOST_HOSTSTATS_H
#define STRATA_HOST_HOSTSTATS_H

#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

#define HOSTSTATS_KEEP 300
#define HOSTSTATS_INTERVAL_MS 1000

int hoststats__start(struct st_err *err);
void hoststats__stop(void);
/* The samples taken after since_ms (epoch milliseconds), oldest first, as
 * columns: {"interval_ms", "t": [ms...], "cpu": [0..1], "mem_total", "mem_used",
 * "disk_read", "disk_write", "net_rx", "net_tx": [bytes or bytes/s...]}. */
json_t *hoststats__since(int64_t since_ms);

#endif
