/* A raw disk's io_uring (src/vm/virtio/disk_raw.c, raw__ring_init): the seccomp
 * filter never sees io_uring operations, so the ring itself must refuse every
 * operation but reads, writes and fsyncs on the disk's own file. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/virtio/disk.h"

struct fixture {
	struct io_uring ring;
	int fd, other, efd;
	char path[64], other_path[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "/tmp/strata-ring-XXXXXX");
	snprintf(f->other_path, sizeof(f->other_path), "/tmp/strata-ring-other-XXXXXX");
	f->fd = mkstemp(f->path);
	f->other = mkstemp(f->other_path);
	assert_true(f->fd >= 0 && f->other >= 0);
	assert_int_equal(pwrite(f->fd, "disk data", 9, 0), 9);
	assert_int_equal(pwrite(f->other, "elsewhere", 9, 0), 9);
	f->efd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(raw__ring_init(&f->ring, f->fd, f->efd), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	io_uring_queue_exit(&f->ring);
	close(f->fd), close(f->other), close(f->efd);
	unlink(f->path), unlink(f->other_path);
	free(f);
	return 0;
}

/* Submits the one prepared SQE and returns its completion's result. */
static int complete(struct io_uring *ring)
{
	assert_int_equal(io_uring_submit(ring), 1);
	struct io_uring_cqe *cqe;
	assert_int_equal(io_uring_wait_cqe(ring, &cqe), 0);
	int res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

static void test_reads_and_writes_on_its_file_work(void **state)
{
	struct fixture *f = *state;
	char buf[16] = {0};
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_read(sqe, 0, buf, 9, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(complete(&f->ring), 9);
	assert_memory_equal(buf, "disk data", 9);
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_write(sqe, 0, "DISK", 4, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_ASYNC;
	assert_int_equal(complete(&f->ring), 4);
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(complete(&f->ring), 0);
	assert_int_equal(pread(f->fd, buf, 9, 0), 9);
	assert_memory_equal(buf, "DISK data", 9);
}

static void test_anything_else_is_refused(void **state)
{
	struct fixture *f = *state;
	char buf[16];
	/* another descriptor of this process, not the registered file */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_read(sqe, f->other, buf, 9, 0);
	assert_int_equal(complete(&f->ring), -EACCES);
	/* an operation other than read, write, fsync */
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_openat(sqe, AT_FDCWD, f->other_path, O_RDONLY, 0);
	assert_int_equal(complete(&f->ring), -EACCES);
	sqe = io_uring_get_sqe(&f->ring);
	io_uring_prep_socket(sqe, 2 /* AF_INET */, 1, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(complete(&f->ring), -EACCES);
	/* no registration after the ring is enabled: the file cannot be swapped */
	int other = f->other;
	assert_true(io_uring_register_files_update(&f->ring, 0, &other, 1) < 0);
	assert_int_equal(pread(f->other, buf, 9, 0), 9);
	assert_memory_equal(buf, "elsewhere", 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_and_writes_on_its_file_work, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anything_else_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
