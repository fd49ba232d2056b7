/* Glance v2's image members: /v2/images/{id}/members[/{member}]. */
#include "cloud/images/routes_images.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"

static int member_add(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    images__member_add(routes_images__service(r), &c, http_request__capture(r, "id"), body, &out,
			       err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int member_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__member_list(routes_images__service(r), &c, http_request__capture(r, "id"), &out,
				err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int member_show(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__member_show(routes_images__service(r), &c, http_request__capture(r, "id"),
				http_request__capture(r, "member"), &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int member_update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	cleanup_json json_t *body = NULL;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    images__member_update(routes_images__service(r), &c, http_request__capture(r, "id"),
				  http_request__capture(r, "member"), body, &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int member_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__member_delete(routes_images__service(r), &c, http_request__capture(r, "id"),
				  http_request__capture(r, "member"), err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

static const struct http_route routes[] = {
	{"POST", "/image/v2/images/{id}/members", member_add, NULL, NULL},
	{"GET", "/image/v2/images/{id}/members", member_list, NULL, NULL},
	{"GET", "/image/v2/images/{id}/members/{member}", member_show, NULL, NULL},
	{"PUT", "/image/v2/images/{id}/members/{member}", member_update, NULL, NULL},
	{"DELETE", "/image/v2/images/{id}/members/{member}", member_delete, NULL, NULL},
};

const struct http_route *routes_images__members(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
