/* Path templates and percent-decoding for the HTTP server core (apart so
 * they can be tested without a socket). A template is "/a/{x}/b": literal
 * segments match the raw path's exactly, {x} matches any one segment. Empty
 * segments ("//", a trailing "/") are skipped on both sides. */
#ifndef STRATA_COMMON_HTTP_PATH_H
#define STRATA_COMMON_HTTP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

#define HTTP_PATH_CAPTURES_MAX 8

struct http_path_capture {
	const char *name; /* into the template, name_len bytes */
	size_t name_len;
	const char *raw;  /* into the path, raw_len bytes, still encoded */
	size_t raw_len;
};

/* Whether raw (a path without its query) matches tmpl; the captures are
 * filled in template order. */
bool http_path__match(const char *tmpl, const char *raw, struct http_path_capture *caps, size_t *ncaps);

/* Percent-decodes len bytes of src into a malloc'd string. Fails (EINVAL) on
 * a malformed escape or a NUL; in a path segment (segment) also on '/'. In
 * a query (plus_is_space) '+' is a space. */
int http_path__decode(const char *src, size_t len, bool segment, bool plus_is_space, char **out, struct st_err *err);

/* Percent-encodes in (what is not unreserved: ALPHA DIGIT - . _ ~) for a
 * path segment or a query value, into out (truncated to fit, always
 * terminated). */
void http_path__encode(const char *in, char *out, size_t size);

#endif
