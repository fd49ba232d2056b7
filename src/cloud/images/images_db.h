/* The Image service's tables (component "images" in schema_version): images,
 * their extra properties, tags and members. Records come out as JSON objects
 * with the core columns typed (NULL columns as null, booleans as true/false,
 * times as epoch seconds), "properties" an object of strings and "tags" an
 * array; the service (images.c) turns them into Glance's view. */
#ifndef STRATA_CLOUD_IMAGES_DB_H
#define STRATA_CLOUD_IMAGES_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "cloud/db/db.h"

extern const struct db_migration images_db__migrations[];
extern const size_t images_db__n_migrations;

int images_db__migrate(struct db *db, struct st_err *err);

/* A record's core columns, in the table's order. */
extern const char *const images_db__columns[];

/* rec: the core columns (id included) plus "properties" and "tags". */
int images_db__insert(struct db *db, const json_t *rec, struct st_err *err);
/* Writes what a PATCH may change (name, formats, visibility, min_disk,
 * min_ram, protected, os_hidden, owner, updated_at) and replaces the
 * properties and tags. */
int images_db__update(struct db *db, const json_t *rec, struct st_err *err);
/* ENOENT when there is no such image. */
int images_db__get(struct db *db, const char *id, json_t **out, struct st_err *err);
int images_db__delete(struct db *db, const char *id, struct st_err *err);
/* Moves an image from status `from` to `to` (and touches updated_at);
 * returns the rows changed (0: the image was not in `from`). */
int images_db__set_status(struct db *db, const char *id, const char *from, const char *to,
			  struct st_err *err);
/* Every image in status `status`: a JSON array of ids. */
int images_db__ids_in_status(struct db *db, const char *status, json_t **out,
			     struct st_err *err);

/* What an upload found: `from` (saving, importing) -> active with these.
 * With quota_bytes > 0, in one transaction that holds the owner's rows, the
 * owner's other images and this one must stay within quota_bytes (E2BIG
 * otherwise, nothing changed): two uploads finishing at once cannot both
 * pass. Returns rows changed (0: the image was not in `from`). */
struct images_db_data {
	int64_t size, virtual_size; /* virtual_size < 0: unknown (null) */
	char md5[33], sha512[129];
	const char *from;     /* NULL: saving */
	const char *owner;    /* whose quota */
	int64_t quota_bytes;  /* 0: no limit */
};
int images_db__activate(struct db *db, const char *id, const struct images_db_data *d,
			struct st_err *err);

/* A project's images and the bytes of their data (for quotas). */
int images_db__usage(struct db *db, const char *owner, int64_t *count, int64_t *bytes,
		     struct st_err *err);

/* A member's status on an image ("pending", "accepted", "rejected");
 * ENOENT when the project is not a member. */
int images_db__member_status(struct db *db, const char *image_id, const char *member,
			     char status[16], struct st_err *err);

/* An image's members ([{"image_id", "member_id", "status", "created_at",
 * "updated_at"}], times as epoch seconds), or the one member asked for (an
 * empty array when not a member). */
int images_db__members(struct db *db, const char *image_id, const char *member, json_t **out,
		       struct st_err *err);
/* Adds a member (EEXIST when it is one) or changes its status (ENOENT). */
int images_db__member_set(struct db *db, const char *image_id, const char *member,
			  const char *status, bool create, struct st_err *err);
int images_db__member_delete(struct db *db, const char *image_id, const char *member,
			     struct st_err *err);

/* --- import tasks (images_db_tasks.c) --- */
/* task: {"id", "type", "status", "owner", "image_id", "user_id",
 * "request_id", "input" (object), "message", "created_at", "updated_at"}
 * (times as epoch seconds; "result" and "expires_at" null until it ends). */
int images_db__task_insert(struct db *db, const json_t *task, struct st_err *err);
/* The task ends or moves on: status, message, result (object or NULL);
 * expires_at set when the status is success or failure. */
int images_db__task_set(struct db *db, const char *id, const char *status, const char *message,
			const json_t *result, struct st_err *err);
/* ENOENT when there is no such task. */
int images_db__task_get(struct db *db, const char *id, json_t **out, struct st_err *err);
/* An image's tasks, newest first. */
int images_db__image_tasks(struct db *db, const char *image_id, json_t **out,
			   struct st_err *err);
/* Tasks of owner (NULL: all) with the type and status given (NULL: any),
 * in order of sort_key (a column: created_at, updated_at, expires_at, id,
 * type, status), then id. */
int images_db__task_list(struct db *db, const char *owner, const char *type, const char *status,
			 const char *sort_key, bool asc, json_t **out, struct st_err *err);
/* Sets one extra property of an image (os_glance_import_task ...). */
int images_db__set_property(struct db *db, const char *image_id, const char *name,
			    const char *value, struct st_err *err);

/* A request's query: get(ctx, key, nth) is the nth value of key (0 the
 * first; NULL past the last), at(ctx, i, &name, &value) walks every argument
 * in order (false past the last). */
struct images_query {
	const char *(*get)(void *ctx, const char *key, size_t nth);
	bool (*at)(void *ctx, size_t i, const char **name, const char **value);
	void *ctx;
};

/* GET /v2/images: the ids of the images the caller sees that pass Glance's
 * filters (name, status, visibility, owner, disk_format, container_format,
 * id, checksum, os_hash_value, member_status, size_min/max,
 * created_at/updated_at with operators, protected, os_hidden; every `tag`
 * given, ANDed; any other name is an extra property that must have that
 * value) in the order asked (sort, or sort_key/sort_dir). project: the
 * caller's; admin sees every project's. */
struct images_db_list {
	const char *project;
	bool admin;
	const struct images_query *q;
	size_t max; /* at most this many ids (0: all) */
};
int images_db__list(struct db *db, const struct images_db_list *l, json_t **ids,
		    struct st_err *err);
/* The records of these ids (a JSON array of strings) in one query, in their
 * order, as images_db__get makes them (an id deleted meanwhile is left out). */
int images_db__get_many(struct db *db, const json_t *ids, json_t **recs, struct st_err *err);
/* Whether a query name is one of Glance's list parameters (not a property). */
bool images_db__list_param(const char *name);

#endif
