#include "vm/virtio/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void raw__close(struct disk *dk)
{
	close(dk->fd);
	free(dk);
}

static const struct disk_ops raw_ops = {
	.readv = raw__readv, .writev = raw__writev, .flush = raw__flush,
	.discard = raw__discard, .write_zeroes = raw__write_zeroes, .close = raw__close,
};

int disk__open_raw(const char *path, bool read_only, struct disk **out, struct st_err *err)
{
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0)
		return st_fail_errno(err, "cannot open disk image %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return st_fail_errno(err, "stat %s", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		close(fd);
		return st_fail(err, 0, "disk image %s is not a regular file or block device", path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);
		size = end < 0 ? 0 : (uint64_t)end;
	}
	if (size < 512 || size % 512) {
		close(fd);
		return st_fail(err, 0, "disk image %s: size %llu is not a nonzero multiple of 512",
			       path, (unsigned long long)size);
	}
	struct disk *dk = calloc(1, sizeof(*dk));
	if (!dk) {
		close(fd);
		return st_fail(err, ENOMEM, "disk");
	}
	*dk = (struct disk){.ops = &raw_ops, .size = size, .read_only = read_only, .fd = fd};
	*out = dk;
	return 0;
}
