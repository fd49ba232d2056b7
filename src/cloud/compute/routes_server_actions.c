/* HTTP: POST /servers/{id}/action, /servers/{id}/os-instance-actions[/{rid}]
 * and /os-simple-tenant-usage[/{tenant}], over servers_actions.h and
 * servers_usage.h. */
#include "cloud/compute/routes_servers.h"

#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_usage.h"

static struct servers *servers_of(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->servers;
}

/* rebuild answers with the server as it is now (Nova's 202 with the view). */
static int rebuilt(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		   struct st_err *err)
{
	json_t *v;
	if (servers__get(servers_of(r), c, http_request__capture(r, "id"), &v, err) < 0)
		return -1;
	routes_servers__links(r, c, v);
	return routes_compute__reply(rp, 202, json_pack("{s:o}", "server", v));
}

static int action(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		  struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	unsigned status;
	char location[80];
	const char *id = http_request__capture(r, "id");
	if (http_request__body_json(r, &body, err) < 0 ||
	    servers_actions__run(servers_of(r), c, id, body, http_request__id(r), &out, &status, location,
				 err) < 0)
		return -1;
	if (json_object_get(body, "rebuild"))
		return rebuilt(r, rp, c, err);
	routes_compute__reply(rp, status, out);
	if (location[0]) {
		cleanup_json json_t *links = routes_compute__links(r, "images", location + strlen("/images/"));
		http_reply__header(rp, "Location",
				   json_string_value(json_object_get(json_array_get(links, 1), "href")));
	}
	return 0;
}

static int actions_list(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
			struct st_err *err)
{
	json_t *out;
	if (servers_actions__list(servers_of(r), c, http_request__capture(r, "id"), &out, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "instanceActions", out));
}

static int actions_show(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
			struct st_err *err)
{
	json_t *out;
	if (servers_actions__show(servers_of(r), c, http_request__capture(r, "id"),
				  http_request__capture(r, "rid"), &out, err) < 0)
		return -1;
	return routes_compute__member(rp, "instanceAction", out);
}

static int usage(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		 struct st_err *err)
{
	json_t *out;
	struct compute_query q = routes_compute__query(r);
	if (servers_usage__get(servers_of(r), c, http_request__capture(r, "tenant"), &q, &out, err) < 0)
		return -1;
	json_t *page = json_object_get(out, "tenant_usages");
	json_t *next = page && c->mv >= 40 ?
		routes_compute__next(r, "os-simple-tenant-usage", page, "tenant_id") : NULL;
	if (next)
		json_object_set_new(out, "tenant_usages_links", next);
	return routes_compute__reply(rp, 200, out);
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("POST", "/servers/{id}/action", action),
	COMPUTE_ROUTE("GET", "/servers/{id}/os-instance-actions", actions_list),
	COMPUTE_ROUTE("GET", "/servers/{id}/os-instance-actions/{rid}", actions_show),
	COMPUTE_ROUTE("GET", "/os-simple-tenant-usage", usage),
	COMPUTE_ROUTE("GET", "/os-simple-tenant-usage/{tenant}", usage),
};

const struct http_route *routes_servers__actions(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
