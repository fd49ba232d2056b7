/* HTTP: the servers' routes (routes_servers.c), over servers.h; the app is
 * a struct cloud whose servers member is set up. */
#ifndef STRATA_CLOUD_ROUTES_SERVERS_H
#define STRATA_CLOUD_ROUTES_SERVERS_H

#include <stddef.h>

#include "common/http_server.h"
#include "cloud/compute/routes_compute.h"
#include "cloud/compute/servers.h"

const struct http_route *routes_servers__api(size_t *n);

#endif
