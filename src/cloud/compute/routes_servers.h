/* HTTP: the servers' routes (routes_servers.c), over servers.h; the app is
 * a struct cloud whose servers member is set up. */
#ifndef STRATA_CLOUD_ROUTES_SERVERS_H
#define STRATA_CLOUD_ROUTES_SERVERS_H

#include <stddef.h>

#include "common/http_server.h"
#include "cloud/compute/routes_compute.h"
#include "cloud/compute/servers.h"

const struct http_route *routes_servers__api(size_t *n);
/* PUT /servers/{id}, server metadata and tags (routes_server_meta.c). */
const struct http_route *routes_servers__meta(size_t *n);
/* POST /servers/{id}/action, os-instance-actions and os-simple-tenant-usage
 * (routes_server_actions.c). */
const struct http_route *routes_servers__actions(size_t *n);

/* Nova's links on a server view, its image and (before 2.47) its flavor. */
void routes_servers__links(struct http_request *r, const struct compute_caller *c, json_t *v);

#endif
