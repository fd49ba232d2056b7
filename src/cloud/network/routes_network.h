/* The Networking service's HTTP face: Neutron v2.0 under /networking. The
 * handlers parse the request, call network__* (network.h) and shape the
 * reply; the app is a struct cloud (cloud/cloud.h). */
#ifndef STRATA_CLOUD_ROUTES_NETWORK_H
#define STRATA_CLOUD_ROUTES_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/http_server.h"

const struct http_route *routes_network__api(size_t *n);
/* Whether a request path is the Networking service's (errors in its shape). */
bool routes_network__owns(const char *path);
/* Neutron's error body: {"NeutronError": {"type", "message", "detail"}}. */
json_t *routes_network__error(unsigned status, const char *message);

#endif
