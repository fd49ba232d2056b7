/* Raw images and block devices: preadv/pwritev when synchronous, io_uring
 * (liburing) for the requests virtio-blk keeps in flight. */
#include "common/log.h"
#include "vm/virtio/disk.h"

#include <errno.h>
#include <liburing.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int raw__rw(struct disk *dk, const struct iovec *iov, int n, uint64_t off, bool write)
{
	struct iovec local[IOV_MAX];
	if (n > IOV_MAX) {
		errno = EINVAL;
		return -1;
	}
	memcpy(local, iov, sizeof(*iov) * (size_t)n);
	struct iovec *v = local;
	while (n > 0) {
		ssize_t r = write ? pwritev(dk->fd, v, n, (off_t)off) : preadv(dk->fd, v, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) { /* the file shrank under us */
			errno = EIO;
			return -1;
		}
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= v->iov_len)
			r -= (ssize_t)v->iov_len, v++, n--;
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + r;
			v->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int raw__readv(struct disk *dk, const struct iovec *iov, int n, uint64_t off)
{
	return raw__rw(dk, iov, n, off, false);
}

static int raw__writev(struct disk *dk, const struct iovec *iov, int n, uint64_t off)
{
	return raw__rw(dk, iov, n, off, true);
}

static int raw__flush(struct disk *dk)
{
	return fdatasync(dk->fd);
}

static int raw__discard(struct disk *dk, uint64_t off, uint64_t len)
{
	return fallocate(dk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
}

static int raw__write_zeroes(struct disk *dk, uint64_t off, uint64_t len, bool may_unmap)
{
	if (may_unmap && raw__discard(dk, off, len) == 0)
		return 0;
	if (fallocate(dk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	static const uint8_t zeros[65536];
	while (len) { /* file systems without ZERO_RANGE */
		size_t c = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
		struct iovec v = {(void *)zeros, c};
		if (raw__rw(dk, &v, 1, off, true) < 0)
			return -1;
		off += c;
		len -= c;
	}
	return 0;
}

/* Reads and flushes go to io_uring: the kernel serves a page-cache hit inline
 * during the submitting io_uring_enter (one system call for a whole batch),
 * and only a miss waits. Writes go there too on file systems that
 * take non-blocking buffered writes. Those that refuse them outright (ext4:
 * EOPNOTSUPP) would send every write to io_uring's worker threads, a thread
 * hop per 4 KiB write that costs several times the write itself; on local
 * disk file systems the write runs at once on the caller's thread (the I/O
 * thread, never a vCPU's), as plain pwrite does. */
enum raw_writes { WRITES_UNKNOWN, WRITES_RING, WRITES_INLINE };

struct raw_async {
	struct io_uring ring;
	struct disk_io *held;    /* a read that may be a batch of one */
	enum raw_writes writes;  /* INLINE: the file system takes no RWF_NOWAIT buffered writes */
	bool punt;               /* every request to io_uring's workers (see raw__start_uring) */
	unsigned threads;        /* punt: discards and zeroings running on threads of their own */
};

static void raw__close(struct disk *dk)
{
	struct raw_async *ra = dk->opaque;
	if (ra) {
		while (__atomic_load_n(&ra->threads, __ATOMIC_ACQUIRE)) /* past disk__complete */
			sched_yield();
		io_uring_queue_exit(&ra->ring);
		free(ra);
	}
	close(dk->fd);
	free(dk);
}

/* Reads, writes and flushes go to io_uring; the rare discards and zeroings
 * (fallocate, with fallbacks) run inline. */
#define RAW_RING_ENTRIES 256
#define RAW_FIXED_FILE 0 /* the disk's file, the only one its ring may use */

static struct io_uring_sqe *raw__sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(ring)))
		io_uring_submit(ring); /* the submission ring is full: hand it over */
	return sqe;
}

static void raw__prep(struct disk *dk, struct disk_io *io)
{
	struct io_uring_sqe *sqe = raw__sqe(&((struct raw_async *)dk->opaque)->ring);
	bool one = io->niov == 1; /* no iovec to import */
	if (io->op == DISK_READ && one)
		io_uring_prep_read(sqe, RAW_FIXED_FILE, io->iov->iov_base, (unsigned)io->iov->iov_len, io->off);
	else if (io->op == DISK_READ)
		io_uring_prep_readv(sqe, RAW_FIXED_FILE, io->iov, (unsigned)io->niov, io->off);
	else if (io->op == DISK_WRITE && one)
		io_uring_prep_write(sqe, RAW_FIXED_FILE, io->iov->iov_base, (unsigned)io->iov->iov_len, io->off);
	else if (io->op == DISK_WRITE)
		io_uring_prep_writev(sqe, RAW_FIXED_FILE, io->iov, (unsigned)io->niov, io->off);
	else
		io_uring_prep_fsync(sqe, RAW_FIXED_FILE, IORING_FSYNC_DATASYNC);
	/* the ring's restrictions require its one registered file (raw__ring_init) */
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | (((struct raw_async *)dk->opaque)->punt ? IOSQE_ASYNC : 0));
	io_uring_sqe_set_data(sqe, io);
}

static bool raw__advance(struct disk_io *io, int *res);

/* Local disk file systems, where a buffered write is a copy into the page
 * cache unless writeback is far behind; a network or FUSE file system may
 * take seconds, and keeps its writes on the ring's workers. */
static bool raw__local_fs(int fd)
{
	static const unsigned long local[] = {
		0xef53,     /* ext2, ext3, ext4 */
		0x58465342, /* xfs */
		0x9123683e, /* btrfs */
		0xf2f52010, /* f2fs */
		0x01021994, /* tmpfs */
	};
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return false;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if ((unsigned long)sf.f_type == local[i])
			return true;
	return false;
}

/* A write on a file system without non-blocking buffered writes: at once.
 * The first write finds out which kind of file system this is. True when the
 * write is finished. */
static bool raw__write_now(struct disk *dk, struct disk_io *io, int *res)
{
	struct raw_async *ra = dk->opaque;
	ssize_t r;
	if (ra->writes == WRITES_UNKNOWN) {
		r = pwritev2(dk->fd, io->iov, io->niov, (off_t)io->off, RWF_NOWAIT);
		if (r >= 0 || errno != EOPNOTSUPP || !raw__local_fs(dk->fd)) {
			ra->writes = WRITES_RING;
			if (r <= 0)
				return false; /* the ring waits for it, or reports the error */
			*res = (int)r;
			return raw__advance(io, res);
		}
		ra->writes = WRITES_INLINE;
	}
	r = io->niov == 1 ? pwrite(dk->fd, io->iov->iov_base, io->iov->iov_len, (off_t)io->off)
			  : pwritev(dk->fd, io->iov, io->niov, (off_t)io->off);
	if (r < 0 && errno == EINTR)
		return false; /* the ring retries it */
	*res = r < 0 ? -errno : (int)r;
	return raw__advance(io, res);
}

/* A read alone in its batch is tried with one non-blocking preadv2: cheaper
 * than an io_uring_enter for a page-cache hit. True when it is finished. */
static bool raw__read_now(struct disk *dk, struct disk_io *io, int *res)
{
	ssize_t r = preadv2(dk->fd, io->iov, io->niov, (off_t)io->off, RWF_NOWAIT);
	if (r <= 0) /* would wait, or the end of the file, or an error: the ring decides */
		return false;
	*res = (int)r;
	return raw__advance(io, res);
}

struct raw_aside {
	struct disk *dk;
	struct disk_io *io;
};

static void *raw__aside_run(void *arg)
{
	struct raw_aside a = *(struct raw_aside *)arg;
	free(arg);
	disk__complete(a.dk, a.io, disk__run_sync(a.dk, a.io), true);
	__atomic_sub_fetch(&((struct raw_async *)a.dk->opaque)->threads, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A discard or write-zeroes where the file system may block (punt): its
 * fallocate, or the writes of zeros that stand in for it, would hold the I/O
 * thread, every device and the vCPUs behind it (found by test_slow_disk.py:
 * a FUSE file system without fallocate). They are rare: a thread each.
 * False when no thread could start. */
static bool raw__aside(struct disk *dk, struct disk_io *io)
{
	struct raw_async *ra = dk->opaque;
	struct raw_aside *a = malloc(sizeof(*a));
	if (!a)
		return false;
	*a = (struct raw_aside){dk, io};
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	__atomic_add_fetch(&ra->threads, 1, __ATOMIC_RELAXED);
	pthread_t t;
	int r = pthread_create(&t, &attr, raw__aside_run, a);
	pthread_attr_destroy(&attr);
	if (r) {
		__atomic_sub_fetch(&ra->threads, 1, __ATOMIC_RELAXED);
		free(a);
	}
	return r == 0;
}

static void raw__submit(struct disk *dk, struct disk_io *io)
{
	struct raw_async *ra = dk->opaque;
	int res;
	if (ra->held) {
		raw__prep(dk, ra->held);
		ra->held = NULL;
	}
	if (io->op == DISK_WRITE && ra->writes != WRITES_RING && io->niov <= IOV_MAX &&
	    raw__write_now(dk, io, &res))
		disk__complete(dk, io, res, false);
	else if (io->op == DISK_READ && !ra->punt && !io_uring_sq_ready(&ra->ring) &&
		 io->niov <= IOV_MAX)
		ra->held = io;
	else if (io->op == DISK_READ || io->op == DISK_WRITE || io->op == DISK_FLUSH)
		raw__prep(dk, io);
	else if (!ra->punt || !raw__aside(dk, io))
		disk__complete(dk, io, disk__run_sync(dk, io), false);
}

/* What the kernel finishes inside the submitting call is reaped right after
 * it: the eventfd stays quiet meanwhile (a wake-up for nothing otherwise).
 * Later completions, posted by task work or io_uring's workers, wake it. */
static void raw__submit_ring(struct io_uring *ring)
{
	io_uring_cq_eventfd_toggle(ring, false);
	io_uring_submit(ring);
	io_uring_cq_eventfd_toggle(ring, true);
}

static void raw__commit(struct disk *dk)
{
	struct raw_async *ra = dk->opaque;
	struct disk_io *held = ra->held;
	int res;
	ra->held = NULL;
	if (held && raw__read_now(dk, held, &res))
		disk__complete(dk, held, res, false);
	else if (held)
		raw__prep(dk, held);
	if (io_uring_sq_ready(&ra->ring))
		raw__submit_ring(&ra->ring);
}

/* A short transfer continues where it stopped; true when io is finished. */
static bool raw__advance(struct disk_io *io, int *res)
{
	if (*res < 0 || io->op == DISK_FLUSH)
		return true;
	size_t left = (size_t)*res;
	io->off += left;
	while (io->niov && left >= io->iov->iov_len)
		left -= io->iov->iov_len, io->iov++, io->niov--;
	if (!io->niov) {
		*res = 0;
		return true;
	}
	if (*res == 0) { /* a read past the end: the file shrank under us */
		*res = -EIO;
		return true;
	}
	io->iov->iov_base = (uint8_t *)io->iov->iov_base + left;
	io->iov->iov_len -= left;
	return false;
}

static unsigned raw__reap(struct disk *dk, struct disk_io **out, unsigned max)
{
	struct io_uring *ring = &((struct raw_async *)dk->opaque)->ring;
	struct io_uring_cqe *cqe;
	unsigned got = 0;
	for (;;) {
		bool resubmitted = false;
		while (got < max && io_uring_peek_cqe(ring, &cqe) == 0) {
			struct disk_io *io = io_uring_cqe_get_data(cqe);
			int res = cqe->res;
			io_uring_cqe_seen(ring, cqe);
			if (res == -EINTR || res == -EAGAIN || !raw__advance(io, &res)) {
				raw__prep(dk, io);
				resubmitted = true;
				continue;
			}
			io->result = res;
			out[got++] = io;
		}
		if (!resubmitted)
			return got;
		raw__submit_ring(ring); /* and look again */
	}
}

static const struct disk_ops raw_ops = {
	.readv = raw__readv, .writev = raw__writev, .flush = raw__flush,
	.discard = raw__discard, .write_zeroes = raw__write_zeroes, .close = raw__close,
};

static const struct disk_ops raw_uring_ops = {
	.readv = raw__readv, .writev = raw__writev, .flush = raw__flush,
	.discard = raw__discard, .write_zeroes = raw__write_zeroes, .close = raw__close,
	.submit = raw__submit, .commit = raw__commit, .reap = raw__reap,
};

/* io_uring operations are not system calls: the seccomp filter never sees
 * them. So each disk's ring is born disabled, gets the disk's file as its only
 * registered file and its eventfd, and is restricted before it is enabled:
 * reads, writes and data syncs, on that file only, no more registrations. */
static int raw__ring_register(struct io_uring *ring, unsigned op, void *arg, unsigned n)
{
	return syscall(SYS_io_uring_register, ring->ring_fd, op, arg, n) < 0 ? -errno : 0;
}

int raw__ring_init(struct io_uring *ring, int fd, int event_fd)
{
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED};
	int r = io_uring_queue_init_params(RAW_RING_ENTRIES, ring, &p);
	if (r < 0)
		return r;
	struct io_uring_restriction res[] = {
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READ},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITE},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC},
		{.opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE},
		{.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_ASYNC},
	};
	/* restrictions and enabling as raw calls: Debian's shared liburing 2.3
	 * does not export its wrappers for them (the static library does) */
	if ((r = io_uring_register_files(ring, &fd, 1)) < 0 || (r = io_uring_register_eventfd(ring, event_fd)) < 0 ||
	    (r = raw__ring_register(ring, IORING_REGISTER_RESTRICTIONS, res, sizeof(res) / sizeof(res[0]))) < 0 ||
	    (r = raw__ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0) {
		io_uring_queue_exit(ring);
		return r;
	}
	return 0;
}

static void raw__start_uring(struct disk *dk, const char *path)
{
	struct raw_async *ra = calloc(1, sizeof(*ra));
	int r = ra ? raw__ring_init(&ra->ring, dk->fd, dk->event_fd) : -ENOMEM;
	if (r < 0) {
		free(ra);
		log__warn("%s: no io_uring (%s): requests run one at a time on the I/O thread", path,
			strerror(-r));
		return;
	}
	/* On a file system not known to be a local disk's (FUSE, NFS...), io_uring
	 * may issue a request inline, in the submitting io_uring_enter, and the
	 * file system block there: seen on Linux 6.18 with a FUSE direct-I/O read
	 * (tests/integration/vm/virtio/test_slow_disk.py) that held the I/O thread,
	 * every other device with it, and the vCPU that then wanted the disk's
	 * device lock. Such a file's requests go to io_uring's workers at once
	 * (IOSQE_ASYNC), with no inline attempt. */
	struct stat st;
	ra->punt = fstat(dk->fd, &st) == 0 && S_ISREG(st.st_mode) && !raw__local_fs(dk->fd);
	if (ra->punt)
		ra->writes = WRITES_RING;
	dk->opaque = ra;
	dk->ops = &raw_uring_ops;
}

int disk__open_raw(const char *path, bool read_only, struct disk **out, struct st_err *err)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "cannot open disk image %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err__fail_errno(err, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return err__fail(err, 0, "disk image %s is not a regular file or block device", path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end < 0 ? 0 : (uint64_t)end;
	}
	if (size < 512 || size % 512) {
		close(fd);
		return err__fail(err, 0, "disk image %s: size %llu is not a nonzero multiple of 512",
			       path, (unsigned long long)size);
	}
	struct disk *dk = calloc(1, sizeof(*dk));
	if (!dk) {
		close(fd);
		return err__fail(err, ENOMEM, "disk");
	}
	*dk = (struct disk){.ops = &raw_ops, .size = size, .read_only = read_only, .fd = fd};
	if (disk__init_async(dk, err) < 0) {
		close(fd);
		free(dk);
		return -1;
	}
	raw__start_uring(dk, path);
	*out = dk;
	return 0;
}
