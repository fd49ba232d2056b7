/* HTTP: /os-services and /os-hypervisors (services.h). */
#include "cloud/compute/routes_compute.h"

#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"
#include "cloud/compute/services.h"

static const struct hosts_config *cfg_of(const struct http_request *r)
{
	return &((struct cloud *)http_request__app(r))->hosts;
}

static int service_list(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	json_t *list;
	struct compute_query q = routes_compute__query(r);
	if (services__list(routes_compute__db(r), cfg_of(r), c, &q, &list, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "services", list));
}

/* PUT /os-services/{id}: from 2.53 the service by UUID; before, the
 * actions enable, disable, disable-log-reason and force-down. */
static int service_update(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	const char *id = http_request__capture(r, "id");
	if (http_request__body_json(r, &body, err) < 0)
		return -1;
	int rc = c->mv >= 53 ? services__update(routes_compute__db(r), cfg_of(r), c, id, body, &out, err)
			     : services__action(routes_compute__db(r), c, id, body, &out, err);
	if (rc < 0)
		return -1;
	return routes_compute__member(rp, "service", out);
}

static int service_delete(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	if (services__delete(routes_compute__db(r), c, http_request__capture(r, "id"), err) < 0)
		return -1;
	return routes_compute__reply(rp, 204, NULL);
}

static int hypervisors(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, bool detail, struct st_err *err)
{
	json_t *list;
	struct compute_query q = routes_compute__query(r);
	if (services__hypervisor_list(routes_compute__db(r), cfg_of(r), c, &q, detail, &list, err) < 0)
		return -1;
	json_t *body = json_pack("{s:O}", "hypervisors", list);
	json_t *next = c->mv >= 33 ? routes_compute__next(r, detail ? "os-hypervisors/detail"
								    : "os-hypervisors", list, "id")
				   : NULL;
	if (next)
		json_object_set_new(body, "hypervisors_links", next);
	json_decref(list);
	return routes_compute__reply(rp, 200, body);
}

static int hypervisor_list(struct http_request *r, struct http_reply *rp,
			   const struct compute_caller *c, struct st_err *err)
{
	return hypervisors(r, rp, c, false, err);
}

static int hypervisor_detail(struct http_request *r, struct http_reply *rp,
			     const struct compute_caller *c, struct st_err *err)
{
	return hypervisors(r, rp, c, true, err);
}

static int hypervisor_show(struct http_request *r, struct http_reply *rp,
			   const struct compute_caller *c, struct st_err *err)
{
	json_t *h;
	if (services__hypervisor_get(routes_compute__db(r), cfg_of(r), c, http_request__capture(r, "id"),
				     &h, err) < 0)
		return -1;
	return routes_compute__member(rp, "hypervisor", h);
}

static int hypervisor_search(struct http_request *r, struct http_reply *rp,
			     const struct compute_caller *c, struct st_err *err)
{
	json_t *list;
	if (services__hypervisor_search(routes_compute__db(r), cfg_of(r), c,
					http_request__capture(r, "id"), &list, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "hypervisors", list));
}

static int hypervisor_statistics(struct http_request *r, struct http_reply *rp,
				 const struct compute_caller *c, struct st_err *err)
{
	json_t *stats;
	if (services__hypervisor_statistics(routes_compute__db(r), cfg_of(r), c, &stats, err) < 0)
		return -1;
	return routes_compute__member(rp, "hypervisor_statistics", stats);
}

/* stratad does not report its uptime: Nova's answer for a driver without it. */
static int hypervisor_uptime(struct http_request *r, struct http_reply *rp,
			     const struct compute_caller *c, struct st_err *err)
{
	json_t *h;
	if (services__hypervisor_get(routes_compute__db(r), cfg_of(r), c, http_request__capture(r, "id"),
				     &h, err) < 0)
		return -1;
	json_decref(h);
	http_reply__error(rp, 501, "Virt driver does not implement uptime function.");
	return 0;
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("GET", "/os-services", service_list),
	COMPUTE_ROUTE("PUT", "/os-services/{id}", service_update),
	COMPUTE_ROUTE("DELETE", "/os-services/{id}", service_delete),
	COMPUTE_ROUTE("GET", "/os-hypervisors", hypervisor_list),
	COMPUTE_ROUTE("GET", "/os-hypervisors/detail", hypervisor_detail),
	COMPUTE_ROUTE("GET", "/os-hypervisors/statistics", hypervisor_statistics),
	COMPUTE_ROUTE("GET", "/os-hypervisors/{id}", hypervisor_show),
	COMPUTE_ROUTE("GET", "/os-hypervisors/{id}/uptime", hypervisor_uptime),
	COMPUTE_ROUTE("GET", "/os-hypervisors/{id}/search", hypervisor_search, .max_mv = 52),
};

const struct http_route *routes_compute__services(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
