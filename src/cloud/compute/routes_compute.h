/* Compute's HTTP face: Nova v2.1 under /compute. Every route runs through
 * routes_compute__run, which negotiates the microversion
 * (X-OpenStack-Nova-API-Version, OpenStack-API-Version: compute X.Y),
 * authenticates the caller, calls the route's compute_op and echoes the
 * version headers on every reply, errors too. Handlers parse the request,
 * call compute__* (compute.h) and shape the reply; the app is a struct
 * cloud (cloud/cloud.h). */
#ifndef STRATA_CLOUD_ROUTES_COMPUTE_H
#define STRATA_CLOUD_ROUTES_COMPUTE_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_server.h"
#include "cloud/compute/compute.h"

#define COMPUTE_PREFIX "/compute/v2.1"

typedef int (*compute_handler_fn)(struct http_request *r, struct http_reply *rp,
				  const struct compute_caller *c, struct st_err *err);

/* A route's datum (http_route.data): its handler, and the microversions it
 * exists at (0: no bound); a request outside them is a 404 as in Nova. */
struct compute_op {
	compute_handler_fn fn;
	int min_mv, max_mv;
	bool noauth; /* the version documents */
};

/* {"GET", COMPUTE_PREFIX "/flavors", ...} entries of a table:
 * COMPUTE_ROUTE("GET", "/flavors", flavor_list) */
#define COMPUTE_ROUTE(method, path, ...)                                                          \
	{method, COMPUTE_PREFIX path, routes_compute__run, .data = &(const struct compute_op){.fn = __VA_ARGS__}}

int routes_compute__run(struct http_request *r, struct http_reply *rp, struct st_err *err);

/* Every compute route: the version documents (routes_compute.c), flavors
 * (routes_flavors.c), keypairs and server groups (routes_keypairs.c),
 * aggregates and availability zones (routes_aggregates.c), quotas and
 * limits (routes_quotas.c). */
const struct http_route *routes_compute__versions(size_t *n);
const struct http_route *routes_compute__flavors(size_t *n);
const struct http_route *routes_compute__keypairs(size_t *n);
const struct http_route *routes_compute__aggregates(size_t *n);
const struct http_route *routes_compute__quotas(size_t *n);
/* os-services and os-hypervisors (routes_services.c) */
const struct http_route *routes_compute__services(size_t *n);

/* Nova's error body for a /compute reply: {"itemNotFound": {"code",
 * "message"}}, badRequest, forbidden, conflictingRequest ...; NULL for a
 * path outside /compute. */
json_t *routes_compute__error_body(const struct http_request *r, unsigned status,
				   const char *message);

struct db *routes_compute__db(const struct http_request *r);
/* The request's query parameters as compute.h takes them. */
struct compute_query routes_compute__query(struct http_request *r);
/* Nova's [{"rel": "self", "href": .../v2.1/COLLECTION/ID}, {"rel":
 * "bookmark", "href": .../COLLECTION/ID}] */
json_t *routes_compute__links(const struct http_request *r, const char *collection,
			      const char *id);
/* {"href": .../v2.1/COLLECTION?limit=N&marker=LAST, "rel": "next"} in a
 * one-element array when the page is full (q's limit items), else NULL. */
json_t *routes_compute__next(struct http_request *r, const char *collection, json_t *page,
			     const char *id_key);
/* 200 with a body, or an empty body with status (202, 204). */
int routes_compute__reply(struct http_reply *rp, unsigned status, json_t *body);
/* {member: obj} with 200. */
int routes_compute__member(struct http_reply *rp, const char *member, json_t *obj);

#endif
