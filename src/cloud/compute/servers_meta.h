/* What a server carries besides its state: its name (PUT /servers/{id}),
 * metadata (server-metadata) and tags (os-server-tags, 2.26), with Nova's
 * checks: the body's schema (400, nothing changed), the metadata_items
 * quota (Nova's 403 "Maximum number of metadata items exceeds N"), 50 tags
 * at most, the lock and the vm_states Nova allows changes in (409). Errors
 * as servers.h. */
#ifndef STRATA_CLOUD_SERVERS_META_H
#define STRATA_CLOUD_SERVERS_META_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/compute/servers.h"

#define SERVERS_META_MAX_TAGS 50

/* PUT /servers/{id}: {"server": {"name", "description" (2.19), "accessIPv4",
 * "accessIPv6"}}. */
int servers_meta__update(struct servers *s, const struct compute_caller *c, const char *id,
			 json_t *body, struct st_err *err);

/* Metadata as Nova's schema wants it: an object of 1..255-character keys
 * of [a-zA-Z0-9-_:. ] to strings of at most 255 (field names the member
 * in messages), within the project's metadata_items quota. */
int servers_meta__check(struct db *db, const char *project, const json_t *meta,
			const char *field, struct st_err *err);
/* GET .../metadata (key NULL: {"metadata": {...}}) or .../metadata/{key}
 * ({"meta": {key: value}}). */
int servers_meta__metadata_get(struct servers *s, const struct compute_caller *c, const char *id,
			       const char *key, json_t **out, struct st_err *err);
/* POST .../metadata (merge), PUT .../metadata (replace: key NULL, replace
 * true) or PUT .../metadata/{key} ({"meta": {key: value}}); *out as the
 * reply's body. */
int servers_meta__metadata_set(struct servers *s, const struct compute_caller *c, const char *id,
			       const char *key, bool replace, json_t *body, json_t **out,
			       struct st_err *err);
int servers_meta__metadata_delete(struct servers *s, const struct compute_caller *c,
				  const char *id, const char *key, struct st_err *err);

/* GET .../tags ({"tags": [...]}); tag given: 0 when it is there, else ENOENT. */
int servers_meta__tags_get(struct servers *s, const struct compute_caller *c, const char *id,
			   const char *tag, json_t **out, struct st_err *err);
/* PUT .../tags/{tag}: *created whether it was new (201, else 204). */
int servers_meta__tag_add(struct servers *s, const struct compute_caller *c, const char *id,
			  const char *tag, bool *created, struct st_err *err);
/* PUT .../tags: {"tags": [...]} replaces them all; *out {"tags": [...]}. */
int servers_meta__tags_set(struct servers *s, const struct compute_caller *c, const char *id,
			   json_t *body, json_t **out, struct st_err *err);
/* DELETE .../tags/{tag} (ENOENT when absent), or every tag (tag NULL). */
int servers_meta__tag_delete(struct servers *s, const struct compute_caller *c, const char *id,
			     const char *tag, struct st_err *err);

/* row["tags"]: the server's tags, sorted. */
int servers_meta__attach_tags(struct db *db, json_t *row, struct st_err *err);
/* Whether the list asks by tags (tags, tags-any, not-tags, not-tags-any). */
bool servers_meta__tags_asked(const struct compute_query *q);
/* Whether a server with these tags passes the list's tag filters. */
bool servers_meta__tags_pass(const struct compute_query *q, const json_t *tags);

#endif
