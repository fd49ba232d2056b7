#include "ctr/config_json.h"

int config_json__str(json_t *obj, const char *key, const char *where, const char **out,
		     struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		return err__fail(err, 0, "%s.%s must be a string", where, key);
	*out = json_string_value(v);
	return 1;
}

int config_json__int(json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
		     int64_t *out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return err__fail(err, 0, "%s.%s must be an integer", where, key);
	json_int_t n = json_integer_value(v);
	if (n < min || n > max)
		return err__fail(err, 0, "%s.%s is out of range: %lld", where, key, (long long)n);
	*out = n;
	return 1;
}

int config_json__bool(json_t *obj, const char *key, const char *where, bool *out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		return err__fail(err, 0, "%s.%s must be a boolean", where, key);
	*out = json_is_true(v);
	return 1;
}

int config_json__obj(json_t *obj, const char *key, const char *where, json_t **out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return err__fail(err, 0, "%s.%s must be an object", where, key);
	*out = v;
	return 1;
}

int config_json__arr(json_t *obj, const char *key, const char *where, json_t **out, struct st_err *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return err__fail(err, 0, "%s.%s must be an array", where, key);
	*out = v;
	return 1;
}

/* A JSON array of strings as a NULL-terminated vector. */
int config_json__strv(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
		      const char ***out, struct st_err *err)
{
	json_t *arr;
	int r = config_json__arr(obj, key, where, &arr, err);
	if (r <= 0)
		return r;
	size_t n = json_array_size(arr);
	const char **v = config__alloc(cfg, (n + 1) * sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s))
			return err__fail(err, 0, "%s.%s[%zu] must be a string", where, key, i);
		v[i] = json_string_value(s);
	}
	*out = v;
	return 1;
}

/* A JSON object of string values as a key, value, ..., NULL vector. */
int config_json__str_map(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
		         const char ***out, struct st_err *err)
{
	json_t *map;
	int r = config_json__obj(obj, key, where, &map, err);
	if (r <= 0)
		return r;
	const char **v = config__alloc(cfg, (2 * json_object_size(map) + 1) * sizeof(*v));
	size_t i = 0;
	const char *k;
	json_t *val;
	json_object_foreach(map, k, val) {
		if (!json_is_string(val))
			return err__fail(err, 0, "%s.%s[\"%s\"] must be a string", where, key, k);
		v[i++] = k;
		v[i++] = json_string_value(val);
	}
	*out = v;
	return 1;
}
