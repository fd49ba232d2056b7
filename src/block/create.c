#include "block/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static int raw_create(const char *path, const struct blk_create_opts *o, struct st_err *err)
{
	cleanup_close int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return err__fail_errno(err, "cannot create '%s'", path);
	if (ftruncate(fd, (off_t)o->size) < 0)
		return err__fail_errno(err, "cannot size '%s'", path);
	const char *p = o->preallocation ? o->preallocation : "off";
	if (!strcmp(p, "falloc") || !strcmp(p, "full")) {
		int r = posix_fallocate(fd, 0, (off_t)o->size);
		if (r)
			return err__fail(err, r, "preallocating '%s'", path);
	} else if (strcmp(p, "off") && strcmp(p, "metadata")) {
		return err__fail(err, 0, "unknown preallocation mode '%s'", p);
	}
	return 0;
}

int block__create(const char *path, const struct blk_create_opts *o, struct st_err *err)
{
	if (!o->format || !strcmp(o->format, "raw")) {
		if (o->backing)
			return err__fail(err, 0, "raw images have no backing file");
		return raw_create(path, o, err);
	}
	if (!strcmp(o->format, "qcow2"))
		return qcow2__create(path, o, err);
	return err__fail(err, 0, "unknown image format '%s'", o->format);
}
