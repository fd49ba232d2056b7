/* Request-body checks as Nova's JSON schemas make them: each fails with
 * EINVAL and Nova's "Invalid input for field/attribute KEY. Value: V. WHY"
 * (400), and nothing is changed. Nova's integer parameters take integers
 * or strings of digits; its booleans take true/false and their strings. */
#ifndef STRATA_CLOUD_COMPUTE_VALID_H
#define STRATA_CLOUD_COMPUTE_VALID_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/compute/compute.h"

/* Most items a list returns (Nova's osapi_max_limit). */
#define COMPUTE_PAGE_MAX 1000

/* obj's keys are all in allowed (NULL-terminated): Nova's
 * additionalProperties false. */
int compute_valid__keys(const json_t *obj, const char *const *allowed, struct st_err *err);
/* body[member] must be an object; *out borrowed. */
int compute_valid__member(const json_t *body, const char *member, json_t **out,
			  struct st_err *err);
/* An integer in [min, max]; absent: dflt, or an error when required. */
int compute_valid__int(const json_t *obj, const char *key, bool required, long long min,
		       long long max, long long dflt, long long *out, struct st_err *err);
int compute_valid__bool(const json_t *obj, const char *key, bool dflt, bool *out,
			struct st_err *err);
/* oslo's strict bool_from_string for query parameters: 1 true, 0 false,
 * -1 neither. */
int compute_valid__bool_text(const char *s);
/* A string of min..max characters; *out NULL when absent and not required.
 * name_rules: no leading or trailing whitespace, printable (Nova's "name"). */
int compute_valid__string(const json_t *obj, const char *key, bool required, size_t min,
			  size_t max, bool name_rules, const char **out, struct st_err *err);
/* Every character of s in set (plus letters and digits when alnum). */
bool compute_valid__chars(const char *s, const char *set, bool alnum);

/* A query parameter, NULL when absent (q may be NULL). */
const char *compute_valid__query(const struct compute_query *q, const char *key);
/* Nova's paging of a list already sorted: the items after the one whose
 * id_key (a string, or an integer compared as its decimal text) is q's "marker" (an unknown marker is ENOENT "MARKER_WHAT X could
 * not be found.", or when marker_what is NULL EINVAL "marker [X] not
 * found"), at most q's "limit"
 * (an integer >= 0; COMPUTE_PAGE_MAX at most). */
int compute_valid__page(const struct compute_query *q, json_t *list, const char *id_key,
			const char *marker_what, struct st_err *err);

#endif
