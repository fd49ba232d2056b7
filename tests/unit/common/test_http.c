/* The HTTP server core and the HTTP client against each other, on a unix
 * socket: routing and captures, errors and their bodies, buffered and
 * streamed bodies, streamed replies, upgrades, request ids, the log hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/http_client.h"
#include "common/http_server.h"
#include "common/json_util.h"
#include "common/util.h"

struct upload {
	uint64_t bytes;
	uint32_t sum;
};

static int aborted;
static unsigned last_logged;

static int thing(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	const char *q = http_request__query(req, "q"), *name, *value;
	json_t *all_q = json_array(), *args = json_array();
	for (size_t i = 0; (value = http_request__query_nth(req, "q", i)); i++)
		json_array_append_new(all_q, json_string(value));
	for (size_t i = 0; http_request__query_at(req, i, &name, &value); i++)
		json_array_append_new(args, json_pack("[s,s]", name, value));
	http_reply__json(rp, 0, json_pack("{s:s, s:s, s:s?, s:b, s:o, s:o}", "name", http_request__capture(req, "name"),
					  "part", http_request__capture(req, "part"), "q", q, "flag",
					  http_request__query_flag(req, "flag"), "all_q", all_q, "args", args));
	return 0;
}

static int fail_exists(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	(void)rp;
	return err__fail_class(err, EEXIST, "thing '%s' exists", http_request__capture(req, "name"));
}

static int echo(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	json_t *in;
	if (http_request__body_json(req, &in, err) < 0)
		return -1;
	http_reply__json(rp, 201, in);
	return 0;
}

static int upload_begin(struct http_request *req, void **state, struct st_err *err)
{
	if (!strcmp(http_request__capture(req, "name"), "refused"))
		return err__fail_class(err, EACCES, "no uploads into 'refused'");
	*state = calloc(1, sizeof(struct upload));
	return *state ? 0 : err__fail(err, ENOMEM, "upload");
}

static int upload_write(void *state, const char *data, size_t len, struct st_err *err)
{
	struct upload *u = state;
	(void)err;
	for (size_t i = 0; i < len; i++)
		u->sum = u->sum * 31 + (uint8_t)data[i];
	u->bytes += len;
	return 0;
}

static void upload_abort(void *state)
{
	aborted++;
	free(state);
}

static int upload_done(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	cleanup_free struct upload *u = http_request__upload_state(req);
	http_reply__json(rp, 0, json_pack("{s:I, s:I}", "bytes", (json_int_t)u->bytes, "sum", (json_int_t)u->sum));
	return 0;
}

static const struct http_upload_ops upload_ops = {upload_begin, upload_write, upload_abort};

static ssize_t count_read(void *cls, char *buf, size_t max)
{
	int *n = cls;
	if (*n == 3)
		return HTTP_STREAM_END;
	int len = snprintf(buf, max, "chunk %d\n", (*n)++);
	return len;
}

static int counter(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	(void)req;
	int *n = calloc(1, sizeof(*n));
	if (!n)
		return err__fail(err, ENOMEM, "stream");
	http_reply__stream(rp, 200, "text/plain", count_read, n, free);
	return 0;
}

static void echo_upgraded(void *cls, int sock, const char *extra, size_t extra_len, const struct http_server *s)
{
	(void)cls, (void)s;
	char buf[256];
	if (extra_len)
		util__write_all(sock, extra, extra_len, NULL);
	ssize_t n = read(sock, buf, sizeof(buf));
	if (n > 0)
		util__write_all(sock, buf, (size_t)n, NULL);
}

static int upgrade(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	if (!http_request__wants_upgrade(req, "echo"))
		return err__fail_class(err, EINVAL, "this endpoint needs 'Upgrade: echo'");
	http_reply__upgrade(rp, "echo", echo_upgraded, NULL, NULL);
	return 0;
}

static int bad_bytes(struct http_request *req, struct http_reply *rp, struct st_err *err)
{
	(void)req, (void)rp;
	return err__fail_class(err, ENOENT, "no thing '\xff\xfe' here\nsecond line");
}

static const struct http_route routes[] = {
	{"GET", "/v1/things/{name}/parts/{part}", thing, NULL, NULL},
	{"POST", "/v1/things/{name}", fail_exists, NULL, NULL},
	{"POST", "/v1/echo", echo, NULL, NULL},
	{"PUT", "/v1/things/{name}/data", upload_done, &upload_ops, NULL},
	{"GET", "/v1/counter", counter, NULL, NULL},
	{"GET", "/v1/upgrade", upgrade, NULL, NULL},
	{"GET", "/v1/bad", bad_bytes, NULL, NULL},
};

static void log_hook(const struct http_request *req, unsigned status, void *app)
{
	(void)req, (void)app;
	last_logged = status;
}

/* OpenStack's shape, with the route's name for Nova's itemNotFound. */
static json_t *openstack_error(const struct http_request *req, unsigned status, const char *message, void *app)
{
	(void)req, (void)app;
	if (status == 404)
		return json_pack("{s:{s:i, s:s}}", "itemNotFound", "code", (int)status, "message", message);
	return json_pack("{s:{s:i, s:s, s:s}}", "error", "code", (int)status, "title", "Error", "message", message);
}

struct fixture {
	char dir[64], path[96];
	struct http_server *srv;
	struct http_client_target t;
};

static int start(void **state, http_error_fn fmt, const char *id_header)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct st_err err = {0};
	snprintf(f->dir, sizeof(f->dir), "/tmp/strata-http-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	struct http_server_opts o = {.routes = routes, .nr_routes = ST_ARRAY_SIZE(routes), .body_max = 4096,
				     .format_error = fmt, .request_id_header = id_header, .log = log_hook};
	if (http_server__new(&o, &f->srv, &err) < 0 || http_server__listen_unix(f->srv, f->path, 0, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	f->t = (struct http_client_target){.unix_path = f->path, .server = "test server"};
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return start(state, NULL, NULL);
}

static int setup_openstack(void **state)
{
	return start(state, openstack_error, "x-openstack-request-id");
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	http_server__free(f->srv);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A request; the reply's body parsed as JSON. */
static unsigned call(struct fixture *f, const char *method, const char *path, const char *body, json_t **out)
{
	struct http_client_resp r = {0};
	struct st_err err = {0};
	assert_int_equal(http_client__request(&f->t, method, path, "application/json", body, body ? strlen(body) : 0,
					      &r, &err),
			 0);
	*out = json_loadb(r.body, r.len, 0, NULL);
	http_client__resp_free(&r);
	return r.status;
}

static const char *field(json_t *j, const char *obj, const char *key)
{
	return json_string_value(json_object_get(obj ? json_object_get(j, obj) : j, key));
}

static void routes_and_captures(void **state)
{
	struct fixture *f = *state;
	json_t *j;
	assert_int_equal(call(f, "GET", "/v1/things/a%20b/parts/p1?q=x+y%21&flag=yes", NULL, &j), 200);
	assert_string_equal(field(j, NULL, "name"), "a b");
	assert_string_equal(field(j, NULL, "part"), "p1");
	assert_string_equal(field(j, NULL, "q"), "x y!");
	assert_true(json_is_true(json_object_get(j, "flag")));
	json_decref(j);
	/* a repeated name keeps every value, in order; the first is query()'s */
	assert_int_equal(call(f, "GET", "/v1/things/a/parts/p?q=1&x=%3D&q=2&q=", NULL, &j), 200);
	assert_string_equal(field(j, NULL, "q"), "1");
	json_t *all = json_object_get(j, "all_q"), *args = json_object_get(j, "args");
	assert_int_equal(json_array_size(all), 3);
	assert_string_equal(json_string_value(json_array_get(all, 1)), "2");
	assert_string_equal(json_string_value(json_array_get(all, 2)), "");
	assert_int_equal(json_array_size(args), 4);
	assert_string_equal(json_string_value(json_array_get(json_array_get(args, 1), 0)), "x");
	assert_string_equal(json_string_value(json_array_get(json_array_get(args, 1), 1)), "=");
	json_decref(j);
	/* empty segments do not count */
	assert_int_equal(call(f, "GET", "/v1//things/x/parts/y/", NULL, &j), 200);
	json_decref(j);
	assert_int_equal(last_logged, 200);
}

/* An encoded '/' or NUL never reaches a handler (issue 13 item 7). */
static void encoded_slash_and_nul_refused(void **state)
{
	struct fixture *f = *state;
	json_t *j;
	assert_int_equal(call(f, "GET", "/v1/things/base%2Fx/parts/p", NULL, &j), 400);
	assert_non_null(strstr(field(j, "error", "message"), "'/'"));
	json_decref(j);
	assert_int_equal(call(f, "GET", "/v1/things/victim%00junk/parts/p", NULL, &j), 400);
	assert_non_null(strstr(field(j, "error", "message"), "NUL"));
	json_decref(j);
	assert_int_equal(call(f, "GET", "/v1/things/x%zz/parts/p", NULL, &j), 400);
	json_decref(j);
	/* whatever the method (no DELETE route here: it would be a 405) */
	assert_int_equal(call(f, "DELETE", "/v1/things/a%2Fb/parts/p", NULL, &j), 400);
	json_decref(j);
	assert_int_equal(call(f, "DELETE", "/v1/things/a/parts/p", NULL, &j), 405);
	json_decref(j);
	/* routing is on the raw path: an encoded '/' does not make a segment */
	assert_int_equal(call(f, "POST", "/v1/things%2Fa", NULL, &j), 404);
	json_decref(j);
	assert_int_equal(last_logged, 404);
}

static void errors_map_to_statuses(void **state)
{
	struct fixture *f = *state;
	json_t *j;
	assert_int_equal(call(f, "POST", "/v1/things/t1", NULL, &j), 409);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), 409);
	assert_string_equal(field(j, "error", "message"), "thing 't1' exists");
	json_decref(j);
	assert_int_equal(call(f, "GET", "/v1/nowhere", NULL, &j), 404);
	assert_string_equal(field(j, "error", "message"), "no such endpoint");
	json_decref(j);
	assert_int_equal(call(f, "DELETE", "/v1/echo", NULL, &j), 405);
	assert_string_equal(field(j, "error", "message"), "method not allowed here");
	json_decref(j);
	/* a message with invalid UTF-8 and a newline is still one line of JSON (the newline escaped) */
	assert_int_equal(call(f, "GET", "/v1/bad", NULL, &j), 404);
	assert_non_null(j);
	assert_string_equal(field(j, "error", "message"), "no thing '?" "?' here\\nsecond line");
	json_decref(j);
}

static void json_bodies(void **state)
{
	struct fixture *f = *state;
	json_t *j;
	assert_int_equal(call(f, "POST", "/v1/echo", "{\"a\": [1, 2]}", &j), 201);
	assert_int_equal(json_array_size(json_object_get(j, "a")), 2);
	json_decref(j);
	assert_int_equal(call(f, "POST", "/v1/echo", "{\"a\": ", &j), 400);
	assert_non_null(strstr(field(j, "error", "message"), "invalid JSON"));
	json_decref(j);
	assert_int_equal(call(f, "POST", "/v1/echo", NULL, &j), 400);
	json_decref(j);
	char big[5000];
	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(call(f, "POST", "/v1/echo", big, &j), 413);
	assert_string_equal(field(j, "error", "message"), "request body larger than 4 KiB");
	json_decref(j);
}

static int temp_file(size_t size, uint32_t *sum)
{
	char path[] = "/tmp/strata-http-body-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	char buf[4096];
	*sum = 0;
	for (size_t done = 0; done < size; done += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			buf[i] = (char)((done + i) * 7 + (done + i) / 4096);
			*sum = *sum * 31 + (uint8_t)buf[i];
		}
		assert_int_equal(util__write_all(fd, buf, sizeof(buf), NULL), 0);
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void streamed_upload(void **state)
{
	struct fixture *f = *state;
	struct st_err err = {0};
	uint32_t sum;
	size_t size = 3u << 20; /* far above body_max: never buffered */
	cleanup_close int fd = temp_file(size, &sum);
	struct http_client_resp r = {0};
	assert_int_equal(http_client__transfer(&f->t, "PUT", "/v1/things/x/data", fd, size, NULL, 0, &r, &err), 0);
	assert_int_equal(r.status, 200);
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(j, "bytes")), size);
	assert_int_equal((uint32_t)json_integer_value(json_object_get(j, "sum")), sum);
	json_decref(j);
	http_client__resp_free(&r);
	/* refused at begin: a large body is answered at once */
	lseek(fd, 0, SEEK_SET);
	int rc = http_client__transfer(&f->t, "PUT", "/v1/things/refused/data", fd, size, NULL, 0, &r, &err);
	if (rc == 0) /* the client may also see the early reply as a broken pipe */
		assert_int_equal(r.status, 403);
	http_client__resp_free(&r);
	/* a small refused one after its body */
	json_t *k;
	assert_int_equal(call(f, "PUT", "/v1/things/refused/data", "tiny", &k), 403);
	assert_string_equal(field(k, "error", "message"), "no uploads into 'refused'");
	json_decref(k);
}

static void streamed_reply(void **state)
{
	struct fixture *f = *state;
	struct http_client_resp r = {0};
	struct st_err err = {0};
	assert_int_equal(http_client__request(&f->t, "GET", "/v1/counter", NULL, NULL, 0, &r, &err), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "chunk 0\nchunk 1\nchunk 2\n");
	http_client__resp_free(&r);
}

static void upgraded_connection(void **state)
{
	struct fixture *f = *state;
	struct st_err err = {0};
	cleanup_close int fd = http_client__open_stream(&f->t, "/v1/upgrade", "echo", &err);
	assert_true(fd >= 0);
	assert_int_equal(util__write_all(fd, "hello", 5, &err), 0);
	char buf[16] = {0};
	size_t got = 0;
	for (ssize_t n; got < 5 && (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)n;
	assert_string_equal(buf, "hello");
	/* without the Upgrade header: the handler's refusal */
	assert_true(http_client__open_stream(&f->t, "/v1/upgrade", NULL, &err) < 0);
	assert_string_equal(err.msg, "this endpoint needs 'Upgrade: echo'");
}

static void openstack_errors_and_request_ids(void **state)
{
	struct fixture *f = *state;
	json_t *j;
	assert_int_equal(call(f, "POST", "/v1/things/t1", NULL, &j), 409);
	assert_string_equal(field(j, "error", "title"), "Error");
	assert_string_equal(field(j, "error", "message"), "thing 't1' exists");
	json_decref(j);
	assert_int_equal(call(f, "GET", "/v1/nowhere", NULL, &j), 404);
	assert_string_equal(field(j, "itemNotFound", "message"), "no such endpoint");
	json_decref(j);
	struct http_client_resp r = {.keep_head = true}, r2 = {.keep_head = true};
	struct st_err err = {0};
	char id[64], id2[64];
	assert_int_equal(http_client__request(&f->t, "GET", "/v1/things/a/parts/b", NULL, NULL, 0, &r, &err), 0);
	assert_int_equal(http_client__request(&f->t, "GET", "/v1/things/a/parts/b", NULL, NULL, 0, &r2, &err), 0);
	assert_non_null(http_client__header(&r, "X-OpenStack-Request-Id", id, sizeof(id)));
	assert_non_null(http_client__header(&r2, "x-openstack-request-id", id2, sizeof(id2)));
	assert_int_equal(strncmp(id, "req-", 4), 0);
	assert_int_equal(strlen(id), 40);
	assert_string_not_equal(id, id2);
	assert_null(http_client__header(&r, "X-Missing", id, sizeof(id)));
	http_client__resp_free(&r);
	http_client__resp_free(&r2);
}

static void client_reports_unreachable_server(void **state)
{
	(void)state;
	struct http_client_target t = {.unix_path = "/nonexistent/strata.sock", .server = "nothing"};
	struct http_client_resp r = {0};
	struct st_err err = {0};
	assert_true(http_client__request(&t, "GET", "/", NULL, NULL, 0, &r, &err) < 0);
	assert_non_null(strstr(err.msg, "cannot connect to nothing at /nonexistent/strata.sock"));
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* an early refusal closes the socket under a client still sending */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(routes_and_captures, setup, teardown),
		cmocka_unit_test_setup_teardown(encoded_slash_and_nul_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(errors_map_to_statuses, setup, teardown),
		cmocka_unit_test_setup_teardown(json_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(streamed_upload, setup, teardown),
		cmocka_unit_test_setup_teardown(streamed_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(upgraded_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(openstack_errors_and_request_ids, setup_openstack, teardown),
		cmocka_unit_test(client_reports_unreachable_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
