/* Image members: an owner shares a "shared" image with other projects; a
 * member project accepts or rejects it (lists show it once accepted). */
#include "cloud/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "cloud/images/images_db.h"
#include "cloud/images/images_fields.h"

/* Glance's member view: times in its format, and the schema. */
static json_t *member_view(json_t *m)
{
	char t[32];
	images_fields__time(json_integer_value(json_object_get(m, "created_at")), t);
	json_object_set_new(m, "created_at", json_string(t));
	images_fields__time(json_integer_value(json_object_get(m, "updated_at")), t);
	json_object_set_new(m, "updated_at", json_string(t));
	json_object_set_new(m, "schema", json_string("/v2/schemas/member"));
	return m;
}

/* The image, visible to the caller and shared (members exist only there). */
static int shared_image(struct images *im, const struct images_caller *c, const char *id,
			json_t **rec, struct st_err *err)
{
	if (images__visible(im, c, id, rec, err) < 0)
		return -1;
	if (strcmp(json_string_value(json_object_get(*rec, "visibility")), "shared"))
		return err__fail_class(err, EPERM, "Only shared images have members.");
	return 0;
}

int images__member_add(struct images *im, const struct images_caller *c, const char *id,
		       json_t *body, json_t **out, struct st_err *err)
{
	cleanup_json json_t *rec = NULL, *rows = NULL;
	const char *member = json_string_value(json_object_get(body, "member"));
	if (!json_is_object(body) || !member || !*member || strlen(member) > 255)
		return err__fail_class(err, EINVAL, "Member to be added not specified");
	if (shared_image(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not permitted to create image members for"
					       " the image.");
	if (images_db__member_set(im->db, id, member, "pending", true, err) < 0)
		return err->errnum == EEXIST
			       ? err__fail_class(err, EEXIST, "Member %.64s already exists for image %s.",
						 member, id)
			       : -1;
	if (images_db__members(im->db, id, member, &rows, err) < 0)
		return -1;
	*out = member_view(json_incref(json_array_get(rows, 0)));
	return 0;
}

int images__member_list(struct images *im, const struct images_caller *c, const char *id,
			json_t **out, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	json_t *rows;
	if (shared_image(im, c, id, &rec, err) < 0)
		return -1;
	/* the owner sees every member; a member only itself */
	bool owner = images__may_modify(c, rec);
	if (images_db__members(im->db, id, owner ? NULL : c->project_id, &rows, err) < 0)
		return -1;
	size_t i;
	json_t *m;
	json_array_foreach(rows, i, m)
		member_view(m);
	*out = json_pack("{s:o,s:s}", "members", rows, "schema", "/v2/schemas/members");
	return 0;
}

int images__member_show(struct images *im, const struct images_caller *c, const char *id,
			const char *member, json_t **out, struct st_err *err)
{
	cleanup_json json_t *rec = NULL, *rows = NULL;
	if (shared_image(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec) && strcmp(member, c->project_id))
		return err__fail_class(err, ENOENT, "%.64s is not a member of image %s", member, id);
	if (images_db__members(im->db, id, member, &rows, err) < 0)
		return -1;
	if (!json_array_size(rows))
		return err__fail_class(err, ENOENT, "%.64s is not a member of image %s", member, id);
	*out = member_view(json_incref(json_array_get(rows, 0)));
	return 0;
}

int images__member_update(struct images *im, const struct images_caller *c, const char *id,
			  const char *member, json_t *body, json_t **out, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	const char *status = json_string_value(json_object_get(body, "status"));
	if (!status || (strcmp(status, "pending") && strcmp(status, "accepted") &&
			strcmp(status, "rejected")))
		return err__fail_class(err, EINVAL, "Invalid status: %.32s", status ? status : "none");
	if (shared_image(im, c, id, &rec, err) < 0)
		return -1;
	/* only the member itself answers an invitation */
	if (strcmp(member, c->project_id))
		return err__fail_class(err, EPERM, "You are not permitted to modify 'status' on this image"
					       " member.");
	if (images_db__member_set(im->db, id, member, status, false, err) < 0)
		return -1;
	return images__member_show(im, c, id, member, out, err);
}

int images__member_delete(struct images *im, const struct images_caller *c, const char *id,
			  const char *member, struct st_err *err)
{
	cleanup_json json_t *rec = NULL;
	if (shared_image(im, c, id, &rec, err) < 0)
		return -1;
	if (!images__may_modify(c, rec))
		return err__fail_class(err, EPERM, "You are not permitted to delete image members for"
					       " the image.");
	return images_db__member_delete(im->db, id, member, err);
}
