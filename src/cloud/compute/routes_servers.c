/* HTTP: /servers (create, list, detail, show, delete) and the image data
 * hosts fetch by signed URL (/compute/strata/image-data/{id}). */
#include "cloud/compute/routes_servers.h"

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"

static struct servers *servers_of(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->servers;
}

void routes_servers__links(struct http_request *r, const struct compute_caller *c, json_t *v)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	json_object_set_new(v, "links", routes_compute__links(r, "servers", id));
	json_t *image = json_object_get(v, "image");
	if (json_is_object(image))
		json_object_set_new(image, "links", routes_compute__links(
			r, "images", json_string_value(json_object_get(image, "id"))));
	json_t *flavor = json_object_get(v, "flavor");
	if (json_is_object(flavor) && c->mv < 47)
		json_object_set_new(flavor, "links", routes_compute__links(
			r, "flavors", json_string_value(json_object_get(flavor, "id"))));
}

static int server_create(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (http_request__body_json(r, &body, err) < 0 ||
	    servers__create(servers_of(r), c, body, &out, err) < 0)
		return -1;
	json_t *server = json_object_get(out, "server");
	if (server)
		json_object_set_new(server, "links", routes_compute__links(
			r, "servers", json_string_value(json_object_get(server, "id"))));
	return routes_compute__reply(rp, 202, out);
}

static int list(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		bool detail, struct st_err *err)
{
	json_t *items, *v;
	size_t i;
	struct compute_query q = routes_compute__query(r);
	if (servers__list(servers_of(r), c, &q, detail, &items, err) < 0)
		return -1;
	json_array_foreach(items, i, v)
		routes_servers__links(r, c, v);
	json_t *body = json_pack("{s:O}", "servers", items);
	json_t *next = routes_compute__next(r, detail ? "servers/detail" : "servers", items, "id");
	if (next)
		json_object_set_new(body, "servers_links", next);
	json_decref(items);
	return routes_compute__reply(rp, 200, body);
}

static int server_list(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	return list(r, rp, c, false, err);
}

static int server_detail(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	return list(r, rp, c, true, err);
}

static int server_show(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	json_t *v;
	if (servers__get(servers_of(r), c, http_request__capture(r, "id"), &v, err) < 0)
		return -1;
	routes_servers__links(r, c, v);
	return routes_compute__member(rp, "server", v);
}

static int server_delete(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	if (servers__delete(servers_of(r), c, http_request__capture(r, "id"), err) < 0)
		return -1;
	return routes_compute__reply(rp, 204, NULL);
}

/* No token: the URL's signature is the permission (servers_fetch.c). */
static int image_data(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	int fd;
	uint64_t size;
	if (servers__fetch_open(servers_of(r), http_request__capture(r, "id"),
				http_request__query(r, "expires"), http_request__query(r, "sig"), &fd,
				&size, err) < 0)
		return -1;
	http_reply__file(rp, 200, "application/octet-stream", fd, size);
	return 0;
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("POST", "/servers", server_create),
	COMPUTE_ROUTE("GET", "/servers", server_list),
	COMPUTE_ROUTE("GET", "/servers/detail", server_detail),
	COMPUTE_ROUTE("GET", "/servers/{id}", server_show),
	COMPUTE_ROUTE("DELETE", "/servers/{id}", server_delete),
	{"GET", "/compute/strata/image-data/{id}", image_data, NULL, NULL},
};

const struct http_route *routes_servers__api(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
