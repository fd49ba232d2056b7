/* The Image service's rules: who sees and changes an image (Glance's
 * default policy), creating, showing and deleting, and Glance's view. */
#include "cloud/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "cloud/images/images_db.h"
#include "cloud/images/images_fields.h"

/* Images left in a busy status by a killed process (no live writer holds a
 * temporary file of theirs) go back to queued; an uploading image whose
 * stage completed keeps its staged data and status. */
static int recover(struct images *im, const char *status, struct image_store *where,
		   struct st_err *err)
{
	cleanup_json json_t *ids = NULL;
	if (images_db__ids_in_status(im->db, status, &ids, err) < 0)
		return -1;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *iid = json_string_value(v);
		int fd;
		uint64_t size;
		if (image_store__uploading(where, iid))
			continue;
		if (where == &im->staging && image_store__open(where, iid, &fd, &size, NULL) == 0) {
			close(fd);
			continue;
		}
		log__info("image %s: its %s was interrupted, back to queued", iid, status);
		if (images_db__set_status(im->db, iid, status, "queued", err) < 0)
			return -1;
	}
	return 0;
}

int images__init(struct images *im, struct db *db, struct identity *id, const char *store_dir,
		 struct st_err *err)
{
	im->db = db;
	im->identity = id;
	pthread_mutex_init(&im->lock, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err__fail(err, EIO, "libcurl could not start");
	pthread_cond_init(&im->idle, NULL);
	char staging[4200];
	snprintf(staging, sizeof(staging), "%s/staging", store_dir);
	if (images_db__migrate(db, err) < 0 || image_store__init(&im->store, store_dir, err) < 0 ||
	    image_store__init(&im->staging, staging, err) < 0)
		return -1;
	/* A live writer (another process on the same database and store) holds
	 * its temporary file's lock. */
	return recover(im, "saving", &im->store, err) < 0 ||
			       recover(im, "importing", &im->store, err) < 0 ||
			       recover(im, "uploading", &im->staging, err) < 0
		       ? -1
		       : 0;
}

int images__caller(struct images *im, const char *auth_token, struct images_caller *c,
		   struct st_err *err)
{
	memset(c, 0, sizeof(*c));
	if (!auth_token || !*auth_token)
		return err__fail_class(err, EACCES, "The request you have made requires authentication.");
	struct token t;
	/* identity says "no such token" (ENOENT): to a service, authenticate first */
	if (identity__validate(im->identity, auth_token, &t, err) < 0)
		return err->errnum == ENOENT ? err__fail_class(err, EACCES, "%s", err->msg) : -1;
	if (t.scope != TOKEN_PROJECT && t.scope != TOKEN_APP_CRED)
		return err__fail_class(err, EPERM, "The Image service needs a project-scoped token.");
	cleanup_json json_t *roles = NULL;
	if (identity__token_roles(im->identity, &t, &roles, err) < 0)
		return -1;
	size_t i;
	json_t *r;
	json_array_foreach(roles, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		c->admin |= name && !strcmp(name, "admin");
		c->member |= name && (!strcmp(name, "admin") || !strcmp(name, "member"));
	}
	snprintf(c->user_id, sizeof(c->user_id), "%s", t.user_id);
	snprintf(c->project_id, sizeof(c->project_id), "%s", t.project_id);
	return 0;
}

static const char *field(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static bool owns(const struct images_caller *c, const json_t *rec)
{
	const char *owner = field(rec, "owner");
	return owner && !strcmp(owner, c->project_id);
}

int images__visible(struct images *im, const struct images_caller *c, const char *id,
		    json_t **rec, struct st_err *err)
{
	if (images_db__get(im->db, id, rec, err) < 0)
		return -1;
	const char *vis = field(*rec, "visibility");
	if (c->admin || owns(c, *rec) || !strcmp(vis, "public") || !strcmp(vis, "community"))
		return 0;
	char status[16];
	/* a shared image: any member may ask for it by id (lists want accepted) */
	if (!strcmp(vis, "shared") && images_db__member_status(im->db, id, c->project_id, status, err) == 0)
		return 0;
	json_decref(*rec);
	*rec = NULL;
	return err__fail_class(err, ENOENT, "No image found with ID %s", id);
}

bool images__may_modify(const struct images_caller *c, const json_t *rec)
{
	return c->admin || (c->member && owns(c, rec));
}

json_t *images__view(const json_t *rec)
{
	json_t *out = json_object(), *v;
	const char *key, *id = field(rec, "id");
	json_object_foreach((json_t *)json_object_get(rec, "properties"), key, v)
		json_object_set(out, key, v);
	for (const char *const *col = images_db__columns; *col; col++)
		json_object_set(out, *col, json_object_get(rec, *col));
	char t[32], path[128];
	images_fields__time(json_integer_value(json_object_get(rec, "created_at")), t);
	json_object_set_new(out, "created_at", json_string(t));
	images_fields__time(json_integer_value(json_object_get(rec, "updated_at")), t);
	json_object_set_new(out, "updated_at", json_string(t));
	json_object_set(out, "tags", json_object_get(rec, "tags"));
	snprintf(path, sizeof(path), "/v2/images/%s", id);
	json_object_set_new(out, "self", json_string(path));
	snprintf(path, sizeof(path), "/v2/images/%s/file", id);
	json_object_set_new(out, "file", json_string(path));
	json_object_set_new(out, "schema", json_string("/v2/schemas/image"));
	return out;
}

/* A new record: Glance's defaults, owned by the caller's project. */
static json_t *new_record(const struct images_caller *c)
{
	json_int_t now = (json_int_t)time(NULL);
	return json_pack("{s:n,s:s,s:n,s:n,s:s,s:n,s:n,s:n,s:n,s:n,s:i,s:i,s:b,s:b,s:s,s:I,s:I,"
			 "s:{},s:[]}",
			 "name", "status", "queued", "disk_format", "container_format",
			 "visibility", "shared", "size", "virtual_size", "checksum", "os_hash_algo",
			 "os_hash_value", "min_disk", 0, "min_ram", 0, "protected", 0, "os_hidden", 0,
			 "owner", c->project_id, "created_at", now, "updated_at", now, "properties",
			 "tags");
}

static int check_count_quota(struct images *im, const char *owner, struct st_err *err)
{
	int64_t count, bytes;
	if (!im->quota_count)
		return 0;
	if (images_db__usage(im->db, owner, &count, &bytes, err) < 0)
		return -1;
	if (count + 1 > im->quota_count)
		return err__fail_class(err, E2BIG, "Attempted: %lld, Maximum: %lld. Over the image_count_total"
					       " limit of project %s.", (long long)count + 1,
				       (long long)im->quota_count, owner);
	return 0;
}

int images__create(struct images *im, const struct images_caller *c, json_t *body, json_t **out,
		   struct st_err *err)
{
	if (!json_is_object(body))
		return err__fail_class(err, EINVAL, "Body expected in request.");
	if (!c->member)
		return err__fail_class(err, EPERM, "You are not authorized to complete add_image action.");
	cleanup_json json_t *rec = new_record(c);
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v)
		if (images_fields__set(rec, key, v, c, true, err) < 0)
			return -1;
	if (!json_object_get(rec, "id")) {
		char id[37];
		if (util__uuid4(id, err) < 0)
			return -1;
		json_object_set_new(rec, "id", json_string(id));
	}
	if (check_count_quota(im, field(rec, "owner") ? field(rec, "owner") : c->project_id, err) < 0)
		return -1;
	if (images_db__insert(im->db, rec, err) < 0)
		return err->errnum == EEXIST
			       ? err__fail_class(err, EEXIST, "Image with identifier %s already exists!",
						 field(rec, "id"))
			       : -1;
	*out = images__view(rec);
	return 0;
}

int images__show(struct images *im, const struct images_caller *c, const char *id, json_t **out,
		 struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	*out = images__view(rec);
	return 0;
}

int images__delete(struct images *im, const struct images_caller *c, const char *id,
		   struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete delete_image action.");
	if (json_is_true(json_object_get(rec, "protected")))
		return err__fail_class(err, EPERM, "Image %s is protected and cannot be deleted.", id);
	if (images_db__delete(im->db, id, err) < 0)
		return -1;
	/* An upload in flight finds the image gone when it completes and drops its data. */
	return image_store__remove(&im->staging, id, err) < 0 ? -1
							       : image_store__remove(&im->store, id, err);
}
