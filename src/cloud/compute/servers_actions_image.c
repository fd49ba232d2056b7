/* rebuild's and createImage's images. A rebuild takes a visible, active,
 * bootable image (the request's imageRef) in place of the server's; a
 * createImage makes the image at once (queued, owned by the server's
 * project, Nova's snapshot properties, the source image's kernel_id,
 * ramdisk_id and os_command_line so that it boots as the server did), and
 * its worker fills it: the root disk copied on the host (a copy is whole:
 * an overlay's copy holds its base's data too), downloaded from stratad
 * and uploaded into the image service, which makes it active. A failure
 * deletes the image, as Nova does. */
#include "cloud/compute/servers_actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_meta.h"
#include "cloud/compute/servers_worker.h"

static struct images_caller image_caller(const struct compute_caller *c)
{
	struct images_caller ic = {.admin = c->admin, .member = c->member || c->admin};
	snprintf(ic.user_id, sizeof(ic.user_id), "%s", c->user_id);
	snprintf(ic.project_id, sizeof(ic.project_id), "%s", c->project_id);
	return ic;
}

int servers_actions__rebuild_args(struct servers *s, const struct compute_caller *c,
				  const json_t *row, json_t *args, json_t **work, struct st_err *err)
{
	static const char *const keys[] = {"imageRef", "name", "adminPass", "metadata", "preserve_ephemeral",
					   "OS-DCF:diskConfig", "accessIPv4", "accessIPv6", "personality", NULL};
	const char *ref, *name, *pass;
	cleanup_json json_t *rec = NULL;
	if (!json_is_object(args))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute rebuild. It is not of type 'object'");
	if (compute_valid__keys(args, keys, err) < 0 ||
	    compute_valid__string(args, "imageRef", true, 0, 2048, false, &ref, err) < 0 ||
	    compute_valid__string(args, "name", false, 1, 255, true, &name, err) < 0 ||
	    compute_valid__string(args, "adminPass", false, 0, 255, false, &pass, err) < 0)
		return -1;
	json_t *meta = json_object_get(args, "metadata");
	if (meta && servers_meta__check(s->db, json_string_value(json_object_get(row, "project_id")), meta,
					"metadata", err) < 0)
		return -1;
	const char *slash = strrchr(ref, '/');
	const char *id = slash ? slash + 1 : ref;
	struct images_caller ic = image_caller(c);
	if (images__visible(s->images, &ic, id, &rec, err) < 0)
		return err->errnum == ENOENT ? err__fail_class(err, EINVAL, "Image %.64s could not be found.", id) : -1;
	const char *status = json_string_value(json_object_get(rec, "status"));
	if (!status || strcmp(status, "active"))
		return err__fail_class(err, EINVAL, "Image %.64s is not active.", id);
	long long min_ram = json_integer_value(json_object_get(rec, "min_ram"));
	if (min_ram > json_integer_value(json_object_get(row, "memory_mb")))
		return err__fail_class(err, EINVAL, "Flavor's memory is too small for requested image.");
	json_t *image = json_pack("{s:s, s:O, s:O, s:O, s:O}", "id", id, "disk_format",
				  json_object_get(rec, "disk_format"), "os_hash_value",
				  json_object_get(rec, "os_hash_value"), "size", json_object_get(rec, "size"),
				  "properties", json_object_get(rec, "properties"));
	cleanup_json json_t *probe = json_pack("{s:{s:O}}", "request_spec", "image", image);
	if (servers_stratad__bootable(probe, err) < 0) {
		json_decref(image);
		return -1;
	}
	*work = json_pack("{s:o}", "image", image);
	if (name)
		json_object_set_new(*work, "name", json_string(name));
	if (meta)
		json_object_set(*work, "metadata", meta);
	return 0;
}

int servers_actions__snapshot_valid(struct servers *s, const struct compute_caller *c, json_t *args,
				    struct st_err *err)
{
	static const char *const keys[] = {"name", "metadata", NULL};
	const char *name;
	if (!json_is_object(args))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute createImage. It is not of type 'object'");
	if (compute_valid__keys(args, keys, err) < 0 ||
	    compute_valid__string(args, "name", true, 1, 255, true, &name, err) < 0)
		return -1;
	json_t *meta = json_object_get(args, "metadata");
	return meta ? servers_meta__check(s->db, c->project_id, meta, "metadata", err) : 0;
}

int servers_actions__snapshot_args(struct servers *s, const struct compute_caller *c,
				   const json_t *row, json_t *args, json_t **work, struct st_err *err)
{
	if (servers_actions__snapshot_valid(s, c, args, err) < 0)
		return -1;
	static const char *const inherited[] = {"kernel_id", "ramdisk_id", "os_command_line"};
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *meta = json_object_get(args, "metadata");
	const json_t *src = json_object_get(json_object_get(row, "request_spec"), "image");
	const json_t *props = json_object_get(src, "properties");
	cleanup_json json_t *body = json_pack(
		"{s:s, s:O, s:s, s:s, s:s, s:O, s:O, s:O}", "name", name, "disk_format",
		json_object_get(src, "disk_format"), "container_format", "bare", "visibility", "private",
		"image_type", "snapshot", "instance_uuid", json_object_get(row, "uuid"), "base_image_ref",
		json_object_get(row, "image_ref"), "user_id", json_object_get(row, "user_id"));
	for (size_t i = 0; i < ST_ARRAY_SIZE(inherited); i++)
		if (json_is_string(json_object_get(props, inherited[i])))
			json_object_set(body, inherited[i], json_object_get(props, inherited[i]));
	if (meta)
		json_object_update_missing(body, meta);
	cleanup_json json_t *image = NULL;
	struct images_caller ic = image_caller(c);
	if (images__create(s->images, &ic, body, &image, err) < 0)
		return err__prefix(err, "creating the snapshot's image");
	*work = json_pack("{s:O, s:s, s:s}", "image_id", json_object_get(image, "id"), "project_id",
			  c->project_id, "user_id", c->user_id);
	return 0;
}

/* The copy's data from the host into a temporary file. */
static int download(const struct servers_host *h, const char *vol, FILE *sink, struct st_err *err)
{
	char api[256];
	struct http_client_target t;
	struct http_client_resp r = {0};
	hosts__target(&h->ep, &t);
	t.timeout_ms = 0;
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s/data", h->pool, vol);
	int rc = http_client__transfer(&t, "GET", api, -1, 0, sink, 0, &r, err);
	if (rc == 0 && r.status != 200)
		rc = err__fail(err, EIO, "host %s: downloading %s: HTTP %u", h->name, vol, r.status);
	http_client__resp_free(&r);
	return rc;
}

/* The file's data into the image (its disk_format made the copy's first). */
static int upload(struct servers *s, const struct images_caller *ic, const char *id, const char *fmt,
		  FILE *f, struct st_err *err)
{
	cleanup_json json_t *patch = json_pack("[{s:s, s:s, s:s}]", "op", "replace", "path", "/disk_format",
					       "value", fmt), *out = NULL;
	struct images_upload *up;
	long size = ftell(f);
	char buf[65536];
	size_t n;
	if (size < 0 || fseek(f, 0, SEEK_SET) < 0)
		return err__fail(err, errno, "reading the snapshot's copy");
	if (images__update(s->images, ic, id, patch, &out, err) < 0 ||
	    images__upload_begin(s->images, ic, id, size, &up, err) < 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (images__upload_write(up, buf, n, err) < 0) {
			images__upload_abort(up);
			return -1;
		}
	return images__upload_finish(up, NULL, err);
}

static int copy_and_upload(struct servers *s, const struct servers_host *h, const json_t *row,
			   const json_t *work, const char *copy, struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *vm = json_string_value(json_object_get(row, "vm_state"));
	bool running = !strcmp(vm, "active");
	char api[256], disk[80];
	struct http_client_target t;
	cleanup_json json_t *cloned = NULL;
	hosts__target(&h->ep, &t);
	snprintf(disk, sizeof(disk), "%s-disk", uuid);
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s/clone", h->pool, disk);
	cleanup_json json_t *req = json_pack("{s:s, s:s}", "name", copy, "mode", "copy");
	const char *pending[] = {uuid};
	servers_db__update(s->db, "task_state = 'image_pending_upload'", pending, 1, err);
	/* a guest that runs is paused while its disk is copied: a copy of one instant */
	if (running && servers_actions__domain_call(h, row, "suspend", err) < 0)
		return -1;
	int rc = http_client__json(&t, "POST", api, req, &cloned, err);
	if (running) {
		struct st_err again = {0};
		if (servers_actions__domain_call(h, row, "resume", &again) < 0)
			log__warn("server %s: resuming after its snapshot's copy: %s", uuid, again.msg);
	}
	if (rc < 0)
		return err__prefix(err, "host %s: copying %s", h->name, disk);
	servers_db__update(s->db, "task_state = 'image_uploading'", pending, 1, err);
	FILE *f = tmpfile();
	if (!f)
		return err__fail(err, errno, "a temporary file for the snapshot");
	struct images_caller ic = {.member = true};
	snprintf(ic.project_id, sizeof(ic.project_id), "%s", json_string_value(json_object_get(work, "project_id")));
	snprintf(ic.user_id, sizeof(ic.user_id), "%s", json_string_value(json_object_get(work, "user_id")));
	const char *fmt = json_string_value(json_object_get(cloned, "format"));
	rc = download(h, copy, f, err);
	if (rc == 0)
		rc = upload(s, &ic, json_string_value(json_object_get(work, "image_id")), fmt ? fmt : "raw", f, err);
	fclose(f);
	return rc;
}

int servers_actions__snapshot(struct servers *s, const struct servers_host *h, const json_t *row,
			      const json_t *work, struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	const char *image = json_string_value(json_object_get(work, "image_id"));
	char copy[80], api[256];
	struct http_client_target t;
	struct st_err ignored = {0};
	hosts__target(&h->ep, &t);
	snprintf(copy, sizeof(copy), "%s-snapshot", uuid);
	int rc = copy_and_upload(s, h, row, work, copy, err);
	snprintf(api, sizeof(api), "/v1/pools/%s/volumes/%s", h->pool, copy);
	struct http_client_resp r = {0};
	if (http_client__request(&t, "DELETE", api, NULL, NULL, 0, &r, &ignored) < 0 || r.status >= 300)
		log__warn("server %s: the snapshot's copy %s stays on host %s", uuid, copy, h->name);
	http_client__resp_free(&r);
	if (rc < 0) {
		struct images_caller admin = {.admin = true, .member = true};
		if (images__delete(s->images, &admin, image, &ignored) < 0)
			log__warn("server %s: deleting the failed snapshot %s: %s", uuid, image, ignored.msg);
	}
	return rc;
}
