#include "ctr/config_json.h"

#include "common/json_util.h"

/* A JSON array of strings as a NULL-terminated vector. */
int config_json__strv(struct ctr_config *cfg, json_t *obj, const char *key, const char *where,
		      const char ***out, struct st_err *err)
{
	json_t *arr;
	int r = json_util__field_array(obj, where, key, &arr, err);
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
	int r = json_util__field_object(obj, where, key, &map, err);
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
