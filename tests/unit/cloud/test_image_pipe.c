/* The image pipe (src/cloud/images/image_pipe.h): every consumer gets every
 * byte once and in order, whatever the sizes fed; a consumer's failure is
 * what the next feed or the drain returns; freeing without a drain (an
 * aborted upload) stops the threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cloud/images/image_pipe.h"

/* A consumer that keeps a copy of what it got. */
struct sink {
	uint8_t *got;
	size_t len, cap;
	size_t fail_after; /* 0: never fails */
};

static int collect(void *ctx, const uint8_t *data, size_t len, struct st_err *err)
{
	struct sink *s = ctx;
	if (s->fail_after && s->len + len > s->fail_after)
		return err__fail(err, ENOSPC, "sink full at %zu", s->len);
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->got = realloc(s->got, s->cap);
		assert_non_null(s->got);
	}
	memcpy(s->got + s->len, data, len);
	s->len += len;
	return 0;
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		p[i] = (uint8_t)(x >> 16);
	}
	return p;
}

static void every_byte_in_order(void **state)
{
	(void)state;
	/* past several rounds of the blocks, fed in odd sizes and straight into the room */
	const size_t total = (9u << 20) + 12345;
	uint8_t *data = pattern(total);
	struct sink sinks[3] = {0};
	struct image_pipe_consumer c[3];
	for (int i = 0; i < 3; i++)
		c[i] = (struct image_pipe_consumer){collect, &sinks[i]};
	struct image_pipe *p;
	struct st_err err = {0};
	assert_int_equal(image_pipe__new(c, 3, &p, &err), 0);
	size_t off = 0, step = 1;
	while (off < total / 2) {
		size_t n = step < total / 2 - off ? step : total / 2 - off;
		assert_int_equal(image_pipe__feed(p, data + off, n, &err), 0);
		off += n;
		step = step * 3 + 7;
		if (step > (3u << 20))
			step = 1;
	}
	while (off < total) {
		uint8_t *room;
		size_t n;
		assert_int_equal(image_pipe__space(p, &room, &n, &err), 0);
		assert_true(n > 0);
		if (n > 70000)
			n = 70000;
		if (n > total - off)
			n = total - off;
		memcpy(room, data + off, n);
		image_pipe__commit(p, n);
		off += n;
	}
	assert_int_equal(image_pipe__drain(p, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sinks[i].len, total);
		assert_memory_equal(sinks[i].got, data, total);
	}
	image_pipe__free(p);
	for (int i = 0; i < 3; i++)
		free(sinks[i].got);
	free(data);
}

static void a_failure_is_returned(void **state)
{
	(void)state;
	const size_t total = 16u << 20;
	uint8_t *data = pattern(total);
	struct sink ok = {0}, full = {.fail_after = 3u << 20};
	struct image_pipe_consumer c[2] = {{collect, &ok}, {collect, &full}};
	struct image_pipe *p;
	struct st_err err = {0};
	assert_int_equal(image_pipe__new(c, 2, &p, &err), 0);
	int rc = 0;
	for (size_t off = 0; off < total && rc == 0; off += 65536)
		rc = image_pipe__feed(p, data + off, 65536, &err);
	if (rc == 0)
		rc = image_pipe__drain(p, &err);
	assert_int_equal(rc, -1);
	assert_int_equal(err.errnum, ENOSPC);
	assert_non_null(strstr(err.msg, "sink full"));
	assert_true(full.len <= 3u << 20);
	image_pipe__free(p);
	free(ok.got);
	free(full.got);
	free(data);
}

static void freed_without_drain(void **state)
{
	(void)state;
	uint8_t *data = pattern(5u << 20);
	struct sink s = {0};
	struct image_pipe_consumer c = {collect, &s};
	struct image_pipe *p;
	assert_int_equal(image_pipe__new(&c, 1, &p, NULL), 0);
	assert_int_equal(image_pipe__feed(p, data, 5u << 20, NULL), 0);
	image_pipe__free(p); /* returns: the threads are stopped and joined */
	assert_true(s.len <= 5u << 20);
	free(s.got);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_byte_in_order),
		cmocka_unit_test(a_failure_is_returned),
		cmocka_unit_test(freed_without_drain),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
