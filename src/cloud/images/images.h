/* The Image service (Glance v2): its operations, JSON in and JSON out, each
 * checked against the caller's token first (through identity.h), over its
 * tables (images_db.h) and the data store (image_store.h). The HTTP
 * handlers (routes_images*.c) parse requests and call these. Errors carry
 * the HTTP meaning in errnum: EINVAL 400, EACCES 401 (as identity.h),
 * EPERM 403, ENOENT 404, EEXIST/EBUSY 409, E2BIG 413. */
#ifndef STRATA_CLOUD_IMAGES_H
#define STRATA_CLOUD_IMAGES_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/identity/identity.h"
#include "cloud/images/image_store.h"
#include "cloud/images/images_db.h"

struct images {
	struct db *db;
	struct identity *identity;
	struct image_store store;
	struct image_store staging; /* glance-direct's staged data: STORE/staging */
	int64_t quota_count; /* images per project; 0: no limit */
	int64_t quota_bytes; /* bytes of image data per project; 0: no limit */
	/* the largest image data, uploaded or fetched (0: 1 TiB, Glance's
	 * image_size_cap), and the ports web-download may reach ("80,443"
	 * when NULL) */
	int64_t import_max_bytes;
	const char *import_ports;
	/* web-download's fetches in flight (images__fini stops and waits) */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned fetching;
	bool stopping;
};

/* Migrates the tables, opens the store (default STATEDIR/images) and puts
 * back to queued the uploads and imports a killed process left behind. */
int images__init(struct images *im, struct db *db, struct identity *id, const char *store_dir,
		 struct st_err *err);
/* Stops the imports in flight (their images back to queued) and waits. */
void images__fini(struct images *im);

/* Who asks: a project-scoped token's project and roles. */
struct images_caller {
	char user_id[TOKEN_ID_MAX + 1];
	char project_id[TOKEN_ID_MAX + 1];
	bool admin;  /* the admin role */
	bool member; /* may write: admin or member */
};
int images__caller(struct images *im, const char *auth_token, struct images_caller *c,
		   struct st_err *err);

/* POST /v2/images: body is the request's object; *out Glance's view. */
int images__create(struct images *im, const struct images_caller *c, json_t *body, json_t **out,
		   struct st_err *err);
int images__show(struct images *im, const struct images_caller *c, const char *id, json_t **out,
		 struct st_err *err);
int images__delete(struct images *im, const struct images_caller *c, const char *id,
		   struct st_err *err);
/* GET /v2/images: {"images": [...], "first", "schema", "next" when there is
 * more}; query gives the request's parameters (images_db.h says which). */
int images__list(struct images *im, const struct images_caller *c, const struct images_query *q,
		 json_t **out, struct st_err *err);
/* A list's paging (images_list.c): limit (default 25, at most 1000) and the
 * next page's link, path?every argument but marker&marker=MARKER. */
int images__parse_limit(const char *text, size_t *limit, struct st_err *err);
json_t *images__next_link(const struct images_query *q, const char *path, const char *marker);

/* PATCH (images_patch.c): changes is the JSON Patch array. */
int images__update(struct images *im, const struct images_caller *c, const char *id,
		   json_t *changes, json_t **out, struct st_err *err);
/* PUT/DELETE /v2/images/ID/tags/TAG. */
int images__tag(struct images *im, const struct images_caller *c, const char *id,
		const char *tag, bool add, struct st_err *err);
/* POST /v2/images/ID/actions/reactivate (active) or deactivate. */
int images__activate(struct images *im, const struct images_caller *c, const char *id,
		     bool active, struct st_err *err);

/* Members (images_members.c): body {"member": PROJECT} / {"status": S}. */
int images__member_add(struct images *im, const struct images_caller *c, const char *id,
		       json_t *body, json_t **out, struct st_err *err);
int images__member_list(struct images *im, const struct images_caller *c, const char *id,
			json_t **out, struct st_err *err);
int images__member_show(struct images *im, const struct images_caller *c, const char *id,
			const char *member, json_t **out, struct st_err *err);
int images__member_update(struct images *im, const struct images_caller *c, const char *id,
			  const char *member, json_t *body, json_t **out, struct st_err *err);
int images__member_delete(struct images *im, const struct images_caller *c, const char *id,
			  const char *member, struct st_err *err);

/* The record of an image the caller may see (ENOENT otherwise), and whether
 * it may change it (owner project with a writing role, or admin). */
int images__visible(struct images *im, const struct images_caller *c, const char *id,
		    json_t **rec, struct st_err *err);
bool images__may_modify(const struct images_caller *c, const json_t *rec);
/* Glance's view of a record ({"id", "name", ..., "self", "file", "schema"}). */
json_t *images__view(const json_t *rec);

/* --- data (images_data.c) --- */
struct images_upload;
/* PUT /v2/images/ID/file: the image must be queued and the caller may
 * modify it; declared is the Content-Length (-1 when chunked), checked
 * against the quota before anything is written. The image is saving. */
int images__upload_begin(struct images *im, const struct images_caller *c, const char *id,
			 int64_t declared, struct images_upload **out, struct st_err *err);
int images__upload_write(struct images_upload *up, const char *data, size_t len,
			 struct st_err *err);
/* The body is complete: checks the client's md5 (hex, or NULL), inspects the
 * format, commits the data and makes the image active. Frees up. */
int images__upload_finish(struct images_upload *up, const char *md5, struct st_err *err);
/* The upload failed or the client went away: no data, the image queued. */
void images__upload_abort(struct images_upload *up);

/* PUT /v2/images/ID/stage (glance-direct): as an upload, but the data is
 * kept aside and the image is uploading until its import. */
int images__stage_begin(struct images *im, const struct images_caller *c, const char *id,
			int64_t declared, struct images_upload **out, struct st_err *err);
/* The import's data (images_import.c): the staged file (read once for its
 * hashes) or an empty one to write (web-download); the image (rec) is
 * importing; images__upload_finish inspects and activates it. */
int images__import_begin(struct images *im, const json_t *rec, bool staged,
			 struct images_upload **out, struct st_err *err);

/* --- import (images_import.c) --- */
/* GET /v2/info/import and /v2/info/stores. */
json_t *images__import_info(void);
json_t *images__stores_info(void);
/* POST /v2/images/ID/import: body {"method": {"name", "uri"?}}; starts the
 * task (its id in task_id) and answers at once (202). */
int images__import(struct images *im, const struct images_caller *c, const char *id,
		   json_t *body, const char *request_id, char task_id[37], struct st_err *err);
/* GET /v2/tasks/ID and GET /v2/images/ID/tasks ({"tasks": [...]}). */
int images__task_show(struct images *im, const struct images_caller *c, const char *id,
		      json_t **out, struct st_err *err);
int images__image_tasks(struct images *im, const struct images_caller *c, const char *id,
			json_t **out, struct st_err *err);
/* GET /v2/tasks: the caller's project's tasks (an admin's: all), filtered by
 * type and status, sorted (sort_key, sort_dir) and paged (limit, marker) as
 * Glance's; each a stub without input, result and message. */
int images__task_list(struct images *im, const struct images_caller *c, const struct images_query *q,
		      json_t **out, struct st_err *err);

/* GET /v2/images/ID/file: the data's fd, size and md5 (ENOENT with no
 * data: Glance answers 204). */
int images__download(struct images *im, const struct images_caller *c, const char *id, int *fd,
		     uint64_t *size, char md5[33], struct st_err *err);

#endif
