/* GET /v2/images: a page of what the caller sees, in Glance's shape, with
 * the link to the next page carrying the same filters. */
#include "cloud/images/images.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "cloud/images/images_db.h"

#define LIMIT_DEFAULT 25
#define LIMIT_MAX 1000

static void url_encode(const char *in, char *out, size_t size)
{
	static const char hexd[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < size; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-_.~:", *p)) {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hexd[*p >> 4];
			out[n++] = hexd[*p & 15];
		}
	}
	out[n] = 0;
}

/* The next page: every argument of this request again (repeated tags and
 * property filters too), the marker its own. */
json_t *images__next_link(const struct images_query *q, const char *path, const char *marker)
{
	char link[4096], enc[1024], name_enc[256];
	const char *name, *v;
	size_t len = (size_t)snprintf(link, sizeof(link), "%s?", path);
	for (size_t i = 0; q->at(q->ctx, i, &name, &v); i++) {
		if (!strcmp(name, "marker"))
			continue;
		url_encode(name, name_enc, sizeof(name_enc));
		url_encode(v, enc, sizeof(enc));
		len += (size_t)snprintf(link + len, sizeof(link) - len, "%s=%s&", name_enc, enc);
		if (len >= sizeof(link))
			return json_string(path); /* absurd filters: no next */
	}
	snprintf(link + len, sizeof(link) - len, "marker=%s", marker);
	return json_string(link);
}

int images__parse_limit(const char *text, size_t *limit, struct st_err *err)
{
	*limit = LIMIT_DEFAULT;
	if (!text)
		return 0;
	char *end;
	long long n = strtoll(text, &end, 10);
	if (!*text || *end)
		return err__fail_class(err, EINVAL, "limit param must be an integer");
	if (n < 0)
		return err__fail_class(err, EINVAL, "limit param must be positive");
	*limit = n > LIMIT_MAX ? LIMIT_MAX : (size_t)n;
	return 0;
}

int images__list(struct images *im, const struct images_caller *c, const struct images_query *q,
		 json_t **out, struct st_err *err)
{
	size_t limit, start = 0;
	if (images__parse_limit(q->get(q->ctx, "limit", 0), &limit, err) < 0)
		return -1;
	const char *marker = q->get(q->ctx, "marker", 0);
	/* the first page needs one id past it (is there a next page?), not all */
	struct images_db_list l = {.project = c->project_id, .admin = c->admin, .q = q,
				   .max = marker ? 0 : limit + 1};
	cleanup_json json_t *ids = NULL;
	if (images_db__list(im->db, &l, &ids, err) < 0)
		return -1;
	if (marker) {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
			if (!strcmp(json_string_value(v), marker))
				break;
		if (i == json_array_size(ids))
			return err__fail_class(err, EINVAL, "Invalid marker. Image %.64s could not be found.",
					       marker);
		start = i + 1;
	}
	size_t end = start + limit < json_array_size(ids) ? start + limit : json_array_size(ids);
	cleanup_json json_t *page = json_array(), *recs = NULL;
	for (size_t i = start; i < end; i++)
		json_array_append(page, json_array_get(ids, i));
	/* the page's records in one query, not one each */
	if (images_db__get_many(im->db, page, &recs, err) < 0)
		return -1;
	json_t *images = json_array(), *rec;
	size_t i;
	json_array_foreach(recs, i, rec)
		json_array_append_new(images, images__view(rec));
	*out = json_pack("{s:o,s:s,s:s}", "images", images, "first", "/v2/images", "schema",
			 "/v2/schemas/images");
	if (end < json_array_size(ids) && end > start)
		json_object_set_new(*out, "next",
				    images__next_link(q, "/v2/images", json_string_value(json_array_get(ids, end - 1))));
	return 0;
}
