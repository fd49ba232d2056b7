/* The Image service's HTTP face: Glance v2 under /image. The handlers parse
 * the request, call images__* (images.h) and shape the reply; the app is a
 * struct cloud (cloud/cloud.h). */
#ifndef STRATA_CLOUD_ROUTES_IMAGES_H
#define STRATA_CLOUD_ROUTES_IMAGES_H

#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_server.h"
#include "cloud/images/images.h"

/* Version discovery and the images collection (routes_images.c). */
const struct http_route *routes_images__api(size_t *n);
/* The image data: upload and download (routes_images_data.c). */
const struct http_route *routes_images__data(size_t *n);
/* Members (routes_images_members.c) and the schemas (routes_images_schemas.c). */
const struct http_route *routes_images__members(size_t *n);
const struct http_route *routes_images__schemas(size_t *n);
/* Import: discovery, POST .../import and tasks (routes_images_import.c). */
const struct http_route *routes_images__import(size_t *n);

/* Whether a request path is the Image service's (errors in its shape). */
bool routes_images__owns(const char *path);
/* Glance's error body (webob's): {"message", "code": "404 Not Found", "title":
 * "Not Found"}. */
json_t *routes_images__error(unsigned status, const char *title, const char *message);

/* The service of the request's app, and the caller of its X-Auth-Token. */
struct images *routes_images__service(const struct http_request *r);
int routes_images__caller(const struct http_request *r, struct images_caller *c,
			  struct st_err *err);
/* The request's query string as a list's parameters. */
struct images_query routes_images__query(struct http_request *r);

#endif
