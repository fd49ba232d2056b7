/* Identity's HTTP face: Keystone v3 under /identity. The handlers parse the
 * request, call identity__* / identity_ops__* and shape the reply; the app
 * is a struct cloud (cloud/cloud.h). */
#ifndef STRATA_CLOUD_ROUTES_IDENTITY_H
#define STRATA_CLOUD_ROUTES_IDENTITY_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_server.h"
#include "cloud/identity/identity.h"
#include "cloud/identity/identity_ops.h"

/* Version discovery and /v3/auth/... (routes_identity.c). */
const struct http_route *routes_identity__auth(size_t *n);
/* The CRUD collections, grants and role assignments (routes_identity_crud.c). */
const struct http_route *routes_identity__crud(size_t *n);

/* The identity service's public base URL as this request reached it:
 * "http://HOST/identity" (Host header). */
void routes_identity__base(const struct http_request *r, char *out, size_t size);
/* The identity service of the request's app. */
struct identity *routes_identity__id(const struct http_request *r);
/* The caller of the request's X-Auth-Token (401 without a valid one). */
int routes_identity__caller(const struct http_request *r, struct identity_caller *c,
			    struct st_err *err);
/* Adds Keystone's "links": {"self": ...} to each object of the list. */
void routes_identity__links(const struct http_request *r, const char *collection, json_t *list);
/* The request's ?limit and ?marker (400 for a limit that is not a
 * positive integer). */
int routes_identity__page(const struct http_request *r, struct identity_page *p,
			  struct st_err *err);
/* 200 {collection: list, "links": {"self", "previous", "next"}} (takes
 * list) of a page the database cut: "truncated": true and a next link
 * (which keeps the carry query parameters) when more follow. */
int routes_identity__reply_page(const struct http_request *r, struct http_reply *rp,
				const char *collection, json_t *list, const struct identity_page *p,
				const char *const *carry);
/* The same of a whole list, paged by ?limit and ?marker here. */
int routes_identity__reply_list(const struct http_request *r, struct http_reply *rp,
				const char *collection, json_t *list, struct st_err *err);

#endif
