/* Glance v2's version discovery and the images collection. */
#include "cloud/images/routes_images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "cloud/cloud.h"

struct images *routes_images__service(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->images;
}

int routes_images__caller(const struct http_request *r, struct images_caller *c,
			  struct st_err *err)
{
	return images__caller(routes_images__service(r), http_request__header(r, "X-Auth-Token"), c,
			      err);
}

bool routes_images__owns(const char *path)
{
	return path && !strncmp(path, "/image", 6) && (path[6] == 0 || path[6] == '/');
}

json_t *routes_images__error(unsigned status, const char *title, const char *message)
{
	char code[96];
	snprintf(code, sizeof(code), "%u %s", status, title);
	return json_pack("{s:s,s:s,s:s}", "message", message ? message : title, "code", code, "title",
			 title);
}

/* --- version discovery --- */

static json_t *version_list(const struct http_request *r)
{
	const char *host = http_request__header(r, "Host");
	/* the Host header is the client's: keep it to what a host name and port hold */
	if (!host || !*host || strlen(host) > 255 || strpbrk(host, "/\"\\ \t<>"))
		host = "localhost";
	char href[320];
	snprintf(href, sizeof(href), "http://%s/image/v2/", host);
	json_t *list = json_array();
	for (int minor = 16; minor >= 0; minor--) {
		char id[16];
		snprintf(id, sizeof(id), "v2.%d", minor);
		json_array_append_new(list, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "id", id, "status",
						      minor == 16 ? "CURRENT" : "SUPPORTED", "links",
						      "rel", "self", "href", href));
	}
	return list;
}

static int versions(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	/* Glance: 300 at the root, 200 at /versions */
	unsigned status = strstr(http_request__path(r), "/versions") ? 200 : 300;
	http_reply__json(rp, status, json_pack("{s:o}", "versions", version_list(r)));
	return 0;
}

/* --- images --- */

static int image_create(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    images__create(routes_images__service(r), &c, body, &out, err) < 0)
		return -1;
	char location[128];
	snprintf(location, sizeof(location), "/image%s", json_string_value(json_object_get(out, "self")));
	http_reply__json(rp, 201, out);
	http_reply__header(rp, "Location", location);
	return 0;
}

static int image_show(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__show(routes_images__service(r), &c, http_request__capture(r, "id"), &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int image_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__delete(routes_images__service(r), &c, http_request__capture(r, "id"), err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

static const char *query_nth(void *ctx, const char *key, size_t nth)
{
	return http_request__query_nth(ctx, key, nth);
}

static bool query_at(void *ctx, size_t i, const char **name, const char **value)
{
	return http_request__query_at(ctx, i, name, value);
}

struct images_query routes_images__query(struct http_request *r)
{
	return (struct images_query){query_nth, query_at, r};
}

static int image_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	struct images_query q = routes_images__query(r);
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__list(routes_images__service(r), &c, &q, &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int image_update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	const char *ctype = http_request__header(r, "Content-Type");
	if (routes_images__caller(r, &c, err) < 0)
		return -1;
	if (!ctype || (strncmp(ctype, "application/openstack-images-v2.1-json-patch", 44) &&
		       strncmp(ctype, "application/openstack-images-v2.0-json-patch", 44)))
		return http_reply__error(rp, 415, "Unsupported Content-Type: a PATCH takes"
						  " application/openstack-images-v2.1-json-patch");
	if (http_request__body_json(r, &body, err) < 0 ||
	    images__update(routes_images__service(r), &c, http_request__capture(r, "id"), body, &out,
			   err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int image_tag(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	bool add = !strcmp(http_request__method(r), "PUT");
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__tag(routes_images__service(r), &c, http_request__capture(r, "id"),
			http_request__capture(r, "tag"), add, err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

static int image_action(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	bool reactivate = http_request__route(r)->data != NULL;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__activate(routes_images__service(r), &c, http_request__capture(r, "id"), reactivate,
			     err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

static const struct http_route routes[] = {
	{"GET", "/image", versions, NULL, NULL},
	{"GET", "/image/", versions, NULL, NULL},
	{"GET", "/image/versions", versions, NULL, NULL},
	{"POST", "/image/v2/images", image_create, NULL, NULL},
	{"GET", "/image/v2/images/{id}", image_show, NULL, NULL},
	{"DELETE", "/image/v2/images/{id}", image_delete, NULL, NULL},
	{"GET", "/image/v2/images", image_list, NULL, NULL},
	{"PATCH", "/image/v2/images/{id}", image_update, NULL, NULL},
	{"PUT", "/image/v2/images/{id}/tags/{tag}", image_tag, NULL, NULL},
	{"DELETE", "/image/v2/images/{id}/tags/{tag}", image_tag, NULL, NULL},
	{"POST", "/image/v2/images/{id}/actions/deactivate", image_action, NULL, NULL},
	{"POST", "/image/v2/images/{id}/actions/reactivate", image_action, NULL, "reactivate"},
};

const struct http_route *routes_images__api(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
