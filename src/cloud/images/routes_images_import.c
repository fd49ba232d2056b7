/* Interoperable image import over HTTP: the discovery documents
 * (/v2/info/import, /v2/info/stores), POST /v2/images/{id}/import (202) and
 * the tasks that record imports (PUT .../stage is routes_images_data.c's). */
#include "cloud/images/routes_images.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"

static int info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	if (routes_images__caller(r, &c, err) < 0)
		return -1;
	http_reply__json(rp, 200, http_request__route(r)->data ? images__stores_info()
							       : images__import_info());
	return 0;
}

static int image_import(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	cleanup_json json_t *body = NULL;
	char task_id[37];
	if (routes_images__caller(r, &c, err) < 0 || http_request__body_json(r, &body, err) < 0 ||
	    images__import(routes_images__service(r), &c, http_request__capture(r, "id"), body,
			   http_request__id(r), task_id, err) < 0)
		return -1;
	http_reply__text(rp, 202, "text/plain", strdup(""));
	return 0;
}

static int task_show(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__task_show(routes_images__service(r), &c, http_request__capture(r, "id"), &out,
			      err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int image_tasks(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__image_tasks(routes_images__service(r), &c, http_request__capture(r, "id"), &out,
				err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static int task_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	struct images_query q = routes_images__query(r);
	json_t *out;
	if (routes_images__caller(r, &c, err) < 0 ||
	    images__task_list(routes_images__service(r), &c, &q, &out, err) < 0)
		return -1;
	http_reply__json(rp, 200, out);
	return 0;
}

static const struct http_route routes[] = {
	{"GET", "/image/v2/info/import", info, NULL, NULL},
	{"GET", "/image/v2/info/stores", info, NULL, "stores"},
	{"POST", "/image/v2/images/{id}/import", image_import, NULL, NULL},
	{"GET", "/image/v2/tasks", task_list, NULL, NULL},
	{"GET", "/image/v2/tasks/{id}", task_show, NULL, NULL},
	{"GET", "/image/v2/images/{id}/tasks", image_tasks, NULL, NULL},
};

const struct http_route *routes_images__import(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
