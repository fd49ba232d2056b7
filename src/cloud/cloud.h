/* What every service's HTTP handlers reach through http_request__app(): the
 * daemon's shared state. Services use each other only through their own
 * headers; this struct only holds them. */
#ifndef STRATA_CLOUD_CLOUD_H
#define STRATA_CLOUD_CLOUD_H

#include "cloud/compute/servers.h"
#include "cloud/compute/hosts.h"
#include "cloud/db/db.h"
#include "cloud/identity/identity.h"
#include "cloud/images/images.h"
#include "cloud/scheduler/scheduler.h"

struct cloud {
	struct db *db;
	struct identity identity;
	struct images images;
	struct scheduler_config scheduler; /* serve --scheduler-config, over the defaults */
	struct servers servers;            /* the compute servers and their workers */
	struct hosts_config hosts;         /* the heartbeat's interval and timeout */
};

#endif
