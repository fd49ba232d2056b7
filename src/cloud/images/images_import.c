/* Interoperable image import (Glance v2.6+): glance-direct (the data staged
 * with PUT .../stage, then imported) and web-download (fetched from an http
 * or https URL). POST .../import answers at once with the image importing
 * and a task (Glance's api_image_import) recording how it ends; the work
 * runs on its own thread: the data becomes the image's only after the same
 * format inspection and quota check as an upload (images_data.c). A failure
 * leaves the image queued with no data, the task's message saying why and
 * os_glance_failed_import naming the store. */
#include "cloud/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/images/images_db.h"
#include "cloud/images/images_fields.h"
#include "cloud/images/images_web.h"

#define SIZE_CAP_DEFAULT (INT64_C(1) << 40) /* Glance's image_size_cap: 1 TiB */
#define PORTS_DEFAULT "80,443"
#define STORE_ID "file"

json_t *images__import_info(void)
{
	return json_pack("{s:{s:s,s:s,s:[ss]}}", "import-methods", "description",
			 "Import methods available.", "type", "array", "value", "glance-direct",
			 "web-download");
}

json_t *images__stores_info(void)
{
	return json_pack("{s:[{s:s,s:s,s:b}]}", "stores", "id", STORE_ID, "description",
			 "The file store of strata-cloud (--image-dir)", "default", 1);
}

struct import_job {
	struct images *im;
	json_t *rec;
	char task_id[37];
	bool web;
	char *uri;
};

static const char *ports(const struct images *im)
{
	return im->import_ports ? im->import_ports : PORTS_DEFAULT;
}

/* The import's work: the data into an upload, then inspected and made the
 * image's (images__upload_finish). */
static int run_import(struct import_job *j, struct st_err *err)
{
	struct images_upload *up;
	if (images__import_begin(j->im, j->rec, !j->web, &up, err) < 0)
		return -1;
	int64_t max = j->im->import_max_bytes ? j->im->import_max_bytes : SIZE_CAP_DEFAULT;
	if (j->web && images_web__fetch(j->uri, ports(j->im), max, &j->im->stopping, up, err) < 0) {
		images__upload_abort(up);
		return -1;
	}
	return images__upload_finish(up, NULL, err);
}

static void end_task(struct import_job *j, int rc, const struct st_err *e)
{
	struct st_err err = {0};
	const char *id = json_string_value(json_object_get(j->rec, "id"));
	if (rc < 0) {
		log__warn("image %s: import failed: %s", id, e->msg);
		/* no upload took the image back (it failed before one existed): do it here */
		images_db__set_status(j->im->db, id, "importing", "queued", &err);
		if (images_db__set_property(j->im->db, id, "os_glance_failed_import", STORE_ID, &err) < 0)
			log__error("image %s: %s", id, err.msg);
	}
	cleanup_json json_t *result = json_pack("{s:s}", "image_id", id);
	if (images_db__task_set(j->im->db, j->task_id, rc < 0 ? "failure" : "success",
				rc < 0 ? e->msg : "", result, &err) < 0)
		log__error("task %s: %s", j->task_id, err.msg);
}

static void *import_thread(void *arg)
{
	struct import_job *j = arg;
	struct st_err err = {0};
	end_task(j, run_import(j, &err), &err);
	struct images *im = j->im;
	json_decref(j->rec);
	free(j->uri);
	free(j);
	pthread_mutex_lock(&im->lock);
	if (--im->fetching == 0)
		pthread_cond_broadcast(&im->idle);
	pthread_mutex_unlock(&im->lock);
	return NULL;
}

void images__fini(struct images *im)
{
	pthread_mutex_lock(&im->lock);
	im->stopping = true;
	while (im->fetching)
		pthread_cond_wait(&im->idle, &im->lock);
	pthread_mutex_unlock(&im->lock);
}

/* The request's method: glance-direct or web-download (with its uri). */
static int parse_method(const struct images *im, json_t *body, bool *web, const char **uri,
			struct st_err *err)
{
	json_t *method = json_object_get(body, "method");
	const char *name = json_string_value(json_object_get(method, "name"));
	if (!json_is_object(body) || !json_is_object(method) || !name)
		return err__fail_class(err, EINVAL, "Import request requires a 'method' field.");
	json_t *stores = json_object_get(body, "stores");
	size_t i;
	json_t *s;
	json_array_foreach(stores, i, s)
		if (!json_is_string(s) || strcmp(json_string_value(s), STORE_ID))
			return err__fail_class(err, EINVAL, "Store %.64s is not available (the one store"
						       " is '" STORE_ID "').", json_string_value(s));
	*web = !strcmp(name, "web-download");
	*uri = json_string_value(json_object_get(method, "uri"));
	/* copy-image copies an active image into more stores: with the one
	 * store, it is not offered (GET /v2/info/import), as Glance without
	 * enabled_backends has nothing to copy to */
	if (!strcmp(name, "copy-image"))
		return err__fail_class(err, EINVAL, "Unknown import method name 'copy-image'. It copies an image"
					       " into other stores: this cloud has one store ('" STORE_ID "').");
	if (!*web && strcmp(name, "glance-direct"))
		return err__fail_class(err, EINVAL, "Import method %.64s is not supported here"
					       " (glance-direct, web-download).", name);
	if (*web)
		return images_web__check_url(*uri, ports(im), err);
	return *uri ? err__fail_class(err, EINVAL, "A uri goes only with web-download.") : 0;
}

static int check_image(const json_t *rec, bool web, struct st_err *err)
{
	const char *status = json_string_value(json_object_get(rec, "status"));
	if (json_is_null(json_object_get(rec, "disk_format")) ||
	    json_is_null(json_object_get(rec, "container_format")))
		return err__fail_class(err, EEXIST, "The 'container_format' and 'disk_format' properties"
					       " must be set on an image before it can be imported.");
	if (!web && strcmp(status, "uploading"))
		return err__fail_class(err, EEXIST, "Image needs to be staged before 'glance-direct'"
					       " method can be used (it is %s).", status);
	if (web && strcmp(status, "queued"))
		return err__fail_class(err, EEXIST, "Image needs to be queued for 'web-download' (it is"
					       " %s).", status);
	return 0;
}

static json_t *new_task(const struct images_caller *c, const char *image_id, json_t *body,
			const char *request_id, const char *task_id)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s?,s:{s:s,s:O,s:[s]},s:s,s:I}", "id", task_id,
			 "type", "api_image_import", "status", "processing", "owner", c->project_id,
			 "image_id", image_id, "user_id", c->user_id, "request_id", request_id,
			 "input", "image_id", image_id, "import_req", body, "backend", STORE_ID,
			 "message", "", "created_at", (json_int_t)time(NULL));
}

static int start(struct images *im, struct import_job *j, struct st_err *err)
{
	pthread_t t;
	pthread_mutex_lock(&im->lock);
	bool stopping = im->stopping;
	if (!stopping)
		im->fetching++;
	pthread_mutex_unlock(&im->lock);
	if (stopping)
		return err__fail(err, ECANCELED, "strata-cloud is stopping");
	if (pthread_create(&t, NULL, import_thread, j) != 0) {
		pthread_mutex_lock(&im->lock);
		im->fetching--;
		pthread_mutex_unlock(&im->lock);
		return err__fail(err, EAGAIN, "cannot start the import");
	}
	pthread_detach(t);
	return 0;
}

int images__import(struct images *im, const struct images_caller *c, const char *id,
		   json_t *body, const char *request_id, char task_id[37], struct st_err *err)
{
	cleanup_json json_t *rec = NULL, *task = NULL;
	bool web = false;
	const char *uri = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete import_image"
					       " action.");
	if (parse_method(im, body, &web, &uri, err) < 0 || check_image(rec, web, err) < 0 ||
	    util__uuid4(task_id, err) < 0)
		return -1;
	int n = images_db__set_status(im->db, id, web ? "queued" : "uploading", "importing", err);
	if (n <= 0)
		return n < 0 ? -1 : err__fail_class(err, EEXIST, "Image %s changed status meanwhile", id);
	task = new_task(c, id, body, request_id, task_id);
	struct import_job *j = calloc(1, sizeof(*j));
	if (!j || images_db__task_insert(im->db, task, err) < 0 ||
	    images_db__set_property(im->db, id, "os_glance_import_task", task_id, err) < 0 ||
	    !(j->uri = web ? strdup(uri) : calloc(1, 1))) {
		struct st_err e = {0};
		if (!j || !j->uri)
			err__fail(err, ENOMEM, "out of memory");
		images_db__set_status(im->db, id, "importing", web ? "queued" : "uploading", &e);
		if (j)
			free(j->uri);
		free(j);
		return -1;
	}
	j->im = im;
	j->web = web;
	j->rec = json_incref(rec);
	snprintf(j->task_id, sizeof(j->task_id), "%s", task_id);
	if (start(im, j, err) < 0) {
		struct st_err e = *err;
		end_task(j, -1, &e);
		json_decref(j->rec);
		free(j->uri);
		free(j);
		return -1;
	}
	return 0;
}

/* Glance's view of a task. */
static json_t *task_view(const json_t *t)
{
	static const char *const times[] = {"created_at", "updated_at", "expires_at"};
	json_t *out = json_deep_copy(t);
	char buf[32], self[96];
	for (size_t i = 0; i < 3; i++) {
		json_t *v = json_object_get(t, times[i]);
		if (json_is_integer(v)) {
			images_fields__time(json_integer_value(v), buf);
			json_object_set_new(out, times[i], json_string(buf));
		}
	}
	snprintf(self, sizeof(self), "/v2/tasks/%s", json_string_value(json_object_get(t, "id")));
	json_object_set_new(out, "self", json_string(self));
	json_object_set_new(out, "schema", json_string("/v2/schemas/task"));
	return out;
}

int images__task_show(struct images *im, const struct images_caller *c, const char *id,
		      json_t **out, struct st_err *err)
{
	cleanup_json json_t *t = NULL;
	if (images_db__task_get(im->db, id, &t, err) < 0)
		return -1;
	const char *owner = json_string_value(json_object_get(t, "owner"));
	if (!c->admin && (!owner || strcmp(owner, c->project_id)))
		return err__fail_class(err, ENOENT, "Task with identifier %s not found", id);
	*out = task_view(t);
	return 0;
}

/* Glance's task list entry: no input, result or message. */
static json_t *task_stub(const json_t *t)
{
	json_t *v = task_view(t);
	json_object_del(v, "input");
	json_object_del(v, "result");
	json_object_del(v, "message");
	json_object_del(v, "image_id");
	json_object_del(v, "user_id");
	json_object_del(v, "request_id");
	return v;
}

/* A filter's value among those Glance knows (NULL: none given). */
static int task_filter(const struct images_query *q, const char *name, const char *const *ok, const char **out,
		       struct st_err *err)
{
	*out = q->get(q->ctx, name, 0);
	for (size_t i = 0; *out && ok[i]; i++)
		if (!strcmp(*out, ok[i]))
			return 0;
	return *out ? err__fail_class(err, EINVAL, "Invalid %s value: %.64s", name, *out) : 0;
}

int images__task_list(struct images *im, const struct images_caller *c, const struct images_query *q,
		      json_t **out, struct st_err *err)
{
	static const char *const types[] = {"import", "api_image_import", NULL};
	static const char *const statuses[] = {"pending", "processing", "success", "failure", NULL};
	const char *type, *status, *marker = q->get(q->ctx, "marker", 0);
	const char *key = q->get(q->ctx, "sort_key", 0), *dir = q->get(q->ctx, "sort_dir", 0);
	size_t limit, start = 0;
	if (task_filter(q, "type", types, &type, err) < 0 || task_filter(q, "status", statuses, &status, err) < 0 ||
	    images__parse_limit(q->get(q->ctx, "limit", 0), &limit, err) < 0)
		return -1;
	if (dir && strcmp(dir, "asc") && strcmp(dir, "desc"))
		return err__fail_class(err, EINVAL, "Invalid sort direction: %.64s", dir);
	cleanup_json json_t *all = NULL;
	if (images_db__task_list(im->db, c->admin ? NULL : c->project_id, type, status, key ? key : "created_at",
				 dir && !strcmp(dir, "asc"), &all, err) < 0)
		return -1;
	json_t *t;
	size_t i;
	if (marker) {
		json_array_foreach(all, i, t)
			if (!strcmp(json_string_value(json_object_get(t, "id")), marker))
				break;
		if (i == json_array_size(all))
			return err__fail_class(err, EINVAL, "Invalid marker. Task %.64s could not be found.", marker);
		start = i + 1;
	}
	json_t *list = json_array();
	for (i = start; i < json_array_size(all) && i < start + limit; i++)
		json_array_append_new(list, task_stub(json_array_get(all, i)));
	*out = json_pack("{s:o, s:s, s:s}", "tasks", list, "first", "/v2/tasks", "schema", "/v2/schemas/tasks");
	if (i < json_array_size(all))
		json_object_set_new(*out, "next", images__next_link(q, "/v2/tasks",
			json_string_value(json_object_get(json_array_get(all, i - 1), "id"))));
	return 0;
}

int images__image_tasks(struct images *im, const struct images_caller *c, const char *id,
			json_t **out, struct st_err *err)
{
	cleanup_json json_t *rec = NULL, *tasks = NULL;
	if (images__visible(im, c, id, &rec, err) < 0 || images_db__image_tasks(im->db, id, &tasks, err) < 0)
		return -1;
	json_t *list = json_array(), *t;
	size_t i;
	json_array_foreach(tasks, i, t)
		json_array_append_new(list, task_view(t));
	*out = json_pack("{s:o}", "tasks", list);
	return 0;
}
