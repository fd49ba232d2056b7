/* HTTP: PUT /servers/{id} (its name), /servers/{id}/metadata[/{key}] and
 * /servers/{id}/tags[/{tag}] (2.26), over servers_meta.h. */
#include "cloud/compute/routes_servers.h"

#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"
#include "cloud/compute/servers_meta.h"

static struct servers *servers_of(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->servers;
}

static const char *id_of(const struct http_request *r)
{
	return http_request__capture(r, "id");
}

static int server_update(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
			 struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *v;
	if (http_request__body_json(r, &body, err) < 0 ||
	    servers_meta__update(servers_of(r), c, id_of(r), body, err) < 0 ||
	    servers__get(servers_of(r), c, id_of(r), &v, err) < 0)
		return -1;
	routes_servers__links(r, c, v);
	return routes_compute__member(rp, "server", v);
}

static int meta_get(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		    struct st_err *err)
{
	json_t *out;
	if (servers_meta__metadata_get(servers_of(r), c, id_of(r), http_request__capture(r, "key"), &out,
				       err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, out);
}

static int meta_set(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		    bool replace, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (http_request__body_json(r, &body, err) < 0 ||
	    servers_meta__metadata_set(servers_of(r), c, id_of(r), http_request__capture(r, "key"), replace,
				       body, &out, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, out);
}

static int meta_merge(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		      struct st_err *err)
{
	return meta_set(r, rp, c, false, err);
}

static int meta_replace(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
			struct st_err *err)
{
	return meta_set(r, rp, c, true, err);
}

static int meta_delete(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		       struct st_err *err)
{
	if (servers_meta__metadata_delete(servers_of(r), c, id_of(r), http_request__capture(r, "key"),
					  err) < 0)
		return -1;
	return routes_compute__reply(rp, 204, NULL);
}

static int tags_get(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		    struct st_err *err)
{
	json_t *out = NULL;
	const char *tag = http_request__capture(r, "tag");
	if (servers_meta__tags_get(servers_of(r), c, id_of(r), tag, &out, err) < 0)
		return -1;
	return tag ? routes_compute__reply(rp, 204, NULL) : routes_compute__reply(rp, 200, out);
}

static int tag_add(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		   struct st_err *err)
{
	bool created;
	const char *tag = http_request__capture(r, "tag");
	if (servers_meta__tag_add(servers_of(r), c, id_of(r), tag, &created, err) < 0)
		return -1;
	cleanup_json json_t *links = routes_compute__links(r, "servers", id_of(r));
	char where[1400];
	snprintf(where, sizeof(where), "%s/tags/%s",
		 json_string_value(json_object_get(json_array_get(links, 0), "href")), tag);
	routes_compute__reply(rp, created ? 201 : 204, NULL);
	http_reply__header(rp, "Location", where);
	return 0;
}

static int tags_set(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		    struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (http_request__body_json(r, &body, err) < 0 ||
	    servers_meta__tags_set(servers_of(r), c, id_of(r), body, &out, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, out);
}

static int tag_delete(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		      struct st_err *err)
{
	if (servers_meta__tag_delete(servers_of(r), c, id_of(r), http_request__capture(r, "tag"), err) < 0)
		return -1;
	return routes_compute__reply(rp, 204, NULL);
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("PUT", "/servers/{id}", server_update),
	COMPUTE_ROUTE("GET", "/servers/{id}/metadata", meta_get),
	COMPUTE_ROUTE("POST", "/servers/{id}/metadata", meta_merge),
	COMPUTE_ROUTE("PUT", "/servers/{id}/metadata", meta_replace),
	COMPUTE_ROUTE("GET", "/servers/{id}/metadata/{key}", meta_get),
	COMPUTE_ROUTE("PUT", "/servers/{id}/metadata/{key}", meta_replace),
	COMPUTE_ROUTE("DELETE", "/servers/{id}/metadata/{key}", meta_delete),
	COMPUTE_ROUTE("GET", "/servers/{id}/tags", tags_get, .min_mv = 26),
	COMPUTE_ROUTE("PUT", "/servers/{id}/tags", tags_set, .min_mv = 26),
	COMPUTE_ROUTE("DELETE", "/servers/{id}/tags", tag_delete, .min_mv = 26),
	COMPUTE_ROUTE("GET", "/servers/{id}/tags/{tag}", tags_get, .min_mv = 26),
	COMPUTE_ROUTE("PUT", "/servers/{id}/tags/{tag}", tag_add, .min_mv = 26),
	COMPUTE_ROUTE("DELETE", "/servers/{id}/tags/{tag}", tag_delete, .min_mv = 26),
};

const struct http_route *routes_servers__meta(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
