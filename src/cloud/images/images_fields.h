/* Glance's image schema as rules on one field at a time: what a create body
 * and a PATCH may set, with Glance's messages (read-only and reserved
 * attributes 403, schema violations 400). Shared by create and update. */
#ifndef STRATA_CLOUD_IMAGES_FIELDS_H
#define STRATA_CLOUD_IMAGES_FIELDS_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "cloud/images/images.h"

/* The allowed values (NULL-terminated), also what the schemas say. */
extern const char *const images_fields__disk_formats[];
extern const char *const images_fields__container_formats[];
extern const char *const images_fields__visibilities[];

/* Sets key to value in rec (a record as images_db.h describes it: core
 * columns, "properties", "tags"), checked. value NULL removes an extra
 * property (ENOENT when absent) or resets a core one where Glance allows. */
int images_fields__set(json_t *rec, const char *key, json_t *value,
		       const struct images_caller *c, bool creating, struct st_err *err);

bool images_fields__is_uuid(const char *s);

/* Glance's time format: 2026-12-07T10:00:00Z */
void images_fields__time(int64_t t, char out[32]);

#endif
