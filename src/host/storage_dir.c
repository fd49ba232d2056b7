/* Dir pools: a directory whose regular files are the volumes, raw or qcow2
 * (as recorded: storage_format.h; never probed). Raw files are handled here
 * directly, qcow2 images through storage_img.c. Volumes are opened relative
 * to the pool directory's fd with names that cannot contain '/' (storage.c
 * checks them), so nothing escapes the pool. */
#include "host/storage_backend.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "host/domdef.h"
#include "host/storage_format.h"
#include "host/storage_img.h"

static int dir_define(struct host *h, const json_t *in, char path[PATH_MAX], struct st_err *err)
{
	(void)h;
	const char *dir = json_string_value(json_object_get(in, "path"));
	if (json_string_value(json_object_get(in, "vg")))
		return err__fail_class(err, EINVAL, "\"vg\" belongs to logical pools");
	if (!dir || dir[0] != '/' || strlen(dir) > PATH_MAX / 2)
		return err__fail_class(err, EINVAL, "\"path\" must be an absolute directory path");
	if (mkdir(dir, 0711) < 0 && errno != EEXIST)
		return err__fail_class(err, EINVAL, "pool directory %s: %s", dir, strerror(errno));
	struct stat sb;
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return err__fail_class(err, EINVAL, "%s is not a directory", dir);
	snprintf(path, PATH_MAX, "%s", dir);
	return 0;
}

static void dir_describe(const struct storage_pool *p, json_t *info)
{
	struct statvfs vfs;
	if (statvfs(p->path, &vfs) < 0) {
		json_object_set_new(info, "state", json_string("inaccessible"));
		return;
	}
	uint64_t cap = (uint64_t)vfs.f_blocks * vfs.f_frsize, avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	json_object_set_new(info, "capacity", json_integer((json_int_t)cap));
	json_object_set_new(info, "available", json_integer((json_int_t)avail));
	json_object_set_new(info, "allocation", json_integer((json_int_t)(cap - (uint64_t)vfs.f_bfree * vfs.f_frsize)));
	json_object_set_new(info, "state", json_string("active"));
}

/* The pool directory as an fd, for the *at() calls. */
static int pool_dirfd(const struct storage_pool *p, struct st_err *err)
{
	int fd = open(p->path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail(err, errno == ENOENT ? EIO : errno, "pool %s: directory %s", p->name, p->path);
	return fd;
}

static int no_volume(const struct storage_pool *p, const char *vol, struct st_err *err)
{
	return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, p->name);
}

static json_t *describe_volume(const struct storage_pool *p, int dfd, const char *vol)
{
	struct stat sb;
	if (fstatat(dfd, vol, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
		return NULL;
	const char *fmt = storage_format__get(p, vol);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", p->path, vol);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", vol, "path", path, "format", fmt, "capacity",
			      (json_int_t)sb.st_size, "allocation", (json_int_t)sb.st_blocks * 512);
	if (!strcmp(fmt, "qcow2")) {
		json_t *info;
		if (storage_img__info(path, "qcow2", &info, NULL) == 0) {
			json_object_set(o, "capacity", json_object_get(info, "virtual-size"));
			json_t *b = json_object_get(info, "backing-filename");
			if (b)
				json_object_set(o, "backing", b);
			json_decref(info);
		}
	}
	return o;
}

static int dir_volume_list(const struct storage_pool *p, json_t **out, struct st_err *err)
{
	int dfd = pool_dirfd(p, err);
	if (dfd < 0)
		return -1;
	DIR *dp = fdopendir(dfd);
	if (!dp) {
		close(dfd);
		return err__fail_errno(err, "pool %s", p->name);
	}
	json_t *list = json_array();
	for (struct dirent *de; (de = readdir(dp));) {
		if (!domdef__name_ok(de->d_name))
			continue;
		json_t *v = describe_volume(p, dirfd(dp), de->d_name);
		if (v)
			json_array_append_new(list, v);
	}
	closedir(dp);
	*out = list;
	return 0;
}

static int dir_volume_info(const struct storage_pool *p, const char *vol, json_t **out, struct st_err *err)
{
	cleanup_close int dfd = pool_dirfd(p, err);
	if (dfd < 0)
		return -1;
	*out = describe_volume(p, dfd, vol);
	return *out ? 0 : no_volume(p, vol, err);
}

/* The pool directory's fd, once vol is a regular file in it (a symlink is not). */
static int volume_dirfd(const struct storage_pool *p, const char *vol, struct st_err *err)
{
	int dfd = pool_dirfd(p, err);
	struct stat sb;
	if (dfd >= 0 && (fstatat(dfd, vol, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))) {
		close(dfd);
		return no_volume(p, vol, err);
	}
	return dfd;
}

static int dir_volume_path(const struct storage_pool *p, const char *vol, char **path, struct st_err *err)
{
	cleanup_close int dfd = volume_dirfd(p, vol, err);
	if (dfd < 0)
		return -1;
	if (asprintf(path, "%s/%s", p->path, vol) < 0)
		return err__fail(err, ENOMEM, "volume path");
	return 0;
}

/* Creates an empty file for a new volume: EEXIST when the name is taken. */
static int create_file(int dfd, const struct storage_pool *p, const char *vol, struct st_err *err)
{
	int fd = openat(dfd, vol, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err__fail(err, errno == EEXIST ? EEXIST : errno, "volume '%s' in pool '%s'%s", vol, p->name,
				 errno == EEXIST ? " already exists" : "");
	return fd;
}

/* A new volume file: raw of bytes, or qcow2 (on backing, if not NULL). */
static int make_volume(const struct storage_pool *p, const char *vol, const char *fmt, uint64_t bytes,
		       const char *backing, const char *backing_fmt, struct st_err *err)
{
	cleanup_close int dfd = pool_dirfd(p, err);
	if (dfd < 0)
		return -1;
	cleanup_close int fd = create_file(dfd, p, vol, err);
	if (fd < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", p->path, vol);
	int rc = !strcmp(fmt, "raw") ? (ftruncate(fd, (off_t)bytes) < 0 ? err__fail_errno(err, "truncate") : 0)
				     : storage_img__create_qcow2(path, bytes, backing, backing_fmt, err);
	if (rc < 0)
		unlinkat(dfd, vol, 0);
	return rc;
}

static int dir_volume_create(const struct storage_pool *p, const char *vol, const char *fmt, uint64_t bytes,
			     struct st_err *err)
{
	return make_volume(p, vol, fmt, bytes, NULL, NULL, err);
}

/* raw: copy_file_range keeps holes on filesystems that reflink or share
 * extents; the size is set first so a sparse tail stays sparse */
static int copy_raw(int src, int dst, off_t size, const char *vol, struct st_err *err)
{
	if (ftruncate(dst, size) < 0)
		return err__fail_errno(err, "truncate");
	for (off_t off = 0; off < size;) {
		ssize_t n = copy_file_range(src, &off, dst, &(off_t){off}, (size_t)(size - off), 0);
		if (n <= 0)
			return err__fail_errno(err, "copy %s", vol);
	}
	return 0;
}

static int dir_volume_clone(const struct storage_pool *p, const char *vol, const char *fmt, const char *name,
			    bool overlay, struct st_err *err)
{
	cleanup_close int dfd = pool_dirfd(p, err);
	if (dfd < 0)
		return -1;
	cleanup_close int src = openat(dfd, vol, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (src < 0 || fstat(src, &sb) < 0 || !S_ISREG(sb.st_mode))
		return no_volume(p, vol, err);
	cleanup_close int dst = create_file(dfd, p, name, err);
	if (dst < 0)
		return -1;
	char spath[PATH_MAX], dpath[PATH_MAX];
	snprintf(spath, sizeof(spath), "%s/%s", p->path, vol);
	snprintf(dpath, sizeof(dpath), "%s/%s", p->path, name);
	int rc;
	if (overlay)
		rc = storage_img__create_qcow2(dpath, 0, spath, fmt, err);
	else if (!strcmp(fmt, "qcow2"))
		rc = storage_img__convert_to_qcow2(spath, fmt, dpath, err);
	else
		rc = copy_raw(src, dst, sb.st_size, vol, err);
	if (rc < 0)
		unlinkat(dfd, name, 0);
	return rc;
}

static int dir_volume_overlay(const struct storage_pool *p, const char *vol, const char *backing,
			      const char *backing_fmt, uint64_t bytes, struct st_err *err)
{
	return make_volume(p, vol, "qcow2", bytes, backing, backing_fmt, err);
}

static int dir_volume_resize(const struct storage_pool *p, const char *vol, const json_t *info, uint64_t bytes,
			     struct st_err *err)
{
	(void)p;
	const char *path = json_string_value(json_object_get(info, "path"));
	if (!strcmp(json_string_value(json_object_get(info, "format")), "qcow2"))
		return storage_img__resize_qcow2(path, bytes, err);
	if (truncate(path, (off_t)bytes) < 0)
		return err__fail_errno(err, "resize %s", vol);
	return 0;
}

static int dir_volume_delete(const struct storage_pool *p, const char *vol, struct st_err *err)
{
	cleanup_close int dfd = volume_dirfd(p, vol, err);
	if (dfd < 0)
		return -1;
	if (unlinkat(dfd, vol, 0) < 0)
		return err__fail_errno(err, "delete %s", vol);
	return 0;
}

/* The new content's file: unnamed where the file system can (O_TMPFILE,
 * gone by itself even if stratad is killed), else a name volume names
 * cannot have (they never start with '.'). */
static int upload_file(int dfd, const char *vol, struct storage_upload *u, struct st_err *err)
{
	u->tmp[0] = 0;
	u->fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (u->fd >= 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err__fail_errno(err, "upload into %s", vol);
	for (unsigned i = 0; i < 100; i++) {
		snprintf(u->tmp, sizeof(u->tmp), ".upload-%d-%u-%llx", (int)getpid(), i,
			 (unsigned long long)util__now_ns());
		u->fd = openat(dfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (u->fd >= 0 || errno != EEXIST)
			break;
	}
	if (u->fd < 0) {
		u->tmp[0] = 0;
		return err__fail_errno(err, "upload into %s", vol);
	}
	return 0;
}

static int dir_volume_upload_begin(const struct storage_pool *p, const char *vol, struct storage_upload *u,
				   struct st_err *err)
{
	u->fd = -1;
	u->dfd = pool_dirfd(p, err);
	if (u->dfd < 0)
		return -1;
	struct stat sb;
	if (fstatat(u->dfd, vol, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(sb.st_mode)) {
		err__fail_class(err, EINVAL, "volume '%s' in pool '%s' is not a regular file", vol, p->name);
	} else if (upload_file(u->dfd, vol, u, err) == 0)
		return 0;
	close(u->dfd);
	u->dfd = -1;
	return -1;
}

/* On disk first (the data, then the name, then the directory entry), so a
 * crash leaves either the old volume or the whole new one. */
static int dir_volume_upload_commit(const struct storage_pool *p, const char *vol, struct storage_upload *u,
				    struct st_err *err)
{
	int rc = fsync(u->fd) < 0 ? err__fail_errno(err, "upload into %s/%s", p->name, vol) : 0;
	if (rc == 0 && !u->tmp[0]) {
		char proc[64];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", u->fd);
		snprintf(u->tmp, sizeof(u->tmp), ".upload-%d-%llx", (int)getpid(), (unsigned long long)util__now_ns());
		if (linkat(AT_FDCWD, proc, u->dfd, u->tmp, AT_SYMLINK_FOLLOW) < 0) {
			rc = err__fail_errno(err, "upload into %s/%s", p->name, vol);
			u->tmp[0] = 0;
		}
	}
	if (rc == 0 && renameat(u->dfd, u->tmp, u->dfd, vol) < 0)
		rc = err__fail_errno(err, "upload into %s/%s", p->name, vol);
	else if (rc == 0) {
		u->tmp[0] = 0; /* it is the volume now */
		if (fsync(u->dfd) < 0)
			rc = err__fail_errno(err, "upload into %s/%s", p->name, vol);
	}
	storage__volume_upload_abort(u);
	return rc;
}

static int dir_volume_open_download(const struct storage_pool *p, const char *vol, uint64_t *size,
				    struct st_err *err)
{
	cleanup_close int dfd = pool_dirfd(p, err);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, vol, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return no_volume(p, vol, err);
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}

static const char *const dir_keys[] = {"path", NULL};

/* The pool directory and its missing parents. */
static int dir_build(const struct storage_pool *p, struct st_err *err)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", p->path);
	for (char *s = path + 1;; s++) {
		bool end = !*s;
		if (*s != '/' && !end)
			continue;
		*s = 0;
		if (mkdir(path, 0711) < 0 && errno != EEXIST)
			return err__fail_class(err, EINVAL, "pool %s: mkdir %s: %s", p->name, path, strerror(errno));
		if (end)
			break;
		*s = '/';
	}
	struct stat sb;
	if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return err__fail_class(err, EINVAL, "pool %s: %s is not a directory", p->name, path);
	return 0;
}

const struct storage_backend storage_dir__backend = {
	.type = "dir",
	.keys = dir_keys,
	.define = dir_define,
	.describe = dir_describe,
	.volume_list = dir_volume_list,
	.volume_info = dir_volume_info,
	.volume_path = dir_volume_path,
	.volume_create = dir_volume_create,
	.volume_clone = dir_volume_clone,
	.volume_overlay = dir_volume_overlay,
	.volume_resize = dir_volume_resize,
	.volume_delete = dir_volume_delete,
	.volume_upload_begin = dir_volume_upload_begin,
	.volume_upload_commit = dir_volume_upload_commit,
	.volume_open_download = dir_volume_open_download,
	.build = dir_build,
};
