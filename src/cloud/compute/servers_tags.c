/* A server's tags (Nova's os-server-tags, 2.26) and the list's tag
 * filters. A tag is 1 to 60 characters without '/' or ','; a server has
 * at most 50. */
#include "cloud/compute/servers_meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/compute/compute_valid.h"
#include "cloud/compute/servers_actions.h"
#include "cloud/compute/servers_db.h"

static const char *const TAG_STATES[] = {"active", "paused", "suspended", "stopped", "shelved",
					 "shelved_offloaded", NULL};

static const char *tag_problem(const json_t *t)
{
	if (!json_is_string(t))
		return "is not of type 'string'";
	const char *s = json_string_value(t);
	if (!*s)
		return "is too short";
	if (json_string_length(t) > 60)
		return "is too long";
	if (strchr(s, '/') || strchr(s, ','))
		return "does not match '^[^,/]*$'";
	return NULL;
}

/* A tag of the URL: Nova's own message for it. */
static int check_url_tag(const char *tag, struct st_err *err)
{
	cleanup_json json_t *t = json_string(tag);
	const char *why = t ? tag_problem(t) : "is not UTF-8";
	if (!why)
		return 0;
	return err__fail_class(err, EINVAL, "Tag '%.80s' is invalid. It must be a non empty string without "
			       "characters '/' and ','. Validation error message: '%.80s' %s", tag, tag, why);
}

int servers_meta__attach_tags(struct db *db, json_t *row, struct st_err *err)
{
	const char *uuid = json_string_value(json_object_get(row, "uuid"));
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT tag FROM compute_server_tag WHERE instance_uuid = ? ORDER BY tag", &uuid,
		      1, &rows, err) < 0)
		return -1;
	json_t *tags = json_array();
	for (size_t i = 0; i < rows->nrows; i++)
		json_array_append_new(tags, json_string(db_rows__get(rows, i, 0)));
	json_object_set_new(row, "tags", tags);
	return 0;
}

/* The row for a tag change: policy, then Nova's states (no lock check:
 * Nova's tags API has none). */
static int writable(struct servers *s, const struct compute_caller *c, const char *id,
		    const char *rule, const char *method, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	struct servers_actions_guard g = {method, TAG_STATES, NULL, true, false, true};
	if (servers__find(s, c, id, rule, &row, err) < 0)
		return -1;
	return servers_actions__check(c, row, &g, err);
}

int servers_meta__tags_get(struct servers *s, const struct compute_caller *c, const char *id,
			   const char *tag, json_t **out, struct st_err *err)
{
	cleanup_json json_t *row = NULL;
	if (servers__find(s, c, id, tag ? "os_compute_api:os-server-tags:show" :
			  "os_compute_api:os-server-tags:index", &row, err) < 0 ||
	    servers_meta__attach_tags(s->db, row, err) < 0)
		return -1;
	json_t *tags = json_object_get(row, "tags");
	if (!tag) {
		*out = json_pack("{s:O}", "tags", tags);
		return 0;
	}
	size_t i;
	json_t *t;
	json_array_foreach(tags, i, t)
		if (!strcmp(json_string_value(t), tag))
			return 0;
	return err__fail_class(err, ENOENT, "Tag %.80s could not be found.", tag);
}

struct tag_tx {
	const char *id, *tag;
	json_t *tags; /* PUT .../tags: the new set */
	bool created;
};

static int add_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct tag_tx *t = arg;
	long long n;
	const char *p[] = {t->id, t->tag};
	cleanup_rows struct db_rows *lock = NULL;
	/* the server's row serializes the adds: the count stays true */
	if (db__query_for_update(db, "SELECT uuid FROM compute_server WHERE uuid = ?", &t->id, 1, &lock,
				 err) < 0)
		return -1;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_server_tag WHERE instance_uuid = ? AND tag = ?",
			      p, 2, &n, err) < 0)
		return -1;
	if (n)
		return 0;
	if (compute_db__count(db, "SELECT COUNT(*) FROM compute_server_tag WHERE instance_uuid = ?", p, 1,
			      &n, err) < 0)
		return -1;
	if (n >= SERVERS_META_MAX_TAGS)
		return err__fail_class(err, EINVAL, "The number of tags exceeded the per-server limit %d",
				       SERVERS_META_MAX_TAGS);
	t->created = true;
	return db__exec(db, "INSERT INTO compute_server_tag (instance_uuid, tag) VALUES (?, ?)", p, 2, err);
}

int servers_meta__tag_add(struct servers *s, const struct compute_caller *c, const char *id,
			  const char *tag, bool *created, struct st_err *err)
{
	struct tag_tx t = {.id = id, .tag = tag};
	if (writable(s, c, id, "os_compute_api:os-server-tags:update", "update tag", err) < 0 ||
	    check_url_tag(tag, err) < 0 || compute_db__tx(s->db, add_in_tx, &t, err) < 0)
		return -1;
	*created = t.created;
	return 0;
}

static int set_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct tag_tx *t = arg;
	size_t i;
	json_t *v;
	if (db__exec(db, "DELETE FROM compute_server_tag WHERE instance_uuid = ?", &t->id, 1, err) < 0)
		return -1;
	json_array_foreach(t->tags, i, v) {
		const char *p[] = {t->id, json_string_value(v)};
		if (db__exec(db, "INSERT INTO compute_server_tag (instance_uuid, tag) VALUES (?, ?)"
			     " ON CONFLICT DO NOTHING", p, 2, err) < 0)
			return -1;
	}
	return 0;
}

int servers_meta__tags_set(struct servers *s, const struct compute_caller *c, const char *id,
			   json_t *body, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"tags", NULL};
	if (writable(s, c, id, "os_compute_api:os-server-tags:update_all", "update tags", err) < 0)
		return -1;
	if (!json_is_object(body) || !json_is_array(json_object_get(body, "tags")))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute tags. 'tags' is a "
				       "required property of type 'array'");
	if (compute_valid__keys(body, keys, err) < 0)
		return -1;
	json_t *tags = json_object_get(body, "tags");
	size_t i;
	json_t *v;
	json_array_foreach(tags, i, v) {
		const char *why = tag_problem(v);
		if (why)
			return err__fail_class(err, EINVAL, "Invalid input for field/attribute tags[%zu]. "
					       "Value: %.80s. %s", i, json_is_string(v) ?
					       json_string_value(v) : "(not a string)", why);
	}
	if (json_array_size(tags) > SERVERS_META_MAX_TAGS)
		return err__fail_class(err, EINVAL, "The number of tags exceeded the per-server limit %d",
				       SERVERS_META_MAX_TAGS);
	struct tag_tx t = {.id = id, .tags = tags};
	if (compute_db__tx(s->db, set_in_tx, &t, err) < 0)
		return -1;
	return servers_meta__tags_get(s, c, id, NULL, out, err);
}

int servers_meta__tag_delete(struct servers *s, const struct compute_caller *c, const char *id,
			     const char *tag, struct st_err *err)
{
	if (writable(s, c, id, tag ? "os_compute_api:os-server-tags:delete" :
		     "os_compute_api:os-server-tags:delete_all", tag ? "delete tag" : "delete tags", err) < 0)
		return -1;
	if (!tag)
		return db__exec(s->db, "DELETE FROM compute_server_tag WHERE instance_uuid = ?", &id, 1, err);
	const char *p[] = {id, tag};
	int n = db__exec(s->db, "DELETE FROM compute_server_tag WHERE instance_uuid = ? AND tag = ?", p, 2, err);
	if (n < 0)
		return -1;
	return n ? 0 : err__fail_class(err, ENOENT, "Tag %.80s could not be found.", tag);
}

bool servers_meta__tags_asked(const struct compute_query *q)
{
	return compute_valid__query(q, "tags") || compute_valid__query(q, "tags-any") ||
	       compute_valid__query(q, "not-tags") || compute_valid__query(q, "not-tags-any");
}

/* How many of the comma-separated list are among tags, and how many it names. */
static size_t count_in(const char *list, const json_t *tags, size_t *named)
{
	cleanup_free char *copy = strdup(list);
	char *save = NULL;
	size_t hits = 0;
	*named = 0;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		json_t *v;
		(*named)++;
		json_array_foreach((json_t *)tags, i, v)
			if (!strcmp(json_string_value(v), t)) {
				hits++;
				break;
			}
	}
	return hits;
}

bool servers_meta__tags_pass(const struct compute_query *q, const json_t *tags)
{
	const char *all = compute_valid__query(q, "tags"), *any = compute_valid__query(q, "tags-any");
	const char *not_all = compute_valid__query(q, "not-tags");
	const char *not_any = compute_valid__query(q, "not-tags-any");
	size_t named;
	if (all && count_in(all, tags, &named) != named)
		return false;
	if (any && !count_in(any, tags, &named))
		return false;
	/* not-tags: not all of them; not-tags-any: none of them (Nova's) */
	if (not_all && count_in(not_all, tags, &named) == named && named)
		return false;
	if (not_any && count_in(not_any, tags, &named))
		return false;
	return true;
}
