#ifndef STRATA_COMMON_UTIL_H
#define STRATA_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

#define ST_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ST_ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ST_MAX(a, b) ((a) > (b) ? (a) : (b))
/* The struct of type that holds member at ptr. */
#define ST_CONTAINER_OF(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* A random (version 4) UUID, lower-case with dashes, from the kernel's CSPRNG. */
int util__uuid4(char out[37], struct st_err *err);

/* Strict unsigned parse: the whole string must be a number in [0, max]. */
int util__parse_u64(const char *s, uint64_t max, uint64_t *out, struct st_err *err);

/* Size with optional suffix k/K, m/M, g/G, t/T (powers of 1024); a bare number
 * is multiplied by default_unit (1 for bytes, 1<<20 for "MiB by default"). */
int util__parse_size(const char *s, uint64_t default_unit, uint64_t *out, struct st_err *err);

/* Full-length I/O that retries on EINTR and short transfers. */
int util__write_all(int fd, const void *buf, size_t len, struct st_err *err);
int util__pread_all(int fd, void *buf, size_t len, off_t off, struct st_err *err);
int util__pwrite_all(int fd, const void *buf, size_t len, off_t off, struct st_err *err);

/* Opens a regular file read-only (close-on-exec); what names it in errors.
 * Returns the fd and its size, or -1 with "what PATH: reason". */
int util__open_regular(const char *what, const char *path, uint64_t *size, struct st_err *err);

/* Read a whole regular file into a malloc'd buffer (NUL-terminated for
 * convenience; *len excludes the NUL). Refuses files above max_len. */
/* s percent-encoded for a URL's path segment or query value (all but
 * A-Z a-z 0-9 - _ . ~ +); malloc'd, NULL on ENOMEM. */
char *util__url_escape(const char *s);
/* "xx:xx:xx:xx:xx:xx" (hex digits, either case) and not a group address. */
bool util__mac_unicast(const char *mac);
int util__read_file(const char *path, size_t max_len, char **out, size_t *len, struct st_err *err);

/* A process's start time (clock ticks since boot, /proc/PID/stat field 22); 0 when
 * it does not exist or is a zombie. With the pid it names one process for good. */
uint64_t util__proc_starttime(pid_t pid);

/* Monotonic clock in nanoseconds. */
uint64_t util__now_ns(void);

#endif
