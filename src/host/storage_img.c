/* TEMPORARY BACKEND (see storage_img.h): qemu-img from Debian's qemu-utils. */
#include "host/storage_img.h"
#include "common/cleanup.h"
#include "host/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define QEMU_IMG "qemu-img"

int img__create_qcow2(const char *path, uint64_t size, const char *backing, const char *backing_fmt,
		      struct st_err *err)
{
	char sz[32];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	if (backing) {
		const char *argv[] = {QEMU_IMG, "create", "-q", "-f", "qcow2", "-b", backing, "-F", backing_fmt, path,
				      size ? sz : NULL, NULL};
		return helper__run(argv, NULL, err);
	}
	const char *argv[] = {QEMU_IMG, "create", "-q", "-f", "qcow2", path, sz, NULL};
	return helper__run(argv, NULL, err);
}

int img__resize_qcow2(const char *path, uint64_t size, struct st_err *err)
{
	char sz[32];
	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)size);
	const char *argv[] = {QEMU_IMG, "resize", "-q", "-f", "qcow2", path, sz, NULL};
	return helper__run(argv, NULL, err);
}

int img__convert_to_qcow2(const char *src, const char *src_fmt, const char *dst, struct st_err *err)
{
	const char *argv[] = {QEMU_IMG, "convert", "-q", "-f", src_fmt, "-O", "qcow2", src, dst, NULL};
	return helper__run(argv, NULL, err);
}

int img__info(const char *path, const char *fmt, json_t **out, struct st_err *err)
{
	const char *argv[] = {QEMU_IMG, "info", "-U", "--output=json", "-f", fmt, path, NULL};
	cleanup_free char *text = NULL;
	if (helper__run(argv, &text, err) < 0)
		return -1;
	json_error_t jerr;
	*out = json_loads(text, 0, &jerr);
	if (!*out)
		return st_fail(err, 0, "qemu-img info: unreadable output: %s", jerr.text);
	return 0;
}

int img__check(const char *path, struct st_err *err)
{
	const char *argv[] = {QEMU_IMG, "check", "-q", "-f", "qcow2", path, NULL};
	return helper__run(argv, NULL, err);
}
