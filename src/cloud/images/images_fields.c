/* Glance's image schema, one field at a time (see images_fields.h). */
#include "cloud/images/images_fields.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>


const char *const images_fields__disk_formats[] = {"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw",
					   "qcow2", "vdi", "iso", "ploop", NULL};
const char *const images_fields__container_formats[] = {"ami", "ari", "aki", "bare", "ovf", "ova",
						"docker", "compressed", NULL};
const char *const images_fields__visibilities[] = {"public", "private", "shared", "community", NULL};
static const char *const read_only[] = {"status", "size", "virtual_size", "checksum",
					"os_hash_algo", "os_hash_value", "created_at",
					"updated_at", "self", "file", "schema", "direct_url",
					"locations", "stores", NULL};

#define FIELD_MAX 255
#define VALUE_MAX 65535

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static int schema_error(struct st_err *err, const char *detail, const char *key)
{
	return err__fail_class(err, EINVAL, "Provided object does not match schema 'image': %s (%.64s)",
			       detail, key);
}

static int set_enum(json_t *rec, const char *key, json_t *v, const char *const *allowed,
		    bool nullable, struct st_err *err)
{
	if (!v || json_is_null(v)) {
		if (!nullable)
			return schema_error(err, "None is not one of the allowed values", key);
		return json_object_set_new(rec, key, json_null()), 0;
	}
	const char *s = json_string_value(v);
	if (!in_list(s, allowed))
		return err__fail_class(err, EINVAL,
				       "Provided object does not match schema 'image': '%.64s' is not"
				       " an allowed value of %s",
				       s ? s : "(not a string)", key);
	return json_object_set(rec, key, v), 0;
}

static int set_tags(json_t *rec, json_t *v, struct st_err *err)
{
	if (!json_is_array(v))
		return schema_error(err, "tags must be an array of strings", "tags");
	json_t *tags = json_array(), *t;
	size_t i, k;
	json_array_foreach(v, i, t) {
		const char *s = json_string_value(t);
		if (!s || !*s || strlen(s) > FIELD_MAX) {
			json_decref(tags);
			return schema_error(err, "a tag must be a string of 1 to 255 characters", "tags");
		}
		bool dup = false;
		for (k = 0; k < json_array_size(tags) && !dup; k++)
			dup = !strcmp(json_string_value(json_array_get(tags, k)), s);
		if (!dup)
			json_array_append(tags, t);
	}
	return json_object_set_new(rec, "tags", tags), 0;
}

static int set_int(json_t *rec, const char *key, json_t *v, struct st_err *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
		return schema_error(err, "must be an integer from 0 to 2147483647", key);
	return json_object_set(rec, key, v), 0;
}

static int set_core(json_t *rec, const char *key, json_t *v, const struct images_caller *c,
		    bool creating, struct st_err *err)
{
	if (!strcmp(key, "name")) {
		if (v && !json_is_null(v) && (!json_is_string(v) || json_string_length(v) > FIELD_MAX))
			return schema_error(err, "name must be a string of at most 255 characters", key);
		return json_object_set_new(rec, key, v ? json_incref(v) : json_null()), 0;
	}
	if (!strcmp(key, "visibility")) {
		if (set_enum(rec, key, v, images_fields__visibilities, false, err) < 0)
			return -1;
		if (!strcmp(json_string_value(v), "public") && !c->admin)
			return err__fail_class(err, EPERM,
					       "You are not authorized to complete publicize_image action.");
		return 0;
	}
	if (!strcmp(key, "disk_format"))
		return set_enum(rec, key, v, images_fields__disk_formats, true, err);
	if (!strcmp(key, "container_format"))
		return set_enum(rec, key, v, images_fields__container_formats, true, err);
	if (!strcmp(key, "min_disk") || !strcmp(key, "min_ram"))
		return v ? set_int(rec, key, v, err) : (json_object_set_new(rec, key, json_integer(0)), 0);
	if (!strcmp(key, "protected") || !strcmp(key, "os_hidden")) {
		if (!json_is_boolean(v))
			return schema_error(err, "must be a boolean", key);
		return json_object_set(rec, key, v), 0;
	}
	if (!strcmp(key, "tags"))
		return set_tags(rec, v ? v : json_array(), err);
	if (!strcmp(key, "id")) {
		if (!creating)
			return err__fail_class(err, EPERM, "Attribute 'id' is read-only.");
		if (!images_fields__is_uuid(json_string_value(v)))
			return schema_error(err, "id must be a UUID", key);
		return json_object_set(rec, key, v), 0;
	}
	/* owner */
	const char *owner = json_string_value(v);
	if (v && !json_is_null(v) && (!owner || strlen(owner) > FIELD_MAX))
		return schema_error(err, "owner must be a string of at most 255 characters", key);
	if (!c->admin && (!owner || strcmp(owner, c->project_id)))
		return err__fail_class(err, EPERM, "You are not permitted to set the owner of an image"
					       " to '%.64s'.", owner ? owner : "None");
	return json_object_set(rec, key, v), 0;
}

int images_fields__set(json_t *rec, const char *key, json_t *value,
		       const struct images_caller *c, bool creating, struct st_err *err)
{
	static const char *const core[] = {"name", "visibility", "disk_format", "container_format",
					   "min_disk", "min_ram", "protected", "os_hidden", "tags",
					   "id", "owner", NULL};
	if (in_list(key, read_only))
		return err__fail_class(err, EPERM, "Attribute '%s' is read-only.", key);
	if (in_list(key, core))
		return set_core(rec, key, value, c, creating, err);
	if (!strncmp(key, "os_glance", 9))
		return err__fail_class(err, EPERM, "Attribute '%.64s' is reserved.", key);
	if (!*key || strlen(key) > FIELD_MAX)
		return schema_error(err, "a property name must have 1 to 255 characters", key);
	json_t *props = json_object_get(rec, "properties");
	/* direct kernel boot (Nova's libvirt driver): the aki/ari images by id;
	 * Glance's schema takes a UUID or null (null: none) */
	if (!strcmp(key, "kernel_id") || !strcmp(key, "ramdisk_id")) {
		if (json_is_null(value))
			return json_object_del(props, key), 0;
		if (value && !images_fields__is_uuid(json_string_value(value)))
			return schema_error(err, "the value does not match the UUID pattern", key);
	}
	if (!value) {
		if (!json_object_get(props, key))
			return err__fail_class(err, ENOENT, "Property %.64s does not exist.", key);
		return json_object_del(props, key), 0;
	}
	if (!json_is_string(value) || json_string_length(value) > VALUE_MAX)
		return err__fail_class(err, EINVAL,
				       "Provided object does not match schema 'image': the value of"
				       " '%.64s' is not of type 'string'", key);
	return json_object_set(props, key, value), 0;
}

bool images_fields__is_uuid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

void images_fields__time(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
