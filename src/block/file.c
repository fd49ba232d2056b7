/* The drivers' file I/O. With O_DIRECT (cache=none) a request whose buffer,
 * offset or length is not aligned goes through an aligned bounce buffer;
 * writes read-modify-write the blocks at their edges under a mutex, so two
 * unaligned writes sharing a block do not undo each other. */
#include "block/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static bool power_of_two(uint32_t v)
{
	return v && !(v & (v - 1));
}

void block__fd_dio_align(int fd, uint32_t *mem_align, uint32_t *off_align)
{
	uint32_t mem = 0, off = 0;
	struct statx sx;
	struct stat st;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
		mem = sx.stx_dio_mem_align;
		off = sx.stx_dio_offset_align;
	} else if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		int sector;
		if (ioctl(fd, BLKSSZGET, &sector) == 0 && sector > 0)
			mem = off = (uint32_t)sector;
	}
	/* unknown, or odd enough not to trust: the common page-sized alignment */
	*mem_align = power_of_two(mem) ? mem : BLK_DIO_ALIGN;
	*off_align = power_of_two(off) ? off : BLK_DIO_ALIGN;
}

void block__file_dio_align(struct blk *b)
{
	block__fd_dio_align(b->fd, &b->dio_mem_align, &b->dio_off_align);
}

static bool aligned(const struct blk *b, const void *buf, uint64_t len, uint64_t off)
{
	return !b->direct || (!((uintptr_t)buf % b->dio_mem_align) && !(len % b->dio_off_align) &&
			      !(off % b->dio_off_align));
}

/* A bounce buffer for the aligned span of n bytes. */
static void *bounce_alloc(const struct blk *b, uint64_t n)
{
	size_t a = ST_MAX(ST_MAX(b->dio_mem_align, b->dio_off_align), BLK_DIO_ALIGN);
	return aligned_alloc(a, ST_ALIGN_UP((size_t)n, a));
}

void *block__alloc_io(size_t len)
{
	return aligned_alloc(BLK_DIO_ALIGN, ST_ALIGN_UP(len ? len : 1, (size_t)BLK_DIO_ALIGN));
}

/* Reads the aligned span [a, a + n) into tmp, zeros past the end of the file. */
static int64_t read_span(struct blk *b, uint8_t *tmp, uint64_t n, uint64_t a, struct st_err *err)
{
	uint64_t got = 0;
	while (got < n) {
		ssize_t r = pread(b->fd, tmp + got, n - got, (off_t)(a + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return err__fail_errno(err, "read at offset %llu", (unsigned long long)(a + got));
		if (r == 0)
			break;
		got += (uint64_t)r;
	}
	memset(tmp + got, 0, n - got);
	return (int64_t)got;
}

int64_t block__file_pread_upto(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	if (aligned(b, buf, len, off)) {
		ssize_t n;
		do
			n = pread(b->fd, buf, len, (off_t)off);
		while (n < 0 && errno == EINTR);
		return n < 0 ? err__fail_errno(err, "read at offset %llu", (unsigned long long)off) : n;
	}
	uint64_t al = b->dio_off_align, a = off & ~(al - 1), e = ST_ALIGN_UP(off + len, al);
	cleanup_free uint8_t *tmp = bounce_alloc(b, e - a);
	if (!tmp)
		return err__fail(err, ENOMEM, "I/O buffer");
	int64_t got = read_span(b, tmp, e - a, a, err);
	if (got < 0)
		return -1;
	uint64_t avail = (uint64_t)got > off - a ? ST_MIN(len, (uint64_t)got - (off - a)) : 0;
	memcpy(buf, tmp + (off - a), avail);
	return (int64_t)avail;
}

int block__file_pread(struct blk *b, void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	if (aligned(b, buf, len, off))
		return util__pread_all(b->fd, buf, len, (off_t)off, err);
	int64_t n = block__file_pread_upto(b, buf, len, off, err);
	if (n < 0)
		return -1;
	if ((uint64_t)n < len)
		return err__fail(err, 0, "unexpected end of file at offset %llu", (unsigned long long)(off + (uint64_t)n));
	return 0;
}

static int bounce_write(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	uint64_t al = b->dio_off_align, a = off & ~(al - 1), e = ST_ALIGN_UP(off + len, al);
	cleanup_free uint8_t *tmp = bounce_alloc(b, e - a);
	if (!tmp)
		return err__fail(err, ENOMEM, "I/O buffer");
	bool head = off != a, tail = off + len != e;
	int64_t got = (int64_t)(e - a);
	if (head || tail) {
		/* only the edge blocks matter, but one read keeps it simple and they are rare */
		got = read_span(b, tmp, e - a, a, err);
		if (got < 0)
			return -1;
	}
	memcpy(tmp + (off - a), buf, len);
	if (util__pwrite_all(b->fd, tmp, e - a, (off_t)a, err) < 0)
		return -1;
	/* the span ran past the end of the file: the file ends where the data does */
	uint64_t end = ST_MAX(a + (uint64_t)got, off + len);
	if (end < e && ftruncate(b->fd, (off_t)end) < 0)
		return err__fail_errno(err, "resize after a write at offset %llu", (unsigned long long)off);
	return 0;
}

int block__file_pwrite(struct blk *b, const void *buf, uint64_t len, uint64_t off, struct st_err *err)
{
	if (aligned(b, buf, len, off))
		return util__pwrite_all(b->fd, buf, len, (off_t)off, err);
	pthread_mutex_lock(&b->bounce_lock);
	int r = bounce_write(b, buf, len, off, err);
	pthread_mutex_unlock(&b->bounce_lock);
	return r;
}
