/* Image data: uploads streamed into the store (never held in memory), with
 * the quota checked before writing and the format inspected before the data
 * becomes the image's; downloads. */
#include "cloud/images/images.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "block/image_inspect.h"
#include "common/base64.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "cloud/images/images_db.h"

struct images_upload {
	struct images *im;
	char id[64];
	char owner[TOKEN_ID_MAX + 1];
	char disk_format[32];
	const char *busy;  /* the image's status meanwhile: saving, uploading or importing */
	bool staging;      /* glance-direct's stage: kept aside, the image stays uploading */
	struct image_store_upload *data;
	int64_t limit; /* bytes the quota still allows; -1: no limit */
};

/* The bytes the owner's quota still allows (-1: no limit). */
static int quota_left(struct images *im, const char *owner, int64_t *left, struct st_err *err)
{
	int64_t count, bytes;
	*left = -1;
	if (!im->quota_bytes)
		return 0;
	if (images_db__usage(im->db, owner, &count, &bytes, err) < 0)
		return -1;
	*left = im->quota_bytes > bytes ? im->quota_bytes - bytes : 0;
	return 0;
}

static int over_quota(const struct images_upload *up, int64_t attempted, struct st_err *err)
{
	return err__fail_class(err, E2BIG, "Attempted: %" PRId64 ", Maximum: %" PRId64 ". Over the"
				       " image_size_total limit of the image's project.",
			       attempted, up->im->quota_bytes);
}

/* An upload of the image of rec, its quota checked against declared bytes
 * (-1: unknown) before anything is written. */
static int new_upload(struct images *im, const json_t *rec, int64_t declared, const char *busy,
		      struct images_upload **out, struct st_err *err)
{
	struct images_upload *up = calloc(1, sizeof(*up));
	if (!up)
		return err__fail(err, ENOMEM, "out of memory");
	up->im = im;
	up->busy = busy;
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *fmt = json_string_value(json_object_get(rec, "disk_format"));
	const char *owner = json_string_value(json_object_get(rec, "owner"));
	snprintf(up->id, sizeof(up->id), "%s", id);
	snprintf(up->disk_format, sizeof(up->disk_format), "%s", fmt ? fmt : "");
	snprintf(up->owner, sizeof(up->owner), "%s", owner ? owner : "");
	if (quota_left(im, up->owner, &up->limit, err) < 0 ||
	    (up->limit >= 0 && declared > up->limit && over_quota(up, declared, err) < 0)) {
		free(up);
		return -1;
	}
	*out = up;
	return 0;
}

/* PUT .../file (into the store, saving) or .../stage (aside, uploading). */
static int upload_begin(struct images *im, const struct images_caller *c, const char *id,
			int64_t declared, bool staging, struct images_upload **out,
			struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	const char *busy = staging ? "uploading" : "saving";
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete %s action.",
				       staging ? "stage_image" : "upload_image");
	const char *status = json_string_value(json_object_get(rec, "status"));
	if (strcmp(status, "queued"))
		return err__fail_class(err, EEXIST, "Image status transition from %s to %s is not"
					       " allowed", status, busy);
	struct images_upload *up;
	if (new_upload(im, rec, declared, busy, &up, err) < 0)
		return -1;
	up->staging = staging;
	/* The temporary file (and its lock) first: a saving image with no
	 * locked temporary file is a dead upload (images__init). */
	if (image_store__begin(staging ? &im->staging : &im->store, id, &up->data, err) < 0) {
		free(up);
		return -1;
	}
	int n = images_db__set_status(im->db, id, "queued", busy, err);
	if (n <= 0) {
		image_store__abort(up->data);
		free(up);
		return n < 0 ? -1 : err__fail_class(err, EEXIST, "Image %s is no longer queued", id);
	}
	*out = up;
	return 0;
}

int images__upload_begin(struct images *im, const struct images_caller *c, const char *id,
			 int64_t declared, struct images_upload **out, struct st_err *err)
{
	return upload_begin(im, c, id, declared, false, out, err);
}

int images__stage_begin(struct images *im, const struct images_caller *c, const char *id,
			int64_t declared, struct images_upload **out, struct st_err *err)
{
	return upload_begin(im, c, id, declared, true, out, err);
}

int images__import_begin(struct images *im, const json_t *rec, bool staged,
			 struct images_upload **out, struct st_err *err)
{
	struct images_upload *up;
	const char *id = json_string_value(json_object_get(rec, "id"));
	if (new_upload(im, rec, -1, "importing", &up, err) < 0)
		return -1;
	int rc = staged ? image_store__adopt(&im->store, id, &im->staging, &up->data, err)
			: image_store__begin(&im->store, id, &up->data, err);
	if (rc < 0) {
		free(up);
		return -1;
	}
	if (up->limit >= 0 && (int64_t)image_store__size(up->data) > up->limit) {
		over_quota(up, (int64_t)image_store__size(up->data), err);
		images__upload_abort(up);
		return -1;
	}
	*out = up;
	return 0;
}

int images__upload_write(struct images_upload *up, const char *data, size_t len,
			 struct st_err *err)
{
	int64_t after = (int64_t)(image_store__size(up->data) + len);
	if (up->limit >= 0 && after > up->limit)
		return over_quota(up, after, err);
	if (up->im->import_max_bytes && after > up->im->import_max_bytes)
		return err__fail_class(err, E2BIG, "Denying attempt to upload image larger than %" PRId64
					       " bytes.", up->im->import_max_bytes);
	return image_store__write(up->data, data, len, err);
}

void images__upload_abort(struct images_upload *up)
{
	if (!up)
		return;
	struct st_err err = {0};
	image_store__abort(up->data);
	if (images_db__set_status(up->im->db, up->id, up->busy, "queued", &err) < 0)
		log__error("image %s: cannot put it back to queued: %s", up->id, err.msg);
	free(up);
}

/* The client's Content-MD5, hex (as Glance sends it back) or base64 (RFC
 * 1864), as lowercase hex; 0 when it is neither. */
static int md5_hex(const char *in, char out[33])
{
	size_t len = strlen(in);
	if (len == 32) {
		for (size_t i = 0; i < 32; i++) {
			if (!isxdigit((unsigned char)in[i]))
				return 0;
			out[i] = (char)tolower((unsigned char)in[i]);
		}
		out[32] = 0;
		return 1;
	}
	cleanup_free uint8_t *raw = NULL;
	size_t n = 0;
	if (base64__decode(BASE64_STD, in, len, &raw, &n, NULL) < 0 || n != 16)
		return 0;
	for (size_t i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 1;
}

/* Format inspection, as Glance does since OSSA-2023-002: before the data
 * becomes the image's, its headers (only) must show the declared disk_format,
 * no backing or data file and a sane virtual size (block/image_inspect.h);
 * a refusal is a 400 and the image stays queued. */
static int inspect_upload(struct images_upload *up, int64_t *virtual_size, struct st_err *err)
{
	struct image_inspect ii = {0};
	int fd = image_store__fd(up->data, err);
	if (fd < 0 || image_inspect__fd(fd, up->disk_format, &ii, err) < 0)
		return -1;
	*virtual_size = (int64_t)ii.virtual_size;
	return 0;
}

static int finish(struct images_upload *up, const char *client_md5, struct st_err *err)
{
	/* the quota checked again where two uploads cannot both pass it */
	struct images_db_data d = {.size = (int64_t)image_store__size(up->data),
				   .from = up->busy,
				   .owner = up->owner,
				   .quota_bytes = up->im->quota_bytes};
	char want[33];
	if (image_store__digests(up->data, d.md5, d.sha512, err) < 0)
		return -1;
	if (client_md5 && (!md5_hex(client_md5, want) || strcmp(want, d.md5)))
		return err__fail_class(err, EINVAL, "Checksum verification failed: the data's md5 is %s,"
					       " Content-MD5 said %.64s.", d.md5, client_md5);
	if (inspect_upload(up, &d.virtual_size, err) < 0)
		return -1;
	int rc = image_store__commit(up->data, err);
	up->data = NULL;
	if (rc < 0)
		return -1;
	int n = images_db__activate(up->im->db, up->id, &d, err);
	if (n <= 0) {
		/* the data goes: the image stays without it (queued, by the abort) */
		image_store__remove(&up->im->store, up->id, NULL);
		return n < 0 ? -1 : err__fail_class(err, ENOENT, "Image %s could not be found after"
							     " upload. The Image may have been deleted"
							     " during the upload.", up->id);
	}
	return 0;
}

/* The staged data kept aside for the import (the image stays uploading). */
static int finish_stage(struct images_upload *up, struct st_err *err)
{
	int rc = image_store__commit(up->data, err);
	up->data = NULL;
	if (rc < 0)
		return -1;
	cleanup_json json_t *rec = NULL;
	if (images_db__get(up->im->db, up->id, &rec, err) < 0) {
		image_store__remove(&up->im->staging, up->id, NULL);
		return -1; /* deleted meanwhile */
	}
	return 0;
}

int images__upload_finish(struct images_upload *up, const char *md5, struct st_err *err)
{
	if ((up->staging ? finish_stage(up, err) : finish(up, md5, err)) == 0) {
		free(up);
		return 0;
	}
	images__upload_abort(up);
	return -1;
}

int images__download(struct images *im, const struct images_caller *c, const char *id, int *fd,
		     uint64_t *size, char md5[33], struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	const char *status = json_string_value(json_object_get(rec, "status"));
	if (!strcmp(status, "deactivated") && !c->admin)
		return err__fail_class(err, EPERM, "The requested image has been deactivated. Image data"
					       " download is forbidden.");
	const char *sum = json_string_value(json_object_get(rec, "checksum"));
	if (strcmp(status, "active") && strcmp(status, "deactivated"))
		return err__fail_class(err, ENODATA, "Image %s has no data.", id);
	if (image_store__open(&im->store, id, fd, size, err) < 0)
		return -1;
	snprintf(md5, 33, "%s", sum ? sum : "");
	return 0;
}
