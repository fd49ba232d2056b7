/* Typed getters for config.json: each checks the JSON type and names the
 * field in its error ("process.user.uid must be an integer"). They return 1
 * when the key is there, 0 when it is absent (null counts as absent where
 * noted), -1 with err set when it has the wrong type or range. Vectors live
 * in the config's arena. */
#ifndef STRATA_CTR_CONFIG_JSON_H
#define STRATA_CTR_CONFIG_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "ctr/config.h"

int config_json__str(json_t *obj, const char *key, const char *where, const char **out,
		     struct st_err *err);
/* null is absent */
int config_json__int(json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
		     int64_t *out, struct st_err *err);
int config_json__bool(json_t *obj, const char *key, const char *where, bool *out, struct st_err *err);
/* null is absent (*out NULL) */
int config_json__obj(json_t *obj, const char *key, const char *where, json_t **out, struct st_err *err);
int config_json__arr(json_t *obj, const char *key, const char *where, json_t **out, struct st_err *err);
/* An array of strings as a NULL-terminated vector. */
int config_json__strv(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
		      const char ***out, struct st_err *err);
/* An object of string values as a key, value, ..., NULL vector. */
int config_json__str_map(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
			 const char ***out, struct st_err *err);

#endif
