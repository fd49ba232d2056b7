#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/store.h"

struct seen {
	int count;
	bool had_runtime;
	char name[32];
};

static int each(void *ctx, const char *uuid, const char *name, json_t *def, bool autostart,
		const struct store_runtime *rt, struct st_err *err)
{
	(void)uuid, (void)err;
	struct seen *s = ctx;
	s->count++;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->had_runtime = rt && rt->vm_pid == 4242 && !strcmp(rt->state, "paused");
	assert_true(autostart);
	assert_int_equal(json_integer_value(json_object_get(def, "vcpus")), 3);
	json_decref(def);
	return 0;
}

static void migrations_and_persistence(void **state)
{
	(void)state;
	char dir[] = "/tmp/strata-store-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/db", dir);
	struct store *s;
	struct st_err err = {0};
	assert_int_equal(store__open(path, &s, &err), 0);
	assert_int_equal(store__schema_version(s), 9);
	json_t *def = json_pack("{s:i}", "vcpus", 3);
	const char *uuid = "11111111-2222-4333-8444-555555555555";
	assert_int_equal(store__domain_insert(s, uuid, "one", def, &err), 0);
	assert_int_equal(store__domain_insert(s, "other-uuid", "one", def, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(store__domain_set_autostart(s, uuid, true, &err), 0);
	struct store_runtime rt = {.state = "paused", .vm_pid = 4242, .vm_start = 7};
	assert_int_equal(store__runtime_set(s, uuid, &rt, &err), 0);
	assert_int_equal(store__audit(s, 1000, 1, "POST", "/v1/domains", 201, &err), 0);
	/* templates: created once (the name taken is EEXIST), replaced, deleted */
	assert_int_equal(store__template_put(s, "t1", def, true, &err), 0);
	assert_int_equal(store__template_put(s, "t1", def, true, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	json_t *def2 = json_pack("{s:i}", "vcpus", 4);
	assert_int_equal(store__template_put(s, "t1", def2, false, &err), 0);
	assert_int_equal(store__template_put(s, "gone", def2, true, &err), 0);
	assert_int_equal(store__template_delete(s, "gone", &err), 0);
	json_decref(def2);
	store__close(s);

	/* reopening migrates nothing and finds everything */
	assert_int_equal(store__open(path, &s, &err), 0);
	struct seen seen = {0};
	assert_int_equal(store__domain_each(s, each, &seen, &err), 0);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.name, "one");
	json_t *tpls = store__template_list(s);
	assert_int_equal(json_array_size(tpls), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tpls, 0), "name")), "t1");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(tpls, 0), "def"), "vcpus")), 4);
	json_decref(tpls);
	assert_true(seen.had_runtime);
	json_t *audit = store__audit_list(s, 10);
	assert_int_equal(json_array_size(audit), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(audit, 0), "uid")), 1000);
	json_decref(audit);
	/* deleting a domain takes its runtime row with it */
	assert_int_equal(store__domain_delete(s, uuid, &err), 0);
	seen = (struct seen){0};
	assert_int_equal(store__domain_each(s, each, &seen, &err), 0);
	assert_int_equal(seen.count, 0);
	store__close(s);
	json_decref(def);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void collect_session(void *ctx, const struct store_web_session *ws)
{
	struct store_web_session *out = ctx;
	out[out[0].uid == 0 ? 0 : 1] = *ws;
}

/* The web sessions' rows: kept across a reopen, touched, expired by last use, deleted. */
static void web_sessions(void **state)
{
	(void)state;
	char dir[] = "/tmp/strata-store-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/db", dir);
	struct store *s;
	struct st_err err = {0};
	assert_int_equal(store__open(path, &s, &err), 0);
	struct store_web_session a = {.hash = "aa", .user = "alice", .uid = 1001, .can_write = true, .last_used = 100};
	struct store_web_session b = {.hash = "bb", .user = "bob", .uid = 1002, .last_used = 200};
	assert_int_equal(store__web_session_put(s, &a, &err), 0);
	assert_int_equal(store__web_session_put(s, &b, &err), 0);
	assert_int_equal(store__web_session_touch(s, "aa", 300, &err), 0);
	store__close(s);
	assert_int_equal(store__open(path, &s, &err), 0);
	assert_int_equal(store__web_session_expire(s, 250, &err), 0); /* bob's last use, 200, is older */
	struct store_web_session got[2] = {0};
	assert_int_equal(store__web_session_each(s, collect_session, got, &err), 0);
	assert_string_equal(got[0].hash, "aa");
	assert_string_equal(got[0].user, "alice");
	assert_int_equal(got[0].uid, 1001);
	assert_true(got[0].can_write);
	assert_int_equal(got[0].last_used, 300);
	assert_int_equal(got[1].uid, 0); /* nothing else */
	assert_int_equal(store__web_session_delete(s, "aa", &err), 0);
	memset(got, 0, sizeof(got));
	assert_int_equal(store__web_session_each(s, collect_session, got, &err), 0);
	assert_int_equal(got[0].uid, 0);
	store__close(s);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(migrations_and_persistence), cmocka_unit_test(web_sessions)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
