/* /v1/images: the host's image cache (image_cache.h), and what it removes
 * (image_cache_gc.h). Volumes on a cached image are made through
 * POST /v1/pools/P/volumes {"name", "image": {...}} (routes_storage.c). */
#include "host/routes.h"

#include <stdbool.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "host/image_cache.h"
#include "host/image_cache_gc.h"

static const char *id_arg(const struct http_request *r)
{
	return http_request__capture(r, "image");
}

static int img_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 200, image_cache__list(routes__host(r)));
	return 0;
}

/* 201 when this request fetched it, 200 when it was cached already */
static int img_fetch(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	bool created = false;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	int rc = image_cache__fetch(routes__host(r), in, &out, &created, err);
	return routes__json(rp, created ? 201 : 200, rc, &out);
}

static int img_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, image_cache__info(routes__host(r), id_arg(r), &out, err), &out);
}

static int img_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (image_cache__delete(routes__host(r), id_arg(r), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "deleted", id_arg(r)));
	return 0;
}

static int img_verify(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, image_cache__verify(routes__host(r), id_arg(r), &out, err), &out);
}

static int img_prune(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, image_cache_gc__prune(routes__host(r), &out, err), &out);
}

const struct http_route routes__table_images[] = {
	{"GET", "/v1/images", img_list, NULL, NULL},
	{"POST", "/v1/images", img_fetch, NULL, NULL},
	{"POST", "/v1/images/prune", img_prune, NULL, NULL},
	{"GET", "/v1/images/{image}", img_info, NULL, NULL},
	{"DELETE", "/v1/images/{image}", img_delete, NULL, NULL},
	{"POST", "/v1/images/{image}/verify", img_verify, NULL, NULL},
};
const size_t routes__nr_images = sizeof(routes__table_images) / sizeof(routes__table_images[0]);
