#include "host/storage.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "host/helper.h"
#include "common/util.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/storage_img.h"
#include "host/storage_lvm.h"
#include "block/block.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define VOLUME_MAX_BYTES (1ull << 50)

static json_t *pool__find(struct host *h, const char *name, struct st_err *err)
{
	json_t *list = store__pool_list(h->store);
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p) {
		if (!strcmp(json_string_value(json_object_get(p, "name")), name)) {
			json_incref(p);
			json_decref(list);
			return p;
		}
	}
	json_decref(list);
	err__fail_class(err, ENOENT, "no storage pool named '%s'", name);
	return NULL;
}

/* The volume group of a logical pool (malloc'd; its path is /dev/VG), or
 * NULL for a dir pool; fails when there is no such pool. */
static int pool__vg(struct host *h, const char *pool, char **vg, struct st_err *err)
{
	*vg = NULL;
	json_t *p = pool__find(h, pool, err);
	if (!p)
		return -1;
	if (!strcmp(json_string_value(json_object_get(p, "type")), "logical"))
		*vg = strdup(json_string_value(json_object_get(p, "path")) + strlen("/dev/"));
	json_decref(p);
	return 0;
}

static int lvm_unsupported(const char *what, struct st_err *err)
{
	return err__fail_class(err, EINVAL, "%s is not supported for logical pools", what);
}

/* The pool directory as an O_PATH fd: volumes are then opened relative to
 * it with names that cannot contain '/', so nothing escapes the pool. */
static int pool__dirfd(struct host *h, const char *pool, char **dir, struct st_err *err)
{
	json_t *p = pool__find(h, pool, err);
	if (!p)
		return -1;
	const char *path = json_string_value(json_object_get(p, "path"));
	int fd = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		err__fail(err, errno == ENOENT ? EIO : errno, "pool %s: directory %s", pool, path);
	else if (dir)
		*dir = strdup(path);
	json_decref(p);
	return fd;
}

static int check_vol_name(const char *vol, struct st_err *err)
{
	if (!vol || !domdef__name_ok(vol))
		return err__fail_class(err, EINVAL, "volume name \"%s\" is invalid (1-%d of A-Z a-z 0-9 _ . + -, not "
			       "starting with . or -)", vol ? vol : "", DOMDEF_NAME_MAX);
	return 0;
}

/* The pool's directory fd for an operation on volume vol (name checked). */
static int volume__pool_dirfd(struct host *h, const char *pool, const char *vol, char **dir, struct st_err *err)
{
	if (check_vol_name(vol, err) < 0)
		return -1;
	return pool__dirfd(h, pool, dir, err);
}

static int volume__in_use(struct host *h, const char *pool, const char *vol, struct st_err *err);

static int parse_capacity(const json_t *v, uint64_t *out, struct st_err *err)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0)
		*out = (uint64_t)json_integer_value(v);
	else if (json_is_string(v)) {
		if (util__parse_size(json_string_value(v), 1, out, err) < 0)
			return err__fail_class(err, EINVAL, "capacity: %s", err->msg);
	} else
		return err__fail_class(err, EINVAL, "\"capacity\" is required: bytes, or a size like \"10G\"");
	if (*out == 0 || *out > VOLUME_MAX_BYTES)
		return err__fail_class(err, EINVAL, "capacity must be between 1 byte and 1 PiB");
	return 0;
}

static int check_keys(const json_t *in, const char *const *allowed, struct st_err *err)
{
	if (json_util__check_keys(in, "request", allowed, err) < 0) {
		err->errnum = EINVAL;
		return -1;
	}
	return 0;
}

/* The block layer's probe; an unreadable header is taken for raw. */
static const char *detect_format(int fd)
{
	const char *fmt;
	return block__probe_fd(fd, &fmt, NULL) < 0 ? "raw" : fmt;
}

int storage__pool_define(struct host *h, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "type", "path", "vg", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *type = json_string_value(json_object_get(in, "type"));
	const char *path = json_string_value(json_object_get(in, "path"));
	const char *vg = json_string_value(json_object_get(in, "vg"));
	if (!name || !domdef__name_ok(name))
		return err__fail_class(err, EINVAL, "pool name \"%s\" is invalid", name ? name : "");
	bool logical = type && !strcmp(type, "logical");
	if (type && strcmp(type, "dir") && !logical)
		return err__fail_class(err, EINVAL, "pool type \"%s\" is not supported (dir, logical)", type);
	json_t *existing = pool__find(h, name, NULL);
	if (existing) {
		json_decref(existing);
		return err__fail_class(err, EEXIST, "storage pool '%s' already exists", name);
	}
	char vgpath[PATH_MAX];
	if (logical) {
		if (path || !vg || !domdef__name_ok(vg))
			return err__fail_class(err, EINVAL, "a logical pool names its volume group: {\"vg\": NAME}, no \"path\"");
		json_t *probe = json_object();
		int rc = lvm__pool_usage(h, vg, probe, err);
		json_decref(probe);
		if (rc < 0)
			return -1;
		snprintf(vgpath, sizeof(vgpath), "/dev/%s", vg);
		path = vgpath;
	} else {
		if (vg)
			return err__fail_class(err, EINVAL, "\"vg\" belongs to logical pools");
		if (!path || path[0] != '/' || strlen(path) > PATH_MAX / 2)
			return err__fail_class(err, EINVAL, "\"path\" must be an absolute directory path");
		if (mkdir(path, 0711) < 0 && errno != EEXIST)
			return err__fail_class(err, EINVAL, "pool directory %s: %s", path, strerror(errno));
		struct stat sb;
		if (stat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
			return err__fail_class(err, EINVAL, "%s is not a directory", path);
	}
	if (store__pool_insert(h->store, name, logical ? "logical" : "dir", path, err) < 0)
		return -1;
	events__emit("pool-defined", "pool", name, NULL, "created");
	return storage__pool_info(h, name, out, err);
}

int storage__pool_undefine(struct host *h, const char *pool, struct st_err *err)
{
	json_t *p = pool__find(h, pool, err);
	if (!p)
		return -1;
	json_decref(p);
	for (struct dom *d = h->doms; d; d = d->next) {
		size_t i;
		json_t *disk;
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *dp = json_string_value(json_object_get(disk, "pool"));
			if (dp && !strcmp(dp, pool))
				return err__fail_class(err, EBUSY, "pool '%s' is used by domain '%s'", pool, d->name);
		}
	}
	if (store__pool_delete(h->store, pool, err) < 0)
		return -1;
	events__emit("pool-undefined", "pool", pool, NULL, "deleted");
	return 0;
}

json_t *storage__pool_list(struct host *h)
{
	json_t *list = store__pool_list(h->store);
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p) {
		json_t *info;
		if (storage__pool_info(h, json_string_value(json_object_get(p, "name")), &info, NULL) == 0)
			json_array_set_new(list, i, info);
	}
	return list;
}

int storage__pool_info(struct host *h, const char *pool, json_t **out, struct st_err *err)
{
	json_t *p = pool__find(h, pool, err);
	if (!p)
		return -1;
	struct statvfs vfs;
	const char *path = json_string_value(json_object_get(p, "path"));
	bool logical = !strcmp(json_string_value(json_object_get(p, "type")), "logical");
	if (logical) {
		json_object_set_new(p, "vg", json_string(path + strlen("/dev/")));
		json_object_set_new(p, "state", json_string(lvm__pool_usage(h, path + strlen("/dev/"), p, NULL) == 0
								  ? "active" : "inaccessible"));
	} else if (statvfs(path, &vfs) == 0) {
		uint64_t cap = (uint64_t)vfs.f_blocks * vfs.f_frsize, avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		json_object_set_new(p, "capacity", json_integer((json_int_t)cap));
		json_object_set_new(p, "available", json_integer((json_int_t)avail));
		json_object_set_new(p, "allocation",
				    json_integer((json_int_t)(cap - (uint64_t)vfs.f_bfree * vfs.f_frsize)));
		json_object_set_new(p, "state", json_string("active"));
	} else {
		json_object_set_new(p, "state", json_string("inaccessible"));
	}
	json_t *vols;
	if (storage__volume_list(h, pool, &vols, NULL) == 0) {
		uint64_t used = 0;
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v)
			used += (uint64_t)json_integer_value(json_object_get(v, "allocation"));
		json_object_set_new(p, "volumes", json_integer((json_int_t)json_array_size(vols)));
		json_object_set_new(p, "volumes_allocation", json_integer((json_int_t)used));
		json_decref(vols);
	}
	*out = p;
	return 0;
}

int storage__volume_path(struct host *h, const char *pool, const char *vol, char **path, struct st_err *err)
{
	cleanup_free char *vg = NULL;
	if (check_vol_name(vol, err) < 0 || pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg) {
		json_t *info;
		if (lvm__volume_info(h, pool, vg, vol, &info, err) < 0)
			return -1;
		*path = strdup(json_string_value(json_object_get(info, "path")));
		json_decref(info);
		return *path ? 0 : err__fail(err, ENOMEM, "volume path");
	}
	cleanup_free char *dir = NULL;
	cleanup_close int dfd = volume__pool_dirfd(h, pool, vol, &dir, err);
	if (dfd < 0)
		return -1;
	struct stat sb;
	if (fstatat(dfd, vol, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
		return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
	if (asprintf(path, "%s/%s", dir, vol) < 0)
		return err__fail(err, ENOMEM, "volume path");
	return 0;
}

static json_t *volume__describe(int dfd, const char *dir, const char *vol)
{
	cleanup_close int fd = openat(dfd, vol, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
		return NULL;
	const char *fmt = detect_format(fd);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, vol);
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

int storage__volume_list(struct host *h, const char *pool, json_t **out, struct st_err *err)
{
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg)
		return lvm__volume_list(h, vg, out, err);
	cleanup_free char *dir = NULL;
	int dfd = pool__dirfd(h, pool, &dir, err);
	if (dfd < 0)
		return -1;
	DIR *dp = fdopendir(dfd);
	if (!dp) {
		close(dfd);
		return err__fail_errno(err, "pool %s", pool);
	}
	json_t *list = json_array();
	for (struct dirent *de; (de = readdir(dp));) {
		if (!domdef__name_ok(de->d_name))
			continue;
		json_t *v = volume__describe(dirfd(dp), dir, de->d_name);
		if (v)
			json_array_append_new(list, v);
	}
	closedir(dp);
	*out = list;
	return 0;
}

int storage__volume_info(struct host *h, const char *pool, const char *vol, json_t **out, struct st_err *err)
{
	cleanup_free char *vg = NULL;
	if (check_vol_name(vol, err) < 0 || pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg)
		return lvm__volume_info(h, pool, vg, vol, out, err);
	cleanup_free char *dir = NULL;
	cleanup_close int dfd = volume__pool_dirfd(h, pool, vol, &dir, err);
	if (dfd < 0)
		return -1;
	*out = volume__describe(dfd, dir, vol);
	if (!*out)
		return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
	return 0;
}

/* Creates an empty file for a new volume: EEXIST when the name is taken. */
static int volume__create_file(int dfd, const char *pool, const char *vol, struct st_err *err)
{
	int fd = openat(dfd, vol, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err__fail(err, errno == EEXIST ? EEXIST : errno, "volume '%s' in pool '%s'%s", vol, pool,
			       errno == EEXIST ? " already exists" : "");
	return fd;
}

int storage__volume_create(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "capacity", "format", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	const char *vol = json_string_value(json_object_get(in, "name"));
	const char *fmt = json_string_value(json_object_get(in, "format"));
	uint64_t cap;
	if (check_vol_name(vol, err) < 0 || parse_capacity(json_object_get(in, "capacity"), &cap, err) < 0)
		return -1;
	if (!fmt)
		fmt = "raw";
	if (strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
		return err__fail_class(err, EINVAL, "format \"%s\" is not raw or qcow2", fmt);
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg && strcmp(fmt, "raw"))
		return err__fail_class(err, EINVAL, "logical volumes are raw");
	if (vg) {
		json_t *existing;
		if (lvm__volume_info(h, pool, vg, vol, &existing, NULL) == 0) {
			json_decref(existing);
			return err__fail_class(err, EEXIST, "volume '%s' in pool '%s' already exists", vol, pool);
		}
		if (lvm__volume_create(h, vg, vol, cap, err) < 0)
			return -1;
		events__emit("volume-created", "volume", vol, NULL, pool);
		return lvm__volume_info(h, pool, vg, vol, out, err);
	}
	cleanup_free char *dir = NULL;
	cleanup_close int dfd = pool__dirfd(h, pool, &dir, err);
	if (dfd < 0)
		return -1;
	cleanup_close int fd = volume__create_file(dfd, pool, vol, err);
	if (fd < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, vol);
	int rc = !strcmp(fmt, "raw") ? (ftruncate(fd, (off_t)cap) < 0 ? err__fail_errno(err, "truncate") : 0)
				     : storage_img__create_qcow2(path, cap, NULL, NULL, err);
	if (rc < 0) {
		unlinkat(dfd, vol, 0);
		return -1;
	}
	events__emit("volume-created", "volume", vol, NULL, pool);
	return storage__volume_info(h, pool, vol, out, err);
}

int storage__volume_clone(struct host *h, const char *pool, const char *vol, const json_t *in, json_t **out,
			  struct st_err *err)
{
	static const char *const keys[] = {"name", "mode", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *mode = json_string_value(json_object_get(in, "mode"));
	if (!mode)
		mode = "copy";
	if (strcmp(mode, "copy") && strcmp(mode, "overlay"))
		return err__fail_class(err, EINVAL, "mode \"%s\" is not copy or overlay", mode);
	if (check_vol_name(vol, err) < 0 || check_vol_name(name, err) < 0)
		return -1;
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg)
		return lvm_unsupported("cloning", err);
	cleanup_free char *dir = NULL;
	cleanup_close int dfd = pool__dirfd(h, pool, &dir, err);
	if (dfd < 0)
		return -1;
	cleanup_close int src = openat(dfd, vol, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (src < 0 || fstat(src, &sb) < 0 || !S_ISREG(sb.st_mode))
		return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
	const char *fmt = detect_format(src);
	cleanup_close int dst = volume__create_file(dfd, pool, name, err);
	if (dst < 0)
		return -1;
	char spath[PATH_MAX], dpath[PATH_MAX];
	snprintf(spath, sizeof(spath), "%s/%s", dir, vol);
	snprintf(dpath, sizeof(dpath), "%s/%s", dir, name);
	int rc;
	if (!strcmp(mode, "overlay"))
		rc = storage_img__create_qcow2(dpath, 0, spath, fmt, err);
	else if (!strcmp(fmt, "qcow2"))
		rc = storage_img__convert_to_qcow2(spath, fmt, dpath, err);
	else {
		/* raw: copy_file_range keeps holes on filesystems that reflink or
		 * share extents; the size is set first so a sparse tail stays sparse */
		rc = ftruncate(dst, sb.st_size) < 0 ? err__fail_errno(err, "truncate") : 0;
		for (off_t off = 0; rc == 0 && off < sb.st_size;) {
			ssize_t n = copy_file_range(src, &off, dst, &(off_t){off}, (size_t)(sb.st_size - off), 0);
			if (n <= 0)
				rc = err__fail_errno(err, "copy %s", vol);
		}
	}
	if (rc < 0) {
		unlinkat(dfd, name, 0);
		return -1;
	}
	events__emit("volume-created", "volume", name, NULL, pool);
	return storage__volume_info(h, pool, name, out, err);
}

int storage__volume_resize(struct host *h, const char *pool, const char *vol, const json_t *in, json_t **out,
			   struct st_err *err)
{
	static const char *const keys[] = {"capacity", "shrink", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	uint64_t cap;
	if (check_vol_name(vol, err) < 0 || parse_capacity(json_object_get(in, "capacity"), &cap, err) < 0)
		return -1;
	bool shrink = json_is_true(json_object_get(in, "shrink"));
	if (volume__in_use(h, pool, vol, err) < 0)
		return -1;
	json_t *info;
	if (storage__volume_info(h, pool, vol, &info, err) < 0)
		return -1;
	uint64_t now = (uint64_t)json_integer_value(json_object_get(info, "capacity"));
	bool qcow2 = !strcmp(json_string_value(json_object_get(info, "format")), "qcow2");
	cleanup_free char *path = strdup(json_string_value(json_object_get(info, "path")));
	json_decref(info);
	if (cap < now && (!shrink || qcow2))
		return err__fail_class(err, EINVAL, "shrinking %s from %llu to %llu bytes loses data%s", vol,
			       (unsigned long long)now, (unsigned long long)cap,
			       qcow2 ? " (not supported for qcow2)" : ": pass \"shrink\": true");
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg) {
		if (lvm__volume_resize(h, vg, vol, cap, err) < 0)
			return -1;
	} else if (qcow2) {
		if (storage_img__resize_qcow2(path, cap, err) < 0)
			return -1;
	} else if (truncate(path, (off_t)cap) < 0) {
		return err__fail_errno(err, "resize %s", vol);
	}
	return storage__volume_info(h, pool, vol, out, err);
}

/* A running guest's disk is changed by nobody else: the block layer takes
 * no image locks, so this check is what keeps a resize or an upload from
 * corrupting a qcow2 image under a VMM. */
static int volume__in_use(struct host *h, const char *pool, const char *vol, struct st_err *err)
{
	for (struct dom *d = h->doms; d; d = d->next) {
		if (d->state == DOM_SHUTOFF)
			continue;
		size_t i;
		json_t *disk;
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *dp = json_string_value(json_object_get(disk, "pool"));
			const char *dv = json_string_value(json_object_get(disk, "volume"));
			if (dp && dv && !strcmp(dp, pool) && !strcmp(dv, vol))
				return err__fail_class(err, EBUSY, "volume '%s' is in use by running domain '%s'", vol, d->name);
		}
	}
	return 0;
}

int storage__volume_delete(struct host *h, const char *pool, const char *vol, struct st_err *err)
{
	if (check_vol_name(vol, err) < 0)
		return -1;
	if (volume__in_use(h, pool, vol, err) < 0)
		return -1;
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg) {
		if (lvm__volume_delete(h, pool, vg, vol, err) < 0)
			return -1;
		events__emit("volume-deleted", "volume", vol, NULL, pool);
		return 0;
	}
	cleanup_close int dfd = pool__dirfd(h, pool, NULL, err);
	if (dfd < 0)
		return -1;
	struct stat sb;
	if (fstatat(dfd, vol, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
		return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
	if (unlinkat(dfd, vol, 0) < 0)
		return err__fail_errno(err, "delete %s", vol);
	events__emit("volume-deleted", "volume", vol, NULL, pool);
	return 0;
}

int storage__volume_open_upload(struct host *h, const char *pool, const char *vol, struct st_err *err)
{
	cleanup_free char *vg = NULL;
	if (check_vol_name(vol, err) < 0 || volume__in_use(h, pool, vol, err) < 0 || pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg)
		return lvm_unsupported("uploading", err);
	cleanup_close int dfd = volume__pool_dirfd(h, pool, vol, NULL, err);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, vol, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return err__fail_errno(err, "volume %s", vol);
	return fd;
}

int storage__volume_open_download(struct host *h, const char *pool, const char *vol, uint64_t *size,
				  struct st_err *err)
{
	cleanup_free char *vg = NULL;
	if (pool__vg(h, pool, &vg, err) < 0)
		return -1;
	if (vg)
		return lvm_unsupported("downloading", err);
	cleanup_close int dfd = volume__pool_dirfd(h, pool, vol, NULL, err);
	if (dfd < 0)
		return -1;
	int fd = openat(dfd, vol, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return err__fail_class(err, ENOENT, "no volume '%s' in pool '%s'", vol, pool);
	}
	*size = (uint64_t)sb.st_size;
	return fd;
}
