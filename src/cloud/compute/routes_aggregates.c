/* HTTP: /os-aggregates and /os-availability-zone. */
#include "cloud/compute/routes_compute.h"

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/cloud.h"

static int aggregate_list(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	json_t *list;
	if (compute__aggregate_list(routes_compute__db(r), c, &list, err) < 0)
		return -1;
	return routes_compute__member(rp, "aggregates", list);
}

/* create, update and the actions: a body in, the aggregate out */
static int aggregate_write(struct http_request *r, struct http_reply *rp,
			   const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *a;
	const char *id = http_request__capture(r, "id");
	struct db *db = routes_compute__db(r);
	const char *method = http_request__method(r);
	if (http_request__body_json(r, &body, err) < 0)
		return -1;
	int rc = !id ? compute__aggregate_create(db, c, body, &a, err)
		: method[0] == 'P' && method[1] == 'U' ? compute__aggregate_update(db, c, id, body, &a, err)
		: compute__aggregate_action(db, c, id, body, &a, err);
	if (rc < 0)
		return -1;
	return routes_compute__member(rp, "aggregate", a);
}

static int aggregate_show(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	json_t *a;
	if (compute__aggregate_get(routes_compute__db(r), c, http_request__capture(r, "id"), &a,
				   err) < 0)
		return -1;
	return routes_compute__member(rp, "aggregate", a);
}

static int aggregate_delete(struct http_request *r, struct http_reply *rp,
			    const struct compute_caller *c, struct st_err *err)
{
	if (compute__aggregate_delete(routes_compute__db(r), c, http_request__capture(r, "id"),
				      err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, NULL);
}

static int zones(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		 bool detail, struct st_err *err)
{
	json_t *list;
	if (compute__availability_zones(routes_compute__db(r), c,
					&((struct cloud *)http_request__app(r))->hosts, detail, &list, err) < 0)
		return -1;
	return routes_compute__member(rp, "availabilityZoneInfo", list);
}

static int zone_list(struct http_request *r, struct http_reply *rp,
		     const struct compute_caller *c, struct st_err *err)
{
	return zones(r, rp, c, false, err);
}

static int zone_detail(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	return zones(r, rp, c, true, err);
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("GET", "/os-aggregates", aggregate_list),
	COMPUTE_ROUTE("POST", "/os-aggregates", aggregate_write),
	COMPUTE_ROUTE("GET", "/os-aggregates/{id}", aggregate_show),
	COMPUTE_ROUTE("PUT", "/os-aggregates/{id}", aggregate_write),
	COMPUTE_ROUTE("DELETE", "/os-aggregates/{id}", aggregate_delete),
	COMPUTE_ROUTE("POST", "/os-aggregates/{id}/action", aggregate_write),
	COMPUTE_ROUTE("GET", "/os-availability-zone", zone_list),
	COMPUTE_ROUTE("GET", "/os-availability-zone/detail", zone_detail),
};

const struct http_route *routes_compute__aggregates(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
