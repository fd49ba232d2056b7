/* HTTP: /os-quota-sets, /os-quota-class-sets and /limits. */
#include "cloud/compute/routes_compute.h"

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

/* GET /os-quota-sets/{project}[/defaults|/detail]: what 's', 'd', 'D'. */
static int quota_show(struct http_request *r, struct http_reply *rp,
		      const struct compute_caller *c, char what, struct st_err *err)
{
	json_t *set;
	if (compute__quota_show(routes_compute__db(r), c, http_request__capture(r, "project"), what,
				&set, err) < 0)
		return -1;
	return routes_compute__member(rp, "quota_set", set);
}

static int quota_get(struct http_request *r, struct http_reply *rp,
		     const struct compute_caller *c, struct st_err *err)
{
	return quota_show(r, rp, c, 's', err);
}

static int quota_defaults(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	return quota_show(r, rp, c, 'd', err);
}

static int quota_detail(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	return quota_show(r, rp, c, 'D', err);
}

static int quota_update(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *set;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__quota_update(routes_compute__db(r), c, http_request__capture(r, "project"), body,
				  &set, err) < 0)
		return -1;
	return routes_compute__member(rp, "quota_set", set);
}

static int quota_delete(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	if (compute__quota_delete(routes_compute__db(r), c, http_request__capture(r, "project"),
				  err) < 0)
		return -1;
	return routes_compute__reply(rp, 202, NULL);
}

static int quota_class(struct http_request *r, struct http_reply *rp,
		       const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *set;
	bool update = http_request__method(r)[0] == 'P';
	if ((update && http_request__body_json(r, &body, err) < 0) ||
	    compute__quota_class(routes_compute__db(r), c, http_request__capture(r, "class"), body,
				 &set, err) < 0)
		return -1;
	return routes_compute__member(rp, "quota_class_set", set);
}

static int limits(struct http_request *r, struct http_reply *rp, const struct compute_caller *c,
		  struct st_err *err)
{
	json_t *l;
	if (compute__limits(routes_compute__db(r), c, http_request__query(r, "tenant_id"), &l, err) < 0)
		return -1;
	return routes_compute__member(rp, "limits", l);
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("GET", "/os-quota-sets/{project}", quota_get),
	COMPUTE_ROUTE("GET", "/os-quota-sets/{project}/defaults", quota_defaults),
	COMPUTE_ROUTE("GET", "/os-quota-sets/{project}/detail", quota_detail),
	COMPUTE_ROUTE("PUT", "/os-quota-sets/{project}", quota_update),
	COMPUTE_ROUTE("DELETE", "/os-quota-sets/{project}", quota_delete),
	COMPUTE_ROUTE("GET", "/os-quota-class-sets/{class}", quota_class),
	COMPUTE_ROUTE("PUT", "/os-quota-class-sets/{class}", quota_class),
	COMPUTE_ROUTE("GET", "/limits", limits),
};

const struct http_route *routes_compute__quotas(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
