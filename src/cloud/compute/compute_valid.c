/* Nova's JSON-schema checks, with its messages. */
#include "cloud/compute/compute_valid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"

static int invalid(const json_t *v, const char *key, const char *why, struct st_err *err)
{
	cleanup_free char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. Value: %.200s. %s",
			       key, text ? text : "?", why);
}

static int missing(const char *key, struct st_err *err)
{
	return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. Value: None. "
			       "'%s' is a required property", key, key);
}

int compute_valid__keys(const json_t *obj, const char *const *allowed, struct st_err *err)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (!ok)
			return err__fail_class(err, EINVAL,
					       "Additional properties are not allowed ('%.100s' was unexpected)",
					       key);
	}
	return 0;
}

int compute_valid__member(const json_t *body, const char *member, json_t **out,
			  struct st_err *err)
{
	json_t *v = json_object_get(body, member);
	if (!json_is_object(body) || !v)
		return missing(member, err);
	if (!json_is_object(v))
		return invalid(v, member, "It is not of type 'object'", err);
	*out = v;
	return 0;
}

int compute_valid__int(const json_t *obj, const char *key, bool required, long long min,
		       long long max, long long dflt, long long *out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v) {
		*out = dflt;
		return required ? missing(key, err) : 0;
	}
	long long n;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		errno = 0;
		n = strtoll(s, &end, 10);
		if (!*s || *end || errno || !(isdigit((unsigned char)*s) || (*s == '-' && min < 0)))
			return invalid(v, key, "It is not an integer", err);
	} else {
		return invalid(v, key, "It is not of type 'integer', 'string'", err);
	}
	if (n < min || n > max) {
		char why[96];
		snprintf(why, sizeof(why), "It must be between %lld and %lld", min, max);
		return invalid(v, key, why, err);
	}
	*out = n;
	return 0;
}

int compute_valid__bool_text(const char *s)
{
	static const char *const yes[] = {"1", "t", "true", "on", "y", "yes"};
	static const char *const no[] = {"0", "f", "false", "off", "n", "no"};
	for (size_t i = 0; i < 6; i++) {
		if (!strcasecmp(s, yes[i]))
			return 1;
		if (!strcasecmp(s, no[i]))
			return 0;
	}
	return -1;
}

int compute_valid__bool(const json_t *obj, const char *key, bool dflt, bool *out,
			struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	int b = -1;
	if (!v)
		b = dflt;
	else if (json_is_boolean(v))
		b = json_is_true(v);
	else if (json_is_string(v))
		b = compute_valid__bool_text(json_string_value(v));
	if (b < 0)
		return invalid(v, key, "It is not of type 'boolean'", err);
	*out = b;
	return 0;
}

static bool printable(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int compute_valid__string(const json_t *obj, const char *key, bool required, size_t min,
			  size_t max, bool name_rules, const char **out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v)
		return required ? missing(key, err) : 0;
	if (!json_is_string(v))
		return invalid(v, key, "It is not of type 'string'", err);
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (strlen(s) != len)
		return invalid(v, key, "It holds a NUL character", err);
	/* lengths in characters, as JSON schema counts them */
	size_t chars = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		chars += (*p & 0xc0) != 0x80;
	if (chars < min)
		return invalid(v, key, min == 1 ? "It is too short (it must not be empty)" : "It is too short", err);
	if (chars > max) {
		char why[64];
		snprintf(why, sizeof(why), "It is longer than %zu characters", max);
		return invalid(v, key, why, err);
	}
	if (name_rules && (!printable(s) || isspace((unsigned char)s[0]) ||
			   (len && isspace((unsigned char)s[len - 1]))))
		return err__fail_class(err, EINVAL, "Invalid input for field/attribute %s. Value: %.200s. "
				       "An invalid '%s' value was provided. The name must be: printable "
				       "characters. Can not start or end with whitespace.", key, s, key);
	*out = s;
	return 0;
}

bool compute_valid__chars(const char *s, const char *set, bool alnum)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!(alnum && isalnum(*p)) && !strchr(set, *p))
			return false;
	return true;
}

const char *compute_valid__query(const struct compute_query *q, const char *key)
{
	return q && q->get ? q->get(q->ctx, key) : NULL;
}

int compute_valid__page(const struct compute_query *q, json_t *list, const char *id_key,
			const char *marker_what, struct st_err *err)
{
	const char *limit = compute_valid__query(q, "limit"), *marker = compute_valid__query(q, "marker");
	size_t start = 0;
	if (marker) {
		size_t i;
		json_t *o;
		bool found = false;
		json_array_foreach(list, i, o) {
			json_t *id = json_object_get(o, id_key);
			char text[24];
			snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(id));
			if (!strcmp(json_is_string(id) ? json_string_value(id) : text, marker)) {
				start = i + 1;
				found = true;
				break;
			}
		}
		if (!found && marker_what)
			return err__fail_class(err, ENOENT, "%s %.256s could not be found.",
					       marker_what, marker);
		if (!found)
			return err__fail_class(err, EINVAL, "marker [%.256s] not found", marker);
	}
	long long n = COMPUTE_PAGE_MAX;
	if (limit) {
		char *end;
		errno = 0;
		n = strtoll(limit, &end, 10);
		if (!*limit || *end || errno)
			return err__fail_class(err, EINVAL, "limit param must be an integer");
		if (n < 0)
			return err__fail_class(err, EINVAL, "limit param must be positive");
		if (n > COMPUTE_PAGE_MAX)
			n = COMPUTE_PAGE_MAX;
	}
	json_t *page = json_array();
	for (size_t i = start; i < json_array_size(list) && json_array_size(page) < (size_t)n; i++)
		json_array_append(page, json_array_get(list, i));
	json_array_clear(list);
	json_array_extend(list, page);
	json_decref(page);
	return 0;
}
