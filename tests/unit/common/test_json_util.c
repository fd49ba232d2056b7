#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/json_util.h"

static json_t *body(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &je);
	assert_non_null(j);
	return j;
}

static void strings_required_optional_and_typed(void **state)
{
	(void)state;
	cleanup_json json_t *j = body("{\"a\": \"x\", \"n\": 3, \"z\": \"a\\u0000b\"}");
	struct st_err err = {0};
	const char *s = "unset";
	assert_int_equal(json_util__string(j, "thing", "a", true, &s, &err), 1);
	assert_string_equal(s, "x");
	assert_int_equal(json_util__string(j, "thing", "missing", false, &s, &err), 0);
	assert_null(s);
	assert_true(json_util__string(j, "thing", "missing", true, &s, &err) < 0);
	assert_string_equal(err.msg, "thing: \"missing\" is required");
	assert_true(json_util__string(j, "thing", "n", false, &s, &err) < 0);
	assert_string_equal(err.msg, "thing: \"n\" must be a string");
	assert_true(json_util__string(j, "thing", "z", false, &s, &err) < 0);
	assert_string_equal(err.msg, "thing: \"z\" contains a NUL byte");
	assert_null(s);
	assert_int_equal(err.errnum, 0);
}

static void integers_have_range_and_default(void **state)
{
	(void)state;
	cleanup_json json_t *j = body("{\"n\": 3, \"big\": 99, \"s\": \"3\"}");
	struct st_err err = {0};
	json_int_t v;
	assert_int_equal(json_util__int(j, "d", "n", 1, 10, 7, &v, &err), 1);
	assert_int_equal(v, 3);
	assert_int_equal(json_util__int(j, "d", "none", 1, 10, 7, &v, &err), 0);
	assert_int_equal(v, 7);
	assert_true(json_util__int(j, "d", "big", 1, 10, 7, &v, &err) < 0);
	assert_string_equal(err.msg, "d: \"big\" must be between 1 and 10");
	assert_true(json_util__int(j, "d", "s", 1, 10, 7, &v, &err) < 0);
	assert_string_equal(err.msg, "d: \"s\" must be an integer");
}

static void bools_objects_arrays(void **state)
{
	(void)state;
	cleanup_json json_t *j = body("{\"b\": false, \"o\": {}, \"a\": [1], \"n\": null}");
	struct st_err err = {0};
	bool b = true;
	json_t *v;
	assert_int_equal(json_util__bool(j, "d", "b", true, &b, &err), 1);
	assert_false(b);
	assert_int_equal(json_util__bool(j, "d", "none", true, &b, &err), 0);
	assert_true(b);
	assert_true(json_util__bool(j, "d", "n", true, &b, &err) < 0);
	assert_string_equal(err.msg, "d: \"n\" must be a boolean");
	assert_int_equal(json_util__object(j, "d", "o", true, &v, &err), 1);
	assert_true(json_is_object(v));
	assert_true(json_util__object(j, "d", "a", true, &v, &err) < 0);
	assert_null(v);
	assert_string_equal(err.msg, "d: \"a\" must be an object");
	assert_int_equal(json_util__array(j, "d", "a", true, &v, &err), 1);
	assert_int_equal(json_array_size(v), 1);
	assert_int_equal(json_util__array(j, "d", "none", false, &v, &err), 0);
	assert_true(json_util__array(j, "d", "none", true, &v, &err) < 0);
}

/* The config-file flavour: absent leaves *out alone, null is absent for
 * integers, objects and arrays (not strings and booleans), errors name a path. */
static void config_fields(void **state)
{
	(void)state;
	cleanup_json json_t *j = body("{\"s\": \"x\", \"n\": 5, \"b\": true, \"o\": {}, \"a\": [], "
				      "\"null\": null, \"z\": \"a\\u0000b\"}");
	struct st_err err = {0};
	const char *s = "kept";
	int64_t n = 42;
	bool b = false;
	json_t *v = NULL;
	assert_int_equal(json_util__field_string(j, "root", "none", &s, &err), 0);
	assert_string_equal(s, "kept");
	assert_int_equal(json_util__field_string(j, "root", "s", &s, &err), 1);
	assert_string_equal(s, "x");
	assert_true(json_util__field_string(j, "root", "null", &s, &err) < 0);
	assert_string_equal(err.msg, "root.null must be a string");
	assert_true(json_util__field_string(j, "root", "z", &s, &err) < 0);
	assert_string_equal(err.msg, "root.z contains a NUL byte");

	assert_int_equal(json_util__field_int(j, "process.user", "none", 0, 10, &n, &err), 0);
	assert_int_equal(json_util__field_int(j, "process.user", "null", 0, 10, &n, &err), 0);
	assert_int_equal(n, 42);
	assert_int_equal(json_util__field_int(j, "process.user", "n", 0, 10, &n, &err), 1);
	assert_int_equal(n, 5);
	assert_true(json_util__field_int(j, "process.user", "n", 6, 10, &n, &err) < 0);
	assert_string_equal(err.msg, "process.user.n is out of range: 5");
	assert_int_equal(n, 5);
	assert_true(json_util__field_int(j, "process.user", "s", 0, 10, &n, &err) < 0);
	assert_string_equal(err.msg, "process.user.s must be an integer");

	assert_int_equal(json_util__field_bool(j, "root", "none", &b, &err), 0);
	assert_false(b);
	assert_int_equal(json_util__field_bool(j, "root", "b", &b, &err), 1);
	assert_true(b);
	assert_true(json_util__field_bool(j, "root", "null", &b, &err) < 0);
	assert_string_equal(err.msg, "root.null must be a boolean");

	assert_int_equal(json_util__field_object(j, "linux", "o", &v, &err), 1);
	assert_true(json_is_object(v));
	assert_int_equal(json_util__field_object(j, "linux", "null", &v, &err), 0);
	assert_null(v);
	assert_true(json_util__field_object(j, "linux", "a", &v, &err) < 0);
	assert_string_equal(err.msg, "linux.a must be an object");
	assert_int_equal(json_util__field_array(j, "linux", "a", &v, &err), 1);
	assert_true(json_is_array(v));
	assert_int_equal(json_util__field_array(j, "linux", "none", &v, &err), 0);
	assert_null(v);
	assert_true(json_util__field_array(j, "linux", "o", &v, &err) < 0);
	assert_string_equal(err.msg, "linux.o must be an array");
	assert_int_equal(err.errnum, 0);
}

static void check_keys_names_the_unknown_one(void **state)
{
	(void)state;
	static const char *const keys[] = {"a", "b", NULL};
	cleanup_json json_t *ok = body("{\"a\": 1, \"b\": 2}");
	cleanup_json json_t *bad = body("{\"a\": 1, \"c\": 2}");
	cleanup_json json_t *arr = body("[]");
	struct st_err err = {0};
	assert_int_equal(json_util__check_keys(ok, "req", keys, &err), 0);
	assert_true(json_util__check_keys(bad, "req", keys, &err) < 0);
	assert_string_equal(err.msg, "req: unknown field \"c\"");
	assert_true(json_util__check_keys(arr, "req", keys, &err) < 0);
	assert_string_equal(err.msg, "req must be a JSON object");
}

static void cleanup_json_releases(void **state)
{
	(void)state;
	json_t *kept = json_object();
	{
		cleanup_json json_t *ref = json_incref(kept);
		cleanup_json json_t *none = NULL;
		(void)ref;
		(void)none;
		assert_int_equal(kept->refcount, 2);
	}
	assert_int_equal(kept->refcount, 1);
	json_decref(kept);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strings_required_optional_and_typed),
		cmocka_unit_test(integers_have_range_and_default),
		cmocka_unit_test(bools_objects_arrays),
		cmocka_unit_test(config_fields),
		cmocka_unit_test(check_keys_names_the_unknown_one),
		cmocka_unit_test(cleanup_json_releases),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
