#include "common/json_util.h"

#include <string.h>

int json_util__check_keys(const json_t *obj, const char *where, const char *const *allowed, struct st_err *err)
{
	if (!json_is_object(obj))
		return err__fail(err, 0, "%s must be a JSON object", where);
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (!ok)
			return err__fail(err, 0, "%s: unknown field \"%s\"", where, key);
	}
	return 0;
}

/* The value under key, checked with is_type; 0 when absent, -1 when of another type. */
static int lookup(const json_t *obj, const char *where, const char *key, bool required, int (*is_type)(const json_t *),
		  const char *type_name, json_t **out, struct st_err *err)
{
	*out = json_object_get(obj, key);
	if (!*out) {
		if (required)
			return err__fail(err, 0, "%s: \"%s\" is required", where, key);
		return 0;
	}
	if (!is_type(*out)) {
		*out = NULL;
		return err__fail(err, 0, "%s: \"%s\" must be %s", where, key, type_name);
	}
	return 1;
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

static int is_integer(const json_t *v)
{
	return json_is_integer(v);
}

static int is_boolean(const json_t *v)
{
	return json_is_boolean(v);
}

static int is_object(const json_t *v)
{
	return json_is_object(v);
}

static int is_array(const json_t *v)
{
	return json_is_array(v);
}

int json_util__string(const json_t *obj, const char *where, const char *key, bool required, const char **out,
		      struct st_err *err)
{
	json_t *v;
	*out = NULL;
	int r = lookup(obj, where, key, required, is_string, "a string", &v, err);
	if (r <= 0)
		return r;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return err__fail(err, 0, "%s: \"%s\" contains a NUL byte", where, key);
	*out = json_string_value(v);
	return 1;
}

int json_util__int(const json_t *obj, const char *where, const char *key, json_int_t min, json_int_t max,
		   json_int_t dflt, json_int_t *out, struct st_err *err)
{
	json_t *v;
	*out = dflt;
	int r = lookup(obj, where, key, false, is_integer, "an integer", &v, err);
	if (r <= 0)
		return r;
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return err__fail(err, 0, "%s: \"%s\" must be between %lld and %lld", where, key, (long long)min,
			       (long long)max);
	*out = n;
	return 1;
}

int json_util__bool(const json_t *obj, const char *where, const char *key, bool dflt, bool *out,
		    struct st_err *err)
{
	json_t *v;
	*out = dflt;
	int r = lookup(obj, where, key, false, is_boolean, "a boolean", &v, err);
	if (r > 0)
		*out = json_is_true(v);
	return r;
}

int json_util__object(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		      struct st_err *err)
{
	return lookup(obj, where, key, required, is_object, "an object", out, err);
}

int json_util__array(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		     struct st_err *err)
{
	return lookup(obj, where, key, required, is_array, "an array", out, err);
}
