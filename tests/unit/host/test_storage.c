/* storage.c's shared logic over the dir backend, without a daemon: a host
 * with only a store (and, for the in-use checks, one running domain). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host/storage.h"
#include "host/storage_backend.h"
#include "../tmpdir.h"

static struct host host;
static char pooldir[96];

static int host_setup(void **state)
{
	if (tmpdir_setup(state) < 0)
		return -1;
	char db[96];
	snprintf(db, sizeof(db), "%s/db", tmpdir);
	snprintf(pooldir, sizeof(pooldir), "%s/pool", tmpdir);
	struct st_err err = {0};
	return store__open(db, &host.store, &err);
}

static int host_teardown(void **state)
{
	store__close(host.store);
	return tmpdir_teardown(state);
}

/* The call succeeds (err is the test's). */
#define MUST(call)                                    \
	do {                                          \
		if ((call) < 0)                       \
			fail_msg("%s: %s", #call, err.msg); \
	} while (0)

/* The call fails with class cls and a message holding want. */
static void refused(int rc, const struct st_err *err, int cls, const char *want)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->errnum, cls);
	if (!strstr(err->msg, want))
		fail_msg("\"%s\" does not say \"%s\"", err->msg, want);
}

static json_int_t num(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void define_refusals(void **state)
{
	(void)state;
	struct st_err err = {0};
	json_t *out = NULL;
	struct {
		const char *body, *says;
		int cls;
	} bad[] = {
		{"{\"name\": \"x\", \"type\": \"ceph\", \"path\": \"/tmp\"}", "not supported (dir, logical)", EINVAL},
		{"{\"name\": \"x\", \"path\": \"/tmp\", \"size\": 1}", "size", EINVAL},
		{"{\"name\": \"x\", \"type\": \"dir\", \"vg\": \"vg0\"}", "\"vg\" belongs to logical pools", EINVAL},
		{"{\"name\": \"x\", \"type\": \"logical\"}", "names its volume group", EINVAL},
		{"{\"name\": \"x\", \"type\": \"logical\", \"vg\": \"vg0\", \"path\": \"/tmp\"}", "no \"path\"", EINVAL},
		{"{\"name\": \"x\", \"path\": \"relative\"}", "absolute directory path", EINVAL},
		{"{\"name\": \"../x\", \"path\": \"/tmp\"}", "pool name", EINVAL},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *in = json_loads(bad[i].body, 0, NULL);
		assert_non_null(in);
		refused(storage__pool_define(&host, in, &out, &err), &err, bad[i].cls, bad[i].says);
		json_decref(in);
	}
	json_t *list = storage__pool_list(&host);
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	refused(storage__volume_list(&host, "nope", &out, &err), &err, ENOENT, "no storage pool named 'nope'");
	/* the volume name is checked before the pool is looked up */
	refused(storage__volume_info(&host, "nope", "../etc", &out, &err), &err, EINVAL, "volume name");
}

static void dir_pool_volumes(void **state)
{
	(void)state;
	struct st_err err = {0};
	json_t *in = json_pack("{s:s, s:s, s:s}", "name", "p", "type", "dir", "path", pooldir);
	json_t *pool = NULL;
	MUST(storage__pool_define(&host, in, &pool, &err));
	assert_string_equal(str(pool, "type"), "dir");
	assert_string_equal(str(pool, "state"), "active");
	assert_true(num(pool, "capacity") > 0);
	assert_int_equal(num(pool, "volumes"), 0);
	json_decref(pool);
	refused(storage__pool_define(&host, in, &pool, &err), &err, EEXIST, "already exists");
	json_decref(in);

	json_t *v;
	in = json_pack("{s:s, s:s}", "name", "a", "capacity", "1M");
	MUST(storage__volume_create(&host, "p", in, &v, &err));
	assert_string_equal(str(v, "format"), "raw");
	assert_int_equal(num(v, "capacity"), 1 << 20);
	json_decref(v);
	refused(storage__volume_create(&host, "p", in, &v, &err), &err, EEXIST, "already exists");
	json_decref(in);
	in = json_pack("{s:s, s:I, s:s}", "name", "b", "capacity", (json_int_t)2 << 20, "format", "qcow2");
	MUST(storage__volume_create(&host, "p", in, &v, &err));
	json_decref(in);
	assert_string_equal(str(v, "format"), "qcow2");
	assert_int_equal(num(v, "capacity"), 2 << 20);
	json_decref(v);

	char *path = NULL, want[128];
	assert_int_equal(storage__volume_path(&host, "p", "a", &path, &err), 0);
	snprintf(want, sizeof(want), "%s/a", pooldir);
	assert_string_equal(path, want);
	free(path);
	refused(storage__volume_path(&host, "p", "zz", &path, &err), &err, ENOENT, "no volume 'zz' in pool 'p'");

	/* a copy keeps the format and size; an overlay is a qcow2 on its source */
	in = json_pack("{s:s}", "name", "a2");
	MUST(storage__volume_clone(&host, "p", "a", in, &v, &err));
	json_decref(in);
	assert_string_equal(str(v, "format"), "raw");
	assert_int_equal(num(v, "capacity"), 1 << 20);
	json_decref(v);
	in = json_pack("{s:s, s:s}", "name", "b2", "mode", "overlay");
	MUST(storage__volume_clone(&host, "p", "b", in, &v, &err));
	json_decref(in);
	assert_string_equal(str(v, "format"), "qcow2");
	snprintf(want, sizeof(want), "%s/b", pooldir);
	assert_string_equal(str(v, "backing"), want);
	json_decref(v);

	in = json_pack("{s:s}", "capacity", "4M");
	MUST(storage__volume_resize(&host, "p", "a", in, &v, &err));
	assert_int_equal(num(v, "capacity"), 4 << 20);
	json_decref(v);
	MUST(storage__volume_resize(&host, "p", "b", in, &v, &err));
	assert_int_equal(num(v, "capacity"), 4 << 20);
	json_decref(v);
	json_decref(in);
	in = json_pack("{s:s}", "capacity", "1M");
	refused(storage__volume_resize(&host, "p", "a", in, &v, &err), &err, EINVAL, "pass \"shrink\": true");
	json_decref(in);
	in = json_pack("{s:s, s:b}", "capacity", "1M", "shrink", 1);
	refused(storage__volume_resize(&host, "p", "b", in, &v, &err), &err, EINVAL, "not supported for qcow2");
	MUST(storage__volume_resize(&host, "p", "a", in, &v, &err));
	assert_int_equal(num(v, "capacity"), 1 << 20);
	json_decref(v);
	json_decref(in);

	/* upload replaces the content, once complete; download reads it back */
	struct storage_upload u;
	MUST(storage__volume_upload_begin(&host, "p", "a", &u, &err));
	assert_int_equal(write(u.fd, "hello", 5), 5);
	MUST(storage__volume_upload_commit(&host, "p", "a", NULL, &u, &v, &err));
	assert_string_equal(str(v, "format"), "raw");
	assert_int_equal(num(v, "capacity"), 5);
	json_decref(v);
	/* an abandoned upload leaves the volume as it was */
	MUST(storage__volume_upload_begin(&host, "p", "a", &u, &err));
	assert_int_equal(write(u.fd, "goodbye", 7), 7);
	storage__volume_upload_abort(&u);
	uint64_t size = 0;
	char buf[8] = "";
	int fd = storage__volume_open_download(&host, "p", "a", &size, &err);
	assert_true(fd >= 0);
	assert_int_equal(size, 5);
	assert_int_equal(read(fd, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "hello", 5);
	close(fd);

	json_t *vols = NULL;
	MUST(storage__volume_list(&host, "p", &vols, &err));
	assert_int_equal(json_array_size(vols), 4);
	json_decref(vols);
	MUST(storage__pool_info(&host, "p", &pool, &err));
	assert_int_equal(num(pool, "volumes"), 4);
	json_decref(pool);

	assert_int_equal(storage__volume_delete(&host, "p", "a2", &err), 0);
	refused(storage__volume_delete(&host, "p", "a2", &err), &err, ENOENT, "no volume 'a2'");
	refused(storage__volume_info(&host, "p", "a2", &v, &err), &err, ENOENT, "no volume 'a2'");
}

/* A running domain's disks are changed by nobody, and its pool stays. */
static void in_use_refusals(void **state)
{
	(void)state;
	struct st_err err = {0};
	struct dom d = {.name = "guest", .state = DOM_RUNNING,
			.def = json_pack("{s:[{s:s, s:s}]}", "disks", "pool", "p", "volume", "b")};
	host.doms = &d;
	json_t *in = json_pack("{s:s}", "capacity", "8M"), *v;
	refused(storage__volume_resize(&host, "p", "b", in, &v, &err), &err, EBUSY, "running domain 'guest'");
	json_decref(in);
	refused(storage__volume_delete(&host, "p", "b", &err), &err, EBUSY, "running domain 'guest'");
	struct storage_upload u;
	refused(storage__volume_upload_begin(&host, "p", "b", &u, &err), &err, EBUSY, "running domain 'guest'");
	refused(storage__pool_undefine(&host, "p", &err), &err, EBUSY, "used by domain 'guest'");
	d.state = DOM_SHUTOFF;
	refused(storage__pool_undefine(&host, "p", &err), &err, EBUSY, "used by domain 'guest'");
	host.doms = NULL;
	json_decref(d.def);
	assert_int_equal(storage__volume_delete(&host, "p", "b2", &err), 0);
	assert_int_equal(storage__pool_undefine(&host, "p", &err), 0);
	refused(storage__pool_info(&host, "p", &v, &err), &err, ENOENT, "no storage pool named 'p'");
	/* undefining keeps the directory and its files */
	assert_int_equal(access(pooldir, F_OK), 0);
}

/* What storage.c calls without asking: every backend must have it. */
static void backends_are_complete(void **state)
{
	(void)state;
	const struct storage_backend *all[] = {&storage_dir__backend, &storage_lvm__backend};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const struct storage_backend *b = all[i];
		assert_non_null(b->type);
		assert_non_null(b->keys);
		assert_non_null(b->define);
		assert_non_null(b->describe);
		assert_non_null(b->volume_list);
		assert_non_null(b->volume_info);
		assert_non_null(b->volume_create);
		assert_non_null(b->volume_resize);
		assert_non_null(b->volume_delete);
		/* an upload is begun and committed by the same backend */
		assert_true(!b->volume_upload_begin == !b->volume_upload_commit);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(define_refusals),
		cmocka_unit_test(dir_pool_volumes),
		cmocka_unit_test(in_use_refusals),
		cmocka_unit_test(backends_are_complete),
	};
	return cmocka_run_group_tests(tests, host_setup, host_teardown);
}
