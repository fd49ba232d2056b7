/* /v1/templates: guest templates (templates.h). */
#include "host/routes.h"

#include "common/json_util.h"
#include "host/templates.h"

static const char *tpl_arg(const struct http_request *r)
{
	return http_request__capture(r, "name");
}

static int tpl_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 200, templates__list(routes__host(r)));
	return 0;
}

/* {"name", ...the recipe} or {"name", "guest"}: from a defined guest */
static int tpl_define(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	int rc = json_object_get(in, "guest") ? templates__from_guest(routes__host(r), in, &out, err)
					     : templates__define(routes__host(r), in, &out, err);
	return routes__json(rp, 201, rc, &out);
}

static int tpl_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, templates__get(routes__host(r), tpl_arg(r), &out, err), &out);
}

static int tpl_update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	return routes__json(rp, 200, templates__update(routes__host(r), tpl_arg(r), in, &out, err), &out);
}

static int tpl_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (templates__delete(routes__host(r), tpl_arg(r), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "deleted", tpl_arg(r)));
	return 0;
}

const struct http_route routes__table_templates[] = {
	{"GET", "/v1/templates", tpl_list, NULL, NULL},
	{"POST", "/v1/templates", tpl_define, NULL, NULL},
	{"GET", "/v1/templates/{name}", tpl_info, NULL, NULL},
	{"PUT", "/v1/templates/{name}", tpl_update, NULL, NULL},
	{"DELETE", "/v1/templates/{name}", tpl_delete, NULL, NULL},
};
const size_t routes__nr_templates = sizeof(routes__table_templates) / sizeof(routes__table_templates[0]);
