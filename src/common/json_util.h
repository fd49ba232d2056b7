/* Typed getters for JSON request bodies and configuration files (jansson),
 * with the err idiom: each checks the value's type (and range), names the
 * field in its error as "WHERE: \"KEY\" must be ...", and tells absent from
 * present. They return 1 when the key is present, 0 when it is absent (an
 * absent required key is an error), -1 on error. Errors carry errnum 0: the
 * caller decides what class a bad field is. */
#ifndef STRATA_COMMON_JSON_UTIL_H
#define STRATA_COMMON_JSON_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"

static inline void json_util__decrefp(json_t **j)
{
	json_decref(*j);
}

/* A json_t * that is json_decref'd when it goes out of scope (NULL is fine);
 * hand it out with cleanup__steal_ptr() from common/cleanup.h. */
#define cleanup_json __attribute__((cleanup(json_util__decrefp)))

/* obj must be an object whose keys are all in the NULL-terminated allowed list. */
int json_util__check_keys(const json_t *obj, const char *where, const char *const *allowed, struct st_err *err);

/* A string without embedded NUL bytes; *out is NULL when absent. */
int json_util__string(const json_t *obj, const char *where, const char *key, bool required, const char **out,
		      struct st_err *err);

/* An integer in [min, max]; *out = dflt when absent. */
int json_util__int(const json_t *obj, const char *where, const char *key, json_int_t min, json_int_t max,
		   json_int_t dflt, json_int_t *out, struct st_err *err);

/* A boolean; *out = dflt when absent. */
int json_util__bool(const json_t *obj, const char *where, const char *key, bool dflt, bool *out,
		    struct st_err *err);

/* An object or an array (borrowed reference); *out is NULL when absent. */
int json_util__object(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		      struct st_err *err);
int json_util__array(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		     struct st_err *err);

/* The config-file flavour (OCI config.json, read as runc's Go reader does):
 * an absent field leaves *out untouched (objects and arrays: NULL), null is
 * absent for integers, objects and arrays, and errors name the field as a
 * path: "WHERE.KEY must be an integer", "WHERE.KEY is out of range: N". */
int json_util__field_string(const json_t *obj, const char *where, const char *key, const char **out,
			    struct st_err *err);
int json_util__field_int(const json_t *obj, const char *where, const char *key, int64_t min, int64_t max,
			 int64_t *out, struct st_err *err);
int json_util__field_bool(const json_t *obj, const char *where, const char *key, bool *out, struct st_err *err);
int json_util__field_object(const json_t *obj, const char *where, const char *key, json_t **out,
			    struct st_err *err);
int json_util__field_array(const json_t *obj, const char *where, const char *key, json_t **out,
			   struct st_err *err);

#endif
