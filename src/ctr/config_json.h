/* config.json's vectors, in the config's arena: the typed getters of the
 * single fields are json_util__field_* (common/json_util.h), whose error
 * wording these share ("linux.maskedPaths[2] must be a string"). They return
 * 1 when the key is there, 0 when it is absent or null, -1 with err set. */
#ifndef STRATA_CTR_CONFIG_JSON_H
#define STRATA_CTR_CONFIG_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "ctr/config.h"

/* An array of strings as a NULL-terminated vector. */
int config_json__strv(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
		      const char ***out, struct st_err *err);
/* An object of string values as a key, value, ..., NULL vector. */
int config_json__str_map(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
			 const char ***out, struct st_err *err);

#endif
