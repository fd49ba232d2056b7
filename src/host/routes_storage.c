/* /v1/pools: storage pools and their volumes, with streamed upload and download. */
#include "host/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "host/image_cache.h"
#include "host/netxml.h"
#include "host/storage.h"
#include "host/storage_fetch.h"
#include "host/storage_format.h"

static const char *pool_arg(const struct http_request *r)
{
	return http_request__capture(r, "pool");
}

static const char *vol_arg(const struct http_request *r)
{
	return http_request__capture(r, "volume");
}

static int pool_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 200, storage__pool_list(routes__host(r)));
	return 0;
}

static int pool_define(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (routes__body_def(r, netxml__pool_import, &in, err) < 0)
		return -1;
	return routes__json(rp, 201, storage__pool_define(routes__host(r), in, &out, err), &out);
}

static int pool_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, storage__pool_info(routes__host(r), pool_arg(r), &out, err), &out);
}

static int pool_xml(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *info = NULL;
	return routes__xml(rp, storage__pool_info(routes__host(r), pool_arg(r), &info, err), &info,
			   netxml__pool_export, err);
}

static int pool_undefine(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (storage__pool_undefine(routes__host(r), pool_arg(r), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "undefined", pool_arg(r)));
	return 0;
}

/* pool-start, pool-destroy, pool-build: the pool's info after */
static int pool_action(struct http_request *r, struct http_reply *rp, int rc, struct st_err *err)
{
	json_t *out = NULL;
	if (rc < 0)
		return -1;
	return routes__json(rp, 200, storage__pool_info(routes__host(r), pool_arg(r), &out, err), &out);
}

static int pool_start(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	return pool_action(r, rp, storage__pool_set_active(routes__host(r), pool_arg(r), true, err), err);
}

static int pool_stop(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	return pool_action(r, rp, storage__pool_set_active(routes__host(r), pool_arg(r), false, err), err);
}

static int pool_build(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	return pool_action(r, rp, storage__pool_build(routes__host(r), pool_arg(r), err), err);
}

static int pool_autostart(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	bool on;
	if (routes__autostart_body(r, &on, err) < 0)
		return -1;
	return pool_action(r, rp, storage__pool_set_autostart(routes__host(r), pool_arg(r), on, err), err);
}

static int vol_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, storage__volume_list(routes__host(r), pool_arg(r), &out, err), &out);
}

static int vol_create(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	/* from a URL: the host lock is let go during the download */
	if (json_object_get(in, "image"))
		return routes__json(rp, 201, image_cache__create_volume(routes__host(r), pool_arg(r), in, &out, err), &out);
	if (json_object_get(in, "source"))
		return routes__json(rp, 201, storage_fetch__create(routes__host(r), pool_arg(r), in, &out, err), &out);
	return routes__json(rp, 201, storage__volume_create(routes__host(r), pool_arg(r), in, &out, err), &out);
}

static int vol_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, storage__volume_info(routes__host(r), pool_arg(r), vol_arg(r), &out, err), &out);
}

static int vol_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (storage__volume_delete(routes__host(r), pool_arg(r), vol_arg(r), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "deleted", vol_arg(r)));
	return 0;
}

static int vol_clone(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	return routes__json(rp, 201, storage__volume_clone(routes__host(r), pool_arg(r), vol_arg(r), in, &out, err), &out);
}

static int vol_resize(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	return routes__json(rp, 200, storage__volume_resize(routes__host(r), pool_arg(r), vol_arg(r), in, &out, err),
			    &out);
}

static int vol_download(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (!routes__ctx(r)->can_write)
		return err__fail_class(err, EACCES, "downloading a volume needs full access");
	uint64_t size;
	int fd = storage__volume_open_download(routes__host(r), pool_arg(r), vol_arg(r), &size, err);
	if (fd < 0)
		return -1;
	http_reply__file(rp, 200, "application/octet-stream", fd, size);
	return 0;
}

/* Upload: the body goes into a hidden file in the pool (opened under the
 * lock when the headers are in), which replaces the volume once it is all
 * there (storage.h); ?format=raw|qcow2 (default raw) is what it is from
 * then on. The volume's info is the reply. */
static int upload_begin(struct http_request *r, void **state, struct st_err *err)
{
	if (!routes__ctx(r)->can_write)
		return err__fail_class(err, EACCES, "uploading needs full access");
	const char *fmt;
	if (storage_format__parse(http_request__query(r, "format"), &fmt, err) < 0)
		return -1;
	struct host *h = routes__host(r);
	struct storage_upload *u = malloc(sizeof(*u));
	if (!u)
		return err__fail(err, ENOMEM, "upload");
	pthread_mutex_lock(&h->lock);
	int rc = storage__volume_upload_begin(h, pool_arg(r), vol_arg(r), u, err);
	pthread_mutex_unlock(&h->lock);
	if (rc < 0) {
		free(u);
		return -1;
	}
	*state = u;
	return 0;
}

static int upload_write(void *state, const char *data, size_t len, struct st_err *err)
{
	struct storage_upload *u = state;
	if (util__write_all(u->fd, data, len, err) < 0)
		return err__prefix(err, "upload (the volume is unchanged)");
	return 0;
}

static void upload_abort(void *state)
{
	storage__volume_upload_abort(state);
	free(state);
}

static int vol_uploaded(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_free struct storage_upload *u = http_request__upload_state(r);
	json_t *out = NULL;
	int rc = storage__volume_upload_commit(routes__host(r), pool_arg(r), vol_arg(r), http_request__query(r, "format"),
					       u, &out, err);
	return routes__json(rp, 200, rc, &out);
}

static const struct http_upload_ops upload_ops = {upload_begin, upload_write, upload_abort};

const struct http_route routes__table_storage[] = {
	{"GET", "/v1/pools", pool_list, NULL, NULL},
	{"POST", "/v1/pools", pool_define, NULL, NULL},
	{"GET", "/v1/pools/{pool}", pool_info, NULL, NULL},
	{"DELETE", "/v1/pools/{pool}", pool_undefine, NULL, NULL},
	{"POST", "/v1/pools/{pool}/start", pool_start, NULL, NULL},
	{"POST", "/v1/pools/{pool}/stop", pool_stop, NULL, NULL},
	{"POST", "/v1/pools/{pool}/build", pool_build, NULL, NULL},
	{"PUT", "/v1/pools/{pool}/autostart", pool_autostart, NULL, NULL},
	{"GET", "/v1/pools/{pool}/xml", pool_xml, NULL, NULL},
	{"GET", "/v1/pools/{pool}/volumes", vol_list, NULL, NULL},
	{"POST", "/v1/pools/{pool}/volumes", vol_create, NULL, NULL},
	{"GET", "/v1/pools/{pool}/volumes/{volume}", vol_info, NULL, NULL},
	{"DELETE", "/v1/pools/{pool}/volumes/{volume}", vol_delete, NULL, NULL},
	{"POST", "/v1/pools/{pool}/volumes/{volume}/clone", vol_clone, NULL, NULL},
	{"POST", "/v1/pools/{pool}/volumes/{volume}/resize", vol_resize, NULL, NULL},
	{"GET", "/v1/pools/{pool}/volumes/{volume}/data", vol_download, NULL, NULL},
	{"PUT", "/v1/pools/{pool}/volumes/{volume}/data", vol_uploaded, &upload_ops, NULL},
};
const size_t routes__nr_storage = sizeof(routes__table_storage) / sizeof(routes__table_storage[0]);
