#include "common/json_util.h"

#include <stdio.h>
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

/* How a getter treats its field. */
enum {
	REQUIRED = 1 << 0,    /* absent is an error */
	NULL_ABSENT = 1 << 1, /* null counts as absent */
	PATH = 1 << 2,        /* errors name the field "WHERE.KEY must be ..." */
};

/* "WHERE: \"KEY\" what" or, with PATH, "WHERE.KEY what". */
static int fail_field(unsigned flags, const char *where, const char *key, const char *what, struct st_err *err)
{
	if (flags & PATH)
		return err__fail(err, 0, "%s.%s %s", where, key, what);
	return err__fail(err, 0, "%s: \"%s\" %s", where, key, what);
}

/* The value under key, checked with is_type; 0 when absent, -1 when of another type. */
static int lookup(const json_t *obj, const char *where, const char *key, unsigned flags, int (*is_type)(const json_t *),
		  const char *type_name, json_t **out, struct st_err *err)
{
	*out = json_object_get(obj, key);
	if (*out && (flags & NULL_ABSENT) && json_is_null(*out))
		*out = NULL;
	if (!*out) {
		if (flags & REQUIRED)
			return fail_field(flags, where, key, "is required", err);
		return 0;
	}
	if (!is_type(*out)) {
		char what[32];
		snprintf(what, sizeof(what), "must be %s", type_name);
		*out = NULL;
		return fail_field(flags, where, key, what, err);
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

static int get_string(const json_t *obj, const char *where, const char *key, unsigned flags, const char **out,
		      struct st_err *err)
{
	json_t *v;
	int r = lookup(obj, where, key, flags, is_string, "a string", &v, err);
	if (r <= 0)
		return r;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail_field(flags, where, key, "contains a NUL byte", err);
	*out = json_string_value(v);
	return 1;
}

static int get_int(const json_t *obj, const char *where, const char *key, unsigned flags, json_int_t min,
		   json_int_t max, json_int_t *out, struct st_err *err)
{
	json_t *v;
	int r = lookup(obj, where, key, flags, is_integer, "an integer", &v, err);
	if (r <= 0)
		return r;
	json_int_t n = json_integer_value(v);
	if (n >= min && n <= max) {
		*out = n;
		return 1;
	}
	if (flags & PATH)
		return err__fail(err, 0, "%s.%s is out of range: %lld", where, key, (long long)n);
	return err__fail(err, 0, "%s: \"%s\" must be between %lld and %lld", where, key, (long long)min,
			 (long long)max);
}

static int get_bool(const json_t *obj, const char *where, const char *key, unsigned flags, bool *out,
		    struct st_err *err)
{
	json_t *v;
	int r = lookup(obj, where, key, flags, is_boolean, "a boolean", &v, err);
	if (r > 0)
		*out = json_is_true(v);
	return r;
}

int json_util__string(const json_t *obj, const char *where, const char *key, bool required, const char **out,
		      struct st_err *err)
{
	*out = NULL;
	return get_string(obj, where, key, required ? REQUIRED : 0, out, err);
}

int json_util__int(const json_t *obj, const char *where, const char *key, json_int_t min, json_int_t max,
		   json_int_t dflt, json_int_t *out, struct st_err *err)
{
	*out = dflt;
	return get_int(obj, where, key, 0, min, max, out, err);
}

int json_util__bool(const json_t *obj, const char *where, const char *key, bool dflt, bool *out,
		    struct st_err *err)
{
	*out = dflt;
	return get_bool(obj, where, key, 0, out, err);
}

int json_util__object(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		      struct st_err *err)
{
	return lookup(obj, where, key, required ? REQUIRED : 0, is_object, "an object", out, err);
}

int json_util__array(const json_t *obj, const char *where, const char *key, bool required, json_t **out,
		     struct st_err *err)
{
	return lookup(obj, where, key, required ? REQUIRED : 0, is_array, "an array", out, err);
}

int json_util__field_string(const json_t *obj, const char *where, const char *key, const char **out,
			    struct st_err *err)
{
	return get_string(obj, where, key, PATH, out, err);
}

int json_util__field_int(const json_t *obj, const char *where, const char *key, int64_t min, int64_t max,
			 int64_t *out, struct st_err *err)
{
	json_int_t v = 0;
	int r = get_int(obj, where, key, PATH | NULL_ABSENT, min, max, &v, err);
	if (r > 0)
		*out = v;
	return r;
}

int json_util__field_bool(const json_t *obj, const char *where, const char *key, bool *out, struct st_err *err)
{
	return get_bool(obj, where, key, PATH, out, err);
}

int json_util__field_object(const json_t *obj, const char *where, const char *key, json_t **out,
			    struct st_err *err)
{
	return lookup(obj, where, key, PATH | NULL_ABSENT, is_object, "an object", out, err);
}

int json_util__field_array(const json_t *obj, const char *where, const char *key, json_t **out,
			   struct st_err *err)
{
	return lookup(obj, where, key, PATH | NULL_ABSENT, is_array, "an array", out, err);
}
