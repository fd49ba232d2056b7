#include "common/util.h"
#include "common/cleanup.h"

#include <ctype.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int util__parse_u64(const char *s, uint64_t max, uint64_t *out, struct st_err *err)
{
	if (!s || !*s || !isdigit((unsigned char)*s))
		return err__fail(err, 0, "'%s' is not a number", s ? s : "");
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return err__fail(err, 0, "'%s' is not a number", s);
	if (v > max)
		return err__fail(err, 0, "%s is out of range (max %llu)", s, (unsigned long long)max);
	*out = v;
	return 0;
}

int util__parse_size(const char *s, uint64_t default_unit, uint64_t *out, struct st_err *err)
{
	if (!s || !isdigit((unsigned char)*s))
		return err__fail(err, 0, "'%s' is not a size", s ? s : "");
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return err__fail(err, 0, "'%s' is not a size", s);
	uint64_t unit = default_unit;
	if (*end) {
		const char *suffixes = "bkmgtp";
		const char *p = strchr(suffixes, tolower((unsigned char)*end));
		if (!p || (end[1] && strcasecmp(end + 1, "ib") && strcasecmp(end + 1, "b")))
			return err__fail(err, 0, "'%s' has an unknown size suffix", s);
		unit = 1ull << (10 * (p - suffixes));
	}
	if (unit && v > UINT64_MAX / unit)
		return err__fail(err, 0, "'%s' is too large", s);
	*out = v * unit;
	return 0;
}

int util__write_all(int fd, const void *buf, size_t len, struct st_err *err)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err__fail_errno(err, "write");
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int util__pread_all(int fd, void *buf, size_t len, off_t off, struct st_err *err)
{
	char *p = buf;
	while (len) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err__fail_errno(err, "read at offset %lld", (long long)off);
		}
		if (n == 0)
			return err__fail(err, 0, "unexpected end of file at offset %lld", (long long)off);
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int util__pwrite_all(int fd, const void *buf, size_t len, off_t off, struct st_err *err)
{
	const char *p = buf;
	while (len) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err__fail_errno(err, "write at offset %lld", (long long)off);
		}
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int util__open_regular(const char *what, const char *path, uint64_t *size, struct st_err *err)
{
	const char *sep = *what ? " " : "";
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "%s%s%s", what, sep, path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err__fail_errno(err, "%s%s%s", what, sep, path);
	if (!S_ISREG(st.st_mode))
		return err__fail(err, 0, "%s%s%s is not a regular file", what, sep, path);
	*size = (uint64_t)st.st_size;
	return cleanup__steal_fd(&fd);
}

char *util__url_escape(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *p = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || strchr("-_.~+", ch))
			*p++ = (char)ch;
		else
			p += sprintf(p, "%%%02X", ch);
	}
	*p = 0;
	return out;
}

bool util__mac_unicast(const char *m)
{
	if (!m || strlen(m) != 17)
		return false;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? m[i] != ':' : !isxdigit((unsigned char)m[i]))
			return false;
	return !(strtoul(m, NULL, 16) & 1); /* the first octet's group bit */
}

int util__read_file(const char *path, size_t max_len, char **out, size_t *len, struct st_err *err)
{
	uint64_t size;
	cleanup_close int fd = util__open_regular("", path, &size, err);
	if (fd < 0)
		return -1;
	if (size > max_len)
		return err__fail(err, 0, "%s is too large (%llu bytes, limit %zu)", path,
			       (unsigned long long)size, max_len);
	cleanup_free char *buf = malloc((size_t)size + 1);
	if (!buf)
		return err__fail(err, ENOMEM, "reading %s", path);
	if (util__pread_all(fd, buf, (size_t)size, 0, err) < 0)
		return err__prefix(err, "%s", path);
	buf[size] = 0;
	*len = (size_t)size;
	*out = cleanup__steal_ptr(buf);
	return 0;
}

uint64_t util__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t util__proc_starttime(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')' */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	if (p[2] == 'Z' || p[2] == 'X')
		return 0;
	p += 2; /* field 3, the state; starttime is field 22 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p ? strtoull(p, NULL, 10) : 0;
}

int util__uuid4(char out[37], struct st_err *err)
{
	uint8_t b[16];
	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return err__fail_class(err, EIO, "no random bytes");
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
	return 0;
}
