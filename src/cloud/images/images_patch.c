/* PATCH /v2/images/ID (JSON Patch as Glance takes it: add, replace and
 * remove on the image's top-level attributes and properties, and on tags
 * by index), tags one at a time, and deactivate/reactivate. */
#include "cloud/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "cloud/images/images_db.h"
#include "cloud/images/images_fields.h"

/* A JSON pointer's one segment ("/a~1b" is "a/b"); index is set for "/tags/N". */
static int parse_path(const char *path, char *key, size_t size, const char **tag_index,
		      struct st_err *err)
{
	if (!path || path[0] != '/')
		return err__fail_class(err, EINVAL, "Json path should start with a '/', got %.64s",
				       path ? path : "nothing");
	size_t n = 0;
	const char *p = path + 1;
	for (; *p && *p != '/' && n + 1 < size; p++) {
		if (*p == '~' && (p[1] == '0' || p[1] == '1')) {
			key[n++] = p[1] == '0' ? '~' : '/';
			p++;
		} else if (*p == '~') {
			return err__fail_class(err, EINVAL, "Invalid json pointer %.64s", path);
		} else {
			key[n++] = *p;
		}
	}
	key[n] = 0;
	*tag_index = NULL;
	if (*p == '/') {
		if (strcmp(key, "tags") || strchr(p + 1, '/'))
			return err__fail_class(err, EINVAL, "Nested paths are not allowed: %.64s", path);
		*tag_index = p + 1;
	}
	return n ? 0 : err__fail_class(err, EINVAL, "Invalid json pointer %.64s", path);
}

/* add/replace/remove on tags/N (N or "-"), on a copy of the tags. */
static int patch_tag(json_t *rec, const char *op, const char *at, json_t *value,
		     const struct images_caller *c, struct st_err *err)
{
	cleanup_json json_t *tags = json_copy(json_object_get(rec, "tags"));
	size_t n = json_array_size(tags);
	char *end;
	long i = !strcmp(at, "-") ? (long)n : strtol(at, &end, 10);
	if (strcmp(at, "-") && (!*at || *end || i < 0))
		return err__fail_class(err, EINVAL, "Invalid tag index %.16s", at);
	bool adding = !strcmp(op, "add");
	if ((size_t)i > n || (!adding && (size_t)i >= n))
		return err__fail_class(err, EEXIST, "Tag index %ld is out of range", i);
	if (!strcmp(op, "remove"))
		json_array_remove(tags, (size_t)i);
	else if (!json_is_string(value))
		return err__fail_class(err, EINVAL, "A tag must be a string");
	else if (adding)
		json_array_insert(tags, (size_t)i, value);
	else
		json_array_set(tags, (size_t)i, value);
	return images_fields__set(rec, "tags", tags, c, false, err);
}

static int patch_one(json_t *rec, json_t *change, const struct images_caller *c,
		     struct st_err *err)
{
	const char *op = json_string_value(json_object_get(change, "op"));
	json_t *value = json_object_get(change, "value");
	char key[256];
	const char *tag_index = NULL;
	if (!json_is_object(change) || !op ||
	    (strcmp(op, "add") && strcmp(op, "replace") && strcmp(op, "remove")))
		return err__fail_class(err, EINVAL, "Operation objects must contain exactly one member"
					       " named \"add\", \"remove\", or \"replace\".");
	if (parse_path(json_string_value(json_object_get(change, "path")), key, sizeof(key), &tag_index,
		       err) < 0)
		return -1;
	if (strcmp(op, "remove") && !value)
		return err__fail_class(err, EINVAL, "Operation \"%s\" requires a member named \"value\".", op);
	if (tag_index)
		return patch_tag(rec, op, tag_index, value, c, err);
	bool property = !json_object_get(rec, key) || json_object_get(json_object_get(rec, "properties"), key);
	if (property && !strcmp(op, "replace") && !json_object_get(json_object_get(rec, "properties"), key))
		return err__fail_class(err, EEXIST, "Property %.64s does not exist.", key);
	if (!strcmp(key, "disk_format") || !strcmp(key, "container_format")) {
		const char *status = json_string_value(json_object_get(rec, "status"));
		if (strcmp(status, "queued"))
			return err__fail_class(err, EPERM, "Attribute %s can be only replaced for a queued"
						       " image.", key);
	}
	if (!strcmp(op, "remove")) {
		if (!property)
			return err__fail_class(err, EPERM, "Attribute '%.64s' cannot be removed.", key);
		if (images_fields__set(rec, key, NULL, c, false, err) < 0)
			return err->errnum == ENOENT ? err__fail_class(err, EEXIST, "%s", err->msg) : -1;
		return 0;
	}
	return images_fields__set(rec, key, value, c, false, err);
}

int images__update(struct images *im, const struct images_caller *c, const char *id,
		   json_t *changes, json_t **out, struct st_err *err)
{
	if (!json_is_array(changes))
		return err__fail_class(err, EINVAL, "Request body must be a JSON array of operation"
					       " objects.");
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete modify_image action.");
	size_t i;
	json_t *change;
	json_array_foreach(changes, i, change)
		if (patch_one(rec, change, c, err) < 0)
			return -1;
	json_object_set_new(rec, "updated_at", json_integer((json_int_t)time(NULL)));
	if (images_db__update(im->db, rec, err) < 0)
		return -1;
	*out = images__view(rec);
	return 0;
}

int images__tag(struct images *im, const struct images_caller *c, const char *id,
		const char *tag, bool add, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete modify_image action.");
	json_t *tags = json_object_get(rec, "tags"), *t;
	size_t i;
	json_array_foreach(tags, i, t)
		if (!strcmp(json_string_value(t), tag))
			break;
	if (!add && i == json_array_size(tags))
		return err__fail_class(err, ENOENT, "Tag %.64s not found.", tag);
	cleanup_json json_t *copy = json_copy(tags);
	if (add)
		json_array_append_new(copy, json_string(tag));
	else
		json_array_remove(copy, i);
	if (images_fields__set(rec, "tags", copy, c, false, err) < 0)
		return -1;
	json_object_set_new(rec, "updated_at", json_integer((json_int_t)time(NULL)));
	return images_db__update(im->db, rec, err);
}

int images__activate(struct images *im, const struct images_caller *c, const char *id,
		     bool active, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (images__visible(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not authorized to complete %s action.",
				       active ? "reactivate" : "deactivate");
	const char *status = json_string_value(json_object_get(rec, "status"));
	const char *from = active ? "deactivated" : "active", *to = active ? "active" : "deactivated";
	if (!strcmp(status, to))
		return 0; /* Glance: already there is fine */
	if (strcmp(status, from))
		return err__fail_class(err, EPERM, "Not allowed to %s image in status '%s'",
				       active ? "reactivate" : "deactivate", status);
	return images_db__set_status(im->db, id, from, to, err) < 0 ? -1 : 0;
}
