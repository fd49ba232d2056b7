/* Glance v2's JSON schemas: /v2/schemas/image, images, member, members. */
#include "cloud/images/routes_images.h"

#include <string.h>

#include "cloud/images/images_fields.h"

#define UUID_PATTERN                                                                       \
	"^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

static json_t *enum_of(const char *const *values, bool nullable)
{
	json_t *list = json_array();
	if (nullable)
		json_array_append_new(list, json_null());
	for (; *values; values++)
		json_array_append_new(list, json_string(*values));
	return list;
}

static json_t *typed(const char *type, bool nullable, bool read_only, const char *description)
{
	json_t *p = json_pack("{s:s}", "description", description);
	json_object_set_new(p, "type", nullable ? json_pack("[s,s]", "null", type) : json_string(type));
	if (read_only)
		json_object_set_new(p, "readOnly", json_true());
	return p;
}

static json_t *image_schema(void)
{
	static const char *const statuses[] = {"queued", "saving", "active", "killed", "deleted",
					       "uploading", "importing", "pending_delete",
					       "deactivated", NULL};
	json_t *p = json_object();
	json_object_set_new(p, "id", json_pack("{s:s,s:s,s:s}", "type", "string", "description",
					       "An identifier for the image", "pattern", UUID_PATTERN));
	json_t *name = typed("string", true, false, "Descriptive name for the image");
	json_object_set_new(name, "maxLength", json_integer(255));
	json_object_set_new(p, "name", name);
	json_t *status = typed("string", false, true, "Status of the image");
	json_object_set_new(status, "enum", enum_of(statuses, false));
	json_object_set_new(p, "status", status);
	json_t *vis = typed("string", false, false, "Scope of image accessibility");
	json_object_set_new(vis, "enum", enum_of(images_fields__visibilities, false));
	json_object_set_new(p, "visibility", vis);
	json_t *disk = typed("string", true, false, "Format of the disk");
	json_object_set_new(disk, "enum", enum_of(images_fields__disk_formats, true));
	json_object_set_new(p, "disk_format", disk);
	json_t *cont = typed("string", true, false, "Format of the container");
	json_object_set_new(cont, "enum", enum_of(images_fields__container_formats, true));
	json_object_set_new(p, "container_format", cont);
	json_object_set_new(p, "protected", typed("boolean", false, false, "If true, image will not be deletable."));
	json_object_set_new(p, "os_hidden", typed("boolean", false, false, "If true, image will not appear in default image list response."));
	json_object_set_new(p, "checksum", typed("string", true, true, "md5 hash of image contents."));
	json_object_set_new(p, "os_hash_algo", typed("string", true, true, "Algorithm to calculate the os_hash_value"));
	json_object_set_new(p, "os_hash_value", typed("string", true, true, "Hexdigest of the image contents using the algorithm specified by the os_hash_algo"));
	json_object_set_new(p, "owner", typed("string", true, false, "Owner of the image"));
	json_object_set_new(p, "size", typed("integer", true, true, "Size of image file in bytes"));
	json_object_set_new(p, "virtual_size", typed("integer", true, true, "Virtual size of image in bytes"));
	json_object_set_new(p, "min_ram", typed("integer", false, false, "Amount of ram (in MB) required to boot image."));
	json_object_set_new(p, "min_disk", typed("integer", false, false, "Amount of disk space (in GB) required to boot image."));
	json_object_set_new(p, "created_at", typed("string", false, true, "Date and time of image registration"));
	json_object_set_new(p, "updated_at", typed("string", false, true, "Date and time of the last image modification"));
	json_object_set_new(p, "tags", json_pack("{s:s,s:s,s:{s:s,s:i}}", "type", "array", "description",
						 "List of strings related to the image", "items", "type",
						 "string", "maxLength", 255));
	static const char *const boot[][2] = {
		{"kernel_id", "ID of image stored in Glance that should be used as the kernel when"
			      " booting an AMI-style image."},
		{"ramdisk_id", "ID of image stored in Glance that should be used as the ramdisk when"
			       " booting an AMI-style image."}};
	for (size_t i = 0; i < 2; i++) {
		json_t *id = typed("string", true, false, boot[i][1]);
		json_object_set_new(id, "pattern", json_string(UUID_PATTERN));
		json_object_set_new(id, "is_base", json_false());
		json_object_set_new(p, boot[i][0], id);
	}
	json_object_set_new(p, "self", typed("string", false, true, "An image self url"));
	json_object_set_new(p, "file", typed("string", false, true, "An image file url"));
	json_object_set_new(p, "schema", typed("string", false, true, "An image schema url"));
	return json_pack("{s:s,s:o,s:{s:s},s:[{s:s,s:s},{s:s,s:s},{s:s,s:s}]}", "name", "image",
			 "properties", p, "additionalProperties", "type", "string", "links", "href",
			 "{self}", "rel", "self", "href", "{file}", "rel", "enclosure", "href",
			 "{schema}", "rel", "describedby");
}

static json_t *member_schema(void)
{
	static const char *const statuses[] = {"pending", "accepted", "rejected", NULL};
	json_t *p = json_object();
	json_object_set_new(p, "image_id", json_pack("{s:s,s:s,s:s}", "type", "string", "description",
						     "An identifier for the image", "pattern", UUID_PATTERN));
	json_object_set_new(p, "member_id", typed("string", false, false, "An identifier for the image member (tenantId)"));
	json_t *status = typed("string", false, false, "The status of this image member");
	json_object_set_new(status, "enum", enum_of(statuses, false));
	json_object_set_new(p, "status", status);
	json_object_set_new(p, "created_at", typed("string", false, false, "Date and time of image member creation"));
	json_object_set_new(p, "updated_at", typed("string", false, false, "Date and time of last modification of image member"));
	json_object_set_new(p, "schema", typed("string", false, true, "A member schema url"));
	return json_pack("{s:s,s:o}", "name", "member", "properties", p);
}

static int schema(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	const char *which = http_request__route(r)->data;
	json_t *body;
	if (!strcmp(which, "image"))
		body = image_schema();
	else if (!strcmp(which, "member"))
		body = member_schema();
	else if (!strcmp(which, "images"))
		body = json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s},s:{s:s},s:{s:s}},s:[{s:s,s:s},{s:s,s:s},"
				 "{s:s,s:s}]}", "name", "images", "properties", "images", "type", "array",
				 "items", image_schema(), "schema", "type", "string", "first", "type",
				 "string", "next", "type", "string", "links", "rel", "first", "href",
				 "{first}", "rel", "next", "href", "{next}", "rel", "describedby", "href",
				 "{schema}");
	else
		body = json_pack("{s:s,s:{s:{s:s,s:o},s:{s:s}},s:[{s:s,s:s}]}", "name", "members",
				 "properties", "members", "type", "array", "items", member_schema(),
				 "schema", "type", "string", "links", "rel", "describedby", "href",
				 "{schema}");
	http_reply__json(rp, 200, body);
	return 0;
}

static const struct http_route routes[] = {
	{"GET", "/image/v2/schemas/image", schema, NULL, "image"},
	{"GET", "/image/v2/schemas/images", schema, NULL, "images"},
	{"GET", "/image/v2/schemas/member", schema, NULL, "member"},
	{"GET", "/image/v2/schemas/members", schema, NULL, "members"},
};

const struct http_route *routes_images__schemas(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
