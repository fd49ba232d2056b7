/* HTTP: /flavors, their extra specs and access lists. */
#include "cloud/compute/routes_compute.h"

#include <stdbool.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

static json_t *with_links(const struct http_request *r, json_t *flavor)
{
	json_object_set_new(flavor, "links",
			    routes_compute__links(r, "flavors",
						  json_string_value(json_object_get(flavor, "id"))));
	return flavor;
}

static int list(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		bool detail, struct st_err *err)
{
	json_t *flavors;
	struct compute_query q = routes_compute__query(r);
	if (compute__flavor_list(routes_compute__db(r), c, &q, detail, &flavors, err) < 0)
		return -1;
	size_t i;
	json_t *f;
	json_array_foreach(flavors, i, f)
		with_links(r, f);
	json_t *body = json_pack("{s:o}", "flavors", flavors);
	json_t *next = routes_compute__next(r, detail ? "flavors/detail" : "flavors", flavors, "id");
	if (next)
		json_object_set_new(body, "flavors_links", next);
	return routes_compute__reply(rp, 200, body);
}

static int flavor_list(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	return list(r, rp, c, false, err);
}

static int flavor_detail(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	return list(r, rp, c, true, err);
}

/* {"flavor": ...} with its links */
static int flavor_reply(struct http_request *r, struct http_reply *rp, json_t *flavor)
{
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "flavor", with_links(r, flavor)));
}

static int flavor_create(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *flavor;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__flavor_create(routes_compute__db(r), c, body, &flavor, err) < 0)
		return -1;
	return flavor_reply(r, rp, flavor);
}

static int flavor_show(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	json_t *flavor;
	if (compute__flavor_get(routes_compute__db(r), c, http_request__capture(r, "id"), &flavor,
				err) < 0)
		return -1;
	return flavor_reply(r, rp, flavor);
}

static int flavor_update(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *flavor;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__flavor_update(routes_compute__db(r), c, http_request__capture(r, "id"), body,
				   &flavor, err) < 0)
		return -1;
	return flavor_reply(r, rp, flavor);
}

static int flavor_delete(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	if (compute__flavor_delete(routes_compute__db(r), c, http_request__capture(r, "id"), err) < 0)
		return -1;
	return routes_compute__reply(rp, 202, NULL);
}

static int specs_get(struct http_request *r, struct http_reply *rp,
		     const struct compute_caller *c, struct st_err *err)
{
	json_t *out;
	if (compute__extra_specs_get(routes_compute__db(r), c, http_request__capture(r, "id"),
				     http_request__capture(r, "key"), &out, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, out);
}

static int specs_set(struct http_request *r, struct http_reply *rp,
		     const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__extra_specs_set(routes_compute__db(r), c, http_request__capture(r, "id"),
				     http_request__capture(r, "key"), body, &out, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, out);
}

static int spec_delete(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	if (compute__extra_spec_delete(routes_compute__db(r), c, http_request__capture(r, "id"),
				       http_request__capture(r, "key"), err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, NULL);
}

static int access_list(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	json_t *list;
	if (compute__flavor_access_list(routes_compute__db(r), c, http_request__capture(r, "id"),
					&list, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "flavor_access", list));
}

static int flavor_action(struct http_request *r, struct http_reply *rp,
			 const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *list;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__flavor_action(routes_compute__db(r), c, http_request__capture(r, "id"), body,
				   &list, err) < 0)
		return -1;
	return routes_compute__reply(rp, 200, json_pack("{s:o}", "flavor_access", list));
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("GET", "/flavors", flavor_list),
	COMPUTE_ROUTE("GET", "/flavors/detail", flavor_detail),
	COMPUTE_ROUTE("POST", "/flavors", flavor_create),
	COMPUTE_ROUTE("GET", "/flavors/{id}", flavor_show),
	COMPUTE_ROUTE("PUT", "/flavors/{id}", flavor_update, .min_mv = 55),
	COMPUTE_ROUTE("DELETE", "/flavors/{id}", flavor_delete),
	COMPUTE_ROUTE("GET", "/flavors/{id}/os-extra_specs", specs_get),
	COMPUTE_ROUTE("POST", "/flavors/{id}/os-extra_specs", specs_set),
	COMPUTE_ROUTE("GET", "/flavors/{id}/os-extra_specs/{key}", specs_get),
	COMPUTE_ROUTE("PUT", "/flavors/{id}/os-extra_specs/{key}", specs_set),
	COMPUTE_ROUTE("DELETE", "/flavors/{id}/os-extra_specs/{key}", spec_delete),
	COMPUTE_ROUTE("GET", "/flavors/{id}/os-flavor-access", access_list),
	COMPUTE_ROUTE("POST", "/flavors/{id}/action", flavor_action),
};

const struct http_route *routes_compute__flavors(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
