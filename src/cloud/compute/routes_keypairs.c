/* HTTP: /os-keypairs and /os-server-groups. */
#include "cloud/compute/routes_compute.h"

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

static int keypair_list(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	json_t *list, *k, *wrapped = json_array();
	size_t i;
	struct compute_query q = routes_compute__query(r);
	if (compute__keypair_list(routes_compute__db(r), c, &q, &list, err) < 0) {
		json_decref(wrapped);
		return -1;
	}
	/* each item wrapped: [{"keypair": {...}}] */
	json_array_foreach(list, i, k)
		json_array_append_new(wrapped, json_pack("{s:O}", "keypair", k));
	json_t *body = json_pack("{s:o}", "keypairs", wrapped);
	json_t *next = c->mv >= 35 ? routes_compute__next(r, "os-keypairs", list, "name") : NULL;
	if (next)
		json_object_set_new(body, "keypairs_links", next);
	json_decref(list);
	return routes_compute__reply(rp, 200, body);
}

static int keypair_create(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *k;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__keypair_create(routes_compute__db(r), c, body, &k, err) < 0)
		return -1;
	/* 201 from 2.2 on */
	return routes_compute__reply(rp, c->mv >= 2 ? 201 : 200, json_pack("{s:o}", "keypair", k));
}

static int keypair_show(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	json_t *k;
	struct compute_query q = routes_compute__query(r);
	if (compute__keypair_get(routes_compute__db(r), c, http_request__capture(r, "name"), &q, &k,
				 err) < 0)
		return -1;
	return routes_compute__member(rp, "keypair", k);
}

static int keypair_delete(struct http_request *r, struct http_reply *rp,
			  const struct compute_caller *c, struct st_err *err)
{
	struct compute_query q = routes_compute__query(r);
	if (compute__keypair_delete(routes_compute__db(r), c, http_request__capture(r, "name"), &q,
				    err) < 0)
		return -1;
	/* 204 from 2.2 on */
	return routes_compute__reply(rp, c->mv >= 2 ? 204 : 202, NULL);
}

static int group_list(struct http_request *r, struct http_reply *rp,
		      const struct compute_caller *c, struct st_err *err)
{
	json_t *list;
	struct compute_query q = routes_compute__query(r);
	if (compute__server_group_list(routes_compute__db(r), c, &q, &list, err) < 0)
		return -1;
	return routes_compute__member(rp, "server_groups", list);
}

static int group_create(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	cleanup_json json_t *body = NULL;
	json_t *g;
	if (http_request__body_json(r, &body, err) < 0 ||
	    compute__server_group_create(routes_compute__db(r), c, body, &g, err) < 0)
		return -1;
	return routes_compute__member(rp, "server_group", g);
}

static int group_show(struct http_request *r, struct http_reply *rp,
		      const struct compute_caller *c, struct st_err *err)
{
	json_t *g;
	if (compute__server_group_get(routes_compute__db(r), c, http_request__capture(r, "id"), &g,
				      err) < 0)
		return -1;
	return routes_compute__member(rp, "server_group", g);
}

static int group_delete(struct http_request *r, struct http_reply *rp,
			const struct compute_caller *c, struct st_err *err)
{
	if (compute__server_group_delete(routes_compute__db(r), c, http_request__capture(r, "id"),
					 err) < 0)
		return -1;
	return routes_compute__reply(rp, 204, NULL);
}

static const struct http_route routes[] = {
	COMPUTE_ROUTE("GET", "/os-keypairs", keypair_list),
	COMPUTE_ROUTE("POST", "/os-keypairs", keypair_create),
	COMPUTE_ROUTE("GET", "/os-keypairs/{name}", keypair_show),
	COMPUTE_ROUTE("DELETE", "/os-keypairs/{name}", keypair_delete),
	COMPUTE_ROUTE("GET", "/os-server-groups", group_list),
	COMPUTE_ROUTE("POST", "/os-server-groups", group_create),
	COMPUTE_ROUTE("GET", "/os-server-groups/{id}", group_show),
	COMPUTE_ROUTE("DELETE", "/os-server-groups/{id}", group_delete),
};

const struct http_route *routes_compute__keypairs(size_t *n)
{
	*n = ST_ARRAY_SIZE(routes);
	return routes;
}
