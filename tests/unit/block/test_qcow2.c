/* Block layer unit tests on real files in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/aio.h"
#include "block/block.h"
#include "block/qcow2/check.h"
#include "block/qcow2/qcow2.h"

static char dir[] = "/tmp/strata-unit-XXXXXX";

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
}

static void refcount_entries_round_trip(void **state)
{
	(void)state;
	for (uint32_t order = 0; order <= 6; order++) {
		struct qcow2 s = {.refcount_order = order};
		uint8_t block[512] = {0};
		uint64_t bits = 1u << order, entries = 512 * 8 / bits;
		uint64_t max = order == 6 ? UINT64_MAX : (1ull << bits) - 1;
		for (uint64_t i = 0; i < entries; i++)
			qcow2__refcount_write_entry(&s, block, i, (i * 7) & max);
		for (uint64_t i = 0; i < entries; i++)
			assert_true(qcow2__refcount_read_entry(&s, block, i) == ((i * 7) & max));
	}
}

static void fill(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((i * 31 + seed * 17) ^ (i >> 9));
}

static void write_reopen_read(uint64_t cluster, int compat, int refbits)
{
	char p[256];
	path_of(p, sizeof(p), "rw.qcow2");
	struct st_err err = {0};
	struct blk_create_opts co = {.format = "qcow2", .size = 8 << 20, .cluster_size = cluster,
				     .compat = compat, .refcount_bits = refbits};
	assert_int_equal(block__create(p, &co, &err), 0);
	struct blk_open_opts oo = {.writable = true};
	struct blk *b;
	assert_int_equal(block__open(p, &oo, &b, &err), 0);
	static uint8_t buf[300000], back[300000];
	fill(buf, sizeof(buf), (unsigned)cluster);
	/* unaligned writes across clusters, an overwrite, zeroes, a discard */
	assert_int_equal(block__pwrite(b, buf, sizeof(buf), 1234, &err), 0);
	assert_int_equal(block__pwrite(b, buf, 1000, 5 << 20, &err), 0);
	assert_int_equal(block__pwrite(b, buf + 7, 5000, 2000, &err), 0);
	assert_int_equal(block__pwrite_zeroes(b, 70000, 100000, &err), 0);
	assert_int_equal(block__close(b, &err), 0);
	oo.writable = false;
	assert_int_equal(block__open(p, &oo, &b, &err), 0);
	assert_int_equal(block__pread(b, back, sizeof(back), 1234, &err), 0);
	static uint8_t orig[5000];
	memcpy(orig, buf + 7, sizeof(orig));
	memcpy(buf + 2000 - 1234, orig, sizeof(orig));
	memset(buf + 100000 - 1234, 0, 70000);
	assert_memory_equal(buf, back, sizeof(buf));
	struct qcow2_check_result r;
	assert_int_equal(qcow2__check(b, QCOW2_REPAIR_NONE, &r, &err), 0);
	assert_true(r.corruptions == 0 && r.leaks == 0);
	block__close(b, NULL);
}

static void cluster_sizes_and_versions(void **state)
{
	(void)state;
	write_reopen_read(512, 3, 16);
	write_reopen_read(4096, 2, 16);
	write_reopen_read(65536, 3, 1);
	write_reopen_read(2 << 20, 3, 64);
}

struct writer {
	struct blk *b;
	int id;
};

static void *write_stripes(void *arg)
{
	struct writer *w = arg;
	uint8_t buf[4096];
	struct st_err err = {0};
	for (int i = 0; i < 200; i++) {
		memset(buf, w->id * 50 + i % 50, sizeof(buf));
		uint64_t off = ((uint64_t)(i * 4 + w->id) * 4096 * 3) % (16 << 20);
		if (block__pwrite(w->b, buf, sizeof(buf), off, &err) < 0)
			return (void *)1;
	}
	return NULL;
}

static void *flush_and_discard(void *arg)
{
	struct blk *b = arg;
	struct st_err err = {0};
	uint8_t buf[4096];
	for (int i = 0; i < 200; i++) {
		/* the gap between stripes: offsets no writer uses */
		uint64_t off = ((uint64_t)i * 4096 * 3 + 4096) % (16 << 20);
		memset(buf, 0xee, sizeof(buf));
		if (block__pwrite(b, buf, sizeof(buf), off, &err) < 0 || block__discard(b, 4096, off, &err) < 0 ||
		    block__flush(b, &err) < 0)
			return (void *)1;
	}
	return NULL;
}

static void threads_share_one_image(void **state)
{
	(void)state;
	char p[256];
	path_of(p, sizeof(p), "mt.qcow2");
	struct st_err err = {0};
	struct blk_create_opts co = {.format = "qcow2", .size = 16 << 20, .cluster_size = 4096};
	assert_int_equal(block__create(p, &co, &err), 0);
	struct blk_open_opts oo = {.writable = true};
	struct blk *b;
	assert_int_equal(block__open(p, &oo, &b, &err), 0);
	pthread_t th[5];
	struct writer w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct writer){b, i};
		pthread_create(&th[i], NULL, write_stripes, &w[i]);
	}
	/* flushes (which free clusters) and discards race with the writers' unlocked I/O */
	pthread_create(&th[4], NULL, flush_and_discard, b);
	void *fret;
	pthread_join(th[4], &fret);
	assert_null(fret);
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		assert_null(ret);
	}
	uint8_t buf[4096];
	for (int id = 0; id < 4; id++)
		for (int i = 0; i < 200; i++) {
			uint64_t off = ((uint64_t)(i * 4 + id) * 4096 * 3) % (16 << 20);
			assert_int_equal(block__pread(b, buf, sizeof(buf), off, &err), 0);
			assert_int_equal(buf[0], id * 50 + i % 50);
			assert_int_equal(buf[4095], id * 50 + i % 50);
		}
	struct qcow2_check_result r;
	assert_int_equal(qcow2__check(b, QCOW2_REPAIR_NONE, &r, &err), 0);
	assert_true(r.corruptions == 0 && r.leaks == 0);
	assert_int_equal(block__close(b, &err), 0);
}

static void unknown_feature_refused(void **state)
{
	(void)state;
	char p[256];
	path_of(p, sizeof(p), "feat.qcow2");
	struct st_err err = {0};
	struct blk_create_opts co = {.format = "qcow2", .size = 1 << 20};
	assert_int_equal(block__create(p, &co, &err), 0);
	FILE *f = fopen(p, "r+b");
	assert_non_null(f);
	uint8_t bit = 0x80; /* incompatible bit 7 */
	fseek(f, 79, SEEK_SET);
	fwrite(&bit, 1, 1, f);
	fclose(f);
	struct blk *b;
	struct blk_open_opts oo = {0};
	assert_true(block__open(p, &oo, &b, &err) < 0);
	assert_non_null(strstr(err.msg, "unsupported"));
}

struct aio_done {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int completed, failed;
};

static void on_done(struct blk_aio_req *r, int ret, const struct st_err *err)
{
	(void)err;
	struct aio_done *d = r->opaque;
	pthread_mutex_lock(&d->mu);
	d->completed++;
	d->failed += ret < 0;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

static void aio_requests_complete(void **state)
{
	(void)state;
	char p[256];
	path_of(p, sizeof(p), "aio.qcow2");
	struct st_err err = {0};
	struct blk_create_opts co = {.format = "qcow2", .size = 4 << 20};
	assert_int_equal(block__create(p, &co, &err), 0);
	struct blk_open_opts oo = {.writable = true};
	struct blk *b;
	assert_int_equal(block__open(p, &oo, &b, &err), 0);
	struct blk_aio_pool *pool;
	assert_int_equal(block__aio_pool_new(3, &pool, &err), 0);
	struct aio_done d = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
	static uint8_t bufs[32][8192];
	struct blk_aio_req reqs[32];
	for (int i = 0; i < 32; i++) {
		memset(bufs[i], i + 1, sizeof(bufs[i]));
		reqs[i] = (struct blk_aio_req){.op = BLK_AIO_WRITE, .b = b, .buf = bufs[i], .len = 8192,
					       .off = (uint64_t)i * 100000, .done = on_done, .opaque = &d};
		block__aio_submit(pool, &reqs[i]);
	}
	pthread_mutex_lock(&d.mu);
	while (d.completed < 32)
		pthread_cond_wait(&d.cv, &d.mu);
	pthread_mutex_unlock(&d.mu);
	assert_int_equal(d.failed, 0);
	struct blk_aio_req bad = {.op = BLK_AIO_READ, .b = b, .buf = bufs[0], .len = 8192, .off = 8 << 20,
				  .done = on_done, .opaque = &d};
	block__aio_submit(pool, &bad);
	block__aio_pool_free(pool);
	assert_int_equal(d.completed, 33);
	assert_int_equal(d.failed, 1);
	uint8_t back[8192];
	for (int i = 0; i < 32; i++) {
		assert_int_equal(block__pread(b, back, sizeof(back), (uint64_t)i * 100000, &err), 0);
		assert_memory_equal(back, bufs[i], sizeof(back));
	}
	assert_int_equal(block__close(b, &err), 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refcount_entries_round_trip),
		cmocka_unit_test(cluster_sizes_and_versions),
		cmocka_unit_test(threads_share_one_image),
		cmocka_unit_test(unknown_feature_refused),
		cmocka_unit_test(aio_requests_complete),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
