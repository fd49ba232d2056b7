/* What every pool type shares: the pool table in the store, request
 * parsing, volume-name checks, refusing changes to a running guest's disks,
 * events. What a type does to its storage is its backend's
 * (storage_backend.h), picked by the pool's type from backends[]. */
#include "host/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/image_inspect.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/storage_backend.h"
#include "host/storage_format.h"
#include "host/storage_img.h"

#define VOLUME_MAX_BYTES (1ull << 50)
#define POOL_KEYS_MAX 16

/* The pool types; the first is the default. */
static const struct storage_backend *const backends[] = {&storage_dir__backend, &storage_lvm__backend, NULL};

static const struct storage_backend *backend_find(const char *type)
{
	for (size_t i = 0; backends[i]; i++)
		if (!strcmp(backends[i]->type, type))
			return backends[i];
	return NULL;
}

/* A pool looked up in the store, with its backend. */
struct pool {
	struct storage_pool p;
	const struct storage_backend *ops;
	json_t *row; /* the store's {"name", "type", "path"}, which p points into */
};

static void pool_close(struct pool *pool)
{
	json_decref(pool->row);
}
#define cleanup_pool __attribute__((cleanup(pool_close)))

static json_t *pool_row(struct host *h, const char *name)
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
	return NULL;
}

static int no_pool(const char *name, struct st_err *err)
{
	return err__fail_class(err, ENOENT, "no storage pool named '%s'", name);
}

/* ENOENT when there is no such pool; close it with pool_close either way. */
static int pool_load(struct host *h, const char *name, struct pool *pool, struct st_err *err)
{
	pool->row = pool_row(h, name);
	if (!pool->row)
		return no_pool(name, err);
	const char *type = json_string_value(json_object_get(pool->row, "type"));
	pool->ops = backend_find(type);
	if (!pool->ops)
		return err__fail(err, EIO, "pool %s has type '%s', which this stratad does not know", name, type);
	pool->p = (struct storage_pool){.host = h, .name = json_string_value(json_object_get(pool->row, "name")),
					.path = json_string_value(json_object_get(pool->row, "path"))};
	return 0;
}

static bool pool_flag(const struct pool *pool, const char *key)
{
	return json_integer_value(json_object_get(pool->row, key)) != 0;
}

/* pool_load of an active pool: the volumes of an inactive one are not used */
static int pool_open(struct host *h, const char *name, struct pool *pool, struct st_err *err)
{
	if (pool_load(h, name, pool, err) < 0)
		return -1;
	if (!pool_flag(pool, "active"))
		return err__fail_class(err, EBUSY, "storage pool '%s' is not active (strata pool-start %s)", name, name);
	return 0;
}

static int unsupported(const struct pool *pool, const char *what, struct st_err *err)
{
	return err__fail_class(err, EINVAL, "%s is not supported for %s pools", what, pool->ops->type);
}

static int check_vol_name(const char *vol, struct st_err *err)
{
	if (!vol || !domdef__name_ok(vol))
		return err__fail_class(err, EINVAL, "volume name \"%s\" is invalid (1-%d of A-Z a-z 0-9 _ . + -, not "
			       "starting with . or -)", vol ? vol : "", DOMDEF_NAME_MAX);
	return 0;
}

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

/* A pool definition may hold any type's keys: the type's define then says
 * what does not belong to it. */
static int check_pool_keys(const json_t *in, struct st_err *err)
{
	const char *keys[POOL_KEYS_MAX] = {"name", "type"};
	size_t n = 2;
	for (size_t i = 0; backends[i]; i++)
		for (const char *const *k = backends[i]->keys; *k && n < POOL_KEYS_MAX - 1; k++)
			keys[n++] = *k;
	keys[n] = NULL;
	return check_keys(in, keys, err);
}

static int unknown_type(const char *type, struct st_err *err)
{
	char known[128] = "";
	for (size_t i = 0; backends[i]; i++)
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", i ? ", " : "", backends[i]->type);
	return err__fail_class(err, EINVAL, "pool type \"%s\" is not supported (%s)", type, known);
}

int storage__pool_define(struct host *h, const json_t *in, json_t **out, struct st_err *err)
{
	if (check_pool_keys(in, err) < 0)
		return -1;
	const char *name = json_string_value(json_object_get(in, "name"));
	const char *type = json_string_value(json_object_get(in, "type"));
	if (!name || !domdef__name_ok(name))
		return err__fail_class(err, EINVAL, "pool name \"%s\" is invalid", name ? name : "");
	const struct storage_backend *ops = type ? backend_find(type) : backends[0];
	if (!ops)
		return unknown_type(type, err);
	json_t *existing = pool_row(h, name);
	if (existing) {
		json_decref(existing);
		return err__fail_class(err, EEXIST, "storage pool '%s' already exists", name);
	}
	char path[PATH_MAX];
	if (ops->define(h, in, path, err) < 0 || store__pool_insert(h->store, name, ops->type, path, err) < 0)
		return -1;
	events__emit("pool-defined", "pool", name, NULL, "created");
	return storage__pool_info(h, name, out, err);
}

static const struct dom *pool_user(struct host *h, const char *pool, bool running);

int storage__pool_undefine(struct host *h, const char *pool, struct st_err *err)
{
	json_t *p = pool_row(h, pool);
	if (!p)
		return no_pool(pool, err);
	json_decref(p);
	const struct dom *user = pool_user(h, pool, false);
	if (user)
		return err__fail_class(err, EBUSY, "pool '%s' is used by domain '%s'", pool, user->name);
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

int storage__pool_info(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_load(h, name, &pool, err) < 0)
		return -1;
	bool active = pool_flag(&pool, "active");
	json_object_set_new(pool.row, "active", json_boolean(active));
	json_object_set_new(pool.row, "autostart", json_boolean(pool_flag(&pool, "autostart")));
	pool.ops->describe(&pool.p, pool.row);
	if (!active)
		json_object_set_new(pool.row, "state", json_string("inactive"));
	json_t *vols;
	if (active && pool.ops->volume_list(&pool.p, &vols, NULL) == 0) {
		uint64_t used = 0;
		size_t i;
		json_t *v;
		json_array_foreach(vols, i, v)
			used += (uint64_t)json_integer_value(json_object_get(v, "allocation"));
		json_object_set_new(pool.row, "volumes", json_integer((json_int_t)json_array_size(vols)));
		json_object_set_new(pool.row, "volumes_allocation", json_integer((json_int_t)used));
		json_decref(vols);
	}
	*out = json_incref(pool.row);
	return 0;
}

int storage__volume_path(struct host *h, const char *name, const char *vol, char **path, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (check_vol_name(vol, err) < 0 || pool_open(h, name, &pool, err) < 0)
		return -1;
	if (pool.ops->volume_path)
		return pool.ops->volume_path(&pool.p, vol, path, err);
	json_t *info;
	if (pool.ops->volume_info(&pool.p, vol, &info, err) < 0)
		return -1;
	*path = strdup(json_string_value(json_object_get(info, "path")));
	json_decref(info);
	return *path ? 0 : err__fail(err, ENOMEM, "volume path");
}

int storage__volume_list(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_open(h, name, &pool, err) < 0)
		return -1;
	return pool.ops->volume_list(&pool.p, out, err);
}

int storage__volume_info(struct host *h, const char *name, const char *vol, json_t **out, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (check_vol_name(vol, err) < 0 || pool_open(h, name, &pool, err) < 0)
		return -1;
	return pool.ops->volume_info(&pool.p, vol, out, err);
}

int storage__volume_create(struct host *h, const char *name, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "capacity", "format", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	const char *vol = json_string_value(json_object_get(in, "name"));
	const char *fmt = json_string_value(json_object_get(in, "format"));
	uint64_t cap;
	if (check_vol_name(vol, err) < 0 || parse_capacity(json_object_get(in, "capacity"), &cap, err) < 0 ||
	    storage_format__parse(fmt, &fmt, err) < 0)
		return -1;
	cleanup_pool struct pool pool = {0};
	if (pool_open(h, name, &pool, err) < 0 || pool.ops->volume_create(&pool.p, vol, fmt, cap, err) < 0)
		return -1;
	if (storage_format__set(&pool.p, vol, fmt, err) < 0)
		return -1;
	events__emit("volume-created", "volume", vol, NULL, name);
	return pool.ops->volume_info(&pool.p, vol, out, err);
}

int storage__volume_check_free(struct host *h, const char *pool, const char *vol, struct st_err *err)
{
	json_t *info = NULL;
	struct st_err e = {0};
	if (storage__volume_info(h, pool, vol, &info, &e) == 0) {
		json_decref(info);
		return err__fail_class(err, EEXIST, "volume '%s' in pool '%s' already exists", vol, pool);
	}
	if (e.errnum != ENOENT || strstr(e.msg, "no storage pool")) {
		*err = e;
		return -1;
	}
	return 0;
}

int storage__volume_create_overlay(struct host *h, const char *name, const char *vol, const char *backing,
				   const char *backing_fmt, const json_t *capacity, uint64_t min, json_t **out,
				   struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	uint64_t bytes = 0;
	if (capacity && parse_capacity(capacity, &bytes, err) < 0)
		return -1;
	if (capacity && bytes < min)
		return err__fail_class(err, EINVAL, "capacity %llu is smaller than the image (%llu bytes)",
				       (unsigned long long)bytes, (unsigned long long)min);
	if (check_vol_name(vol, err) < 0 || pool_open(h, name, &pool, err) < 0)
		return -1;
	if (!pool.ops->volume_overlay)
		return unsupported(&pool, "a volume on a cached image", err);
	if (pool.ops->volume_overlay(&pool.p, vol, backing, backing_fmt, bytes, err) < 0 ||
	    storage_format__set(&pool.p, vol, "qcow2", err) < 0)
		return -1;
	events__emit("volume-created", "volume", vol, NULL, name);
	return pool.ops->volume_info(&pool.p, vol, out, err);
}

int storage__volume_clone(struct host *h, const char *name, const char *vol, const json_t *in, json_t **out,
			  struct st_err *err)
{
	static const char *const keys[] = {"name", "mode", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	const char *clone = json_string_value(json_object_get(in, "name"));
	const char *mode = json_string_value(json_object_get(in, "mode"));
	if (!mode)
		mode = "copy";
	if (strcmp(mode, "copy") && strcmp(mode, "overlay"))
		return err__fail_class(err, EINVAL, "mode \"%s\" is not copy or overlay", mode);
	if (check_vol_name(vol, err) < 0 || check_vol_name(clone, err) < 0)
		return -1;
	cleanup_pool struct pool pool = {0};
	if (pool_open(h, name, &pool, err) < 0)
		return -1;
	if (!pool.ops->volume_clone)
		return unsupported(&pool, "cloning", err);
	cleanup_json json_t *src = NULL;
	if (pool.ops->volume_info(&pool.p, vol, &src, err) < 0)
		return -1;
	const char *fmt = json_string_value(json_object_get(src, "format"));
	bool overlay = !strcmp(mode, "overlay");
	if (pool.ops->volume_clone(&pool.p, vol, fmt, clone, overlay, err) < 0 ||
	    storage_format__set(&pool.p, clone, overlay ? "qcow2" : fmt, err) < 0)
		return -1;
	events__emit("volume-created", "volume", clone, NULL, name);
	return pool.ops->volume_info(&pool.p, clone, out, err);
}

/* A running guest's disk is changed by nobody else: the block layer takes
 * no image locks, so this check is what keeps a resize or an upload from
 * corrupting a qcow2 image under a VMM. */
static int volume_in_use(struct host *h, const char *pool, const char *vol, struct st_err *err)
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

int storage__volume_resize(struct host *h, const char *name, const char *vol, const json_t *in, json_t **out,
			   struct st_err *err)
{
	static const char *const keys[] = {"capacity", "shrink", NULL};
	if (check_keys(in, keys, err) < 0)
		return -1;
	uint64_t cap;
	if (check_vol_name(vol, err) < 0 || parse_capacity(json_object_get(in, "capacity"), &cap, err) < 0)
		return -1;
	bool shrink = json_is_true(json_object_get(in, "shrink"));
	cleanup_pool struct pool pool = {0};
	cleanup_json json_t *info = NULL;
	if (volume_in_use(h, name, vol, err) < 0 || pool_open(h, name, &pool, err) < 0 ||
	    pool.ops->volume_info(&pool.p, vol, &info, err) < 0)
		return -1;
	uint64_t now = (uint64_t)json_integer_value(json_object_get(info, "capacity"));
	bool qcow2 = !strcmp(json_string_value(json_object_get(info, "format")), "qcow2");
	if (cap < now && (!shrink || qcow2))
		return err__fail_class(err, EINVAL, "shrinking %s from %llu to %llu bytes loses data%s", vol,
			       (unsigned long long)now, (unsigned long long)cap,
			       qcow2 ? " (not supported for qcow2)" : ": pass \"shrink\": true");
	if (pool.ops->volume_resize(&pool.p, vol, info, cap, err) < 0)
		return -1;
	return pool.ops->volume_info(&pool.p, vol, out, err);
}

int storage__volume_delete(struct host *h, const char *name, const char *vol, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (check_vol_name(vol, err) < 0 || volume_in_use(h, name, vol, err) < 0 || pool_open(h, name, &pool, err) < 0 ||
	    pool.ops->volume_delete(&pool.p, vol, err) < 0)
		return -1;
	storage_format__forget(&pool.p, vol);
	events__emit("volume-deleted", "volume", vol, NULL, name);
	return 0;
}

int storage__volume_upload_begin(struct host *h, const char *name, const char *vol, struct storage_upload *u,
				 struct st_err *err)
{
	*u = (struct storage_upload){.dfd = -1, .fd = -1};
	cleanup_pool struct pool pool = {0};
	if (check_vol_name(vol, err) < 0 || volume_in_use(h, name, vol, err) < 0 || pool_open(h, name, &pool, err) < 0)
		return -1;
	if (!pool.ops->volume_upload_begin)
		return unsupported(&pool, "uploading", err);
	return pool.ops->volume_upload_begin(&pool.p, vol, u, err);
}

/* What the uploader declared (?format=) must be what the data is, and the
 * data must name no other file (block/image_inspect.h: headers only, read
 * before any driver opens the file). u->fd may be write-only: read it anew. */
static int inspect_fd(int wfd, const char *what, const char *fmt, uint64_t *virtual_size, struct st_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "upload of %s", what);
	struct image_inspect ii = {0};
	if (image_inspect__fd(fd, fmt, &ii, err) < 0)
		return err__prefix(err, "%s", what);
	if (virtual_size)
		*virtual_size = ii.virtual_size;
	return 0;
}

/* What is declared qcow2 must be a qcow2 image, and one that opens no other
 * file: a backing file could name any host path. */
static int check_qcow2(int wfd, const char *what, struct st_err *err)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
	json_t *info;
	if (storage_img__info(path, "qcow2", &info, err) < 0)
		return err__class(err, EINVAL, err__prefix(err, "%s was declared qcow2 but is not a usable qcow2 image", what));
	bool backing = json_object_get(info, "backing-filename") != NULL;
	json_decref(info);
	if (backing)
		return err__fail_class(err, EINVAL, "%s: a qcow2 image with a backing file is refused (it could name any "
				       "host file)", what);
	return 0;
}

int storage__check_content(int fd, const char *what, const char *fmt, uint64_t *virtual_size, struct st_err *err)
{
	if (inspect_fd(fd, what, fmt, virtual_size, err) < 0 || (!strcmp(fmt, "qcow2") && check_qcow2(fd, what, err) < 0))
		return -1;
	return 0;
}

int storage__volume_upload_commit(struct host *h, const char *name, const char *vol, const char *fmt,
				  struct storage_upload *u, json_t **out, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	const char *declared = fmt; /* undeclared content is raw bytes, never looked at */
	/* a domain may have started on the volume while the body came in */
	if (storage_format__parse(fmt, &fmt, err) < 0 || volume_in_use(h, name, vol, err) < 0 ||
	    pool_open(h, name, &pool, err) < 0 || (declared && inspect_fd(u->fd, vol, fmt, NULL, err) < 0) ||
	    (!strcmp(fmt, "qcow2") && check_qcow2(u->fd, vol, err) < 0)) {
		storage__volume_upload_abort(u);
		return -1;
	}
	if (pool.ops->volume_upload_commit(&pool.p, vol, u, err) < 0 || storage_format__set(&pool.p, vol, fmt, err) < 0)
		return -1;
	events__emit("volume-uploaded", "volume", vol, NULL, name);
	return pool.ops->volume_info(&pool.p, vol, out, err);
}

void storage__volume_upload_abort(struct storage_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp[0] && u->dfd >= 0)
		unlinkat(u->dfd, u->tmp, 0);
	if (u->dfd >= 0)
		close(u->dfd);
	*u = (struct storage_upload){.dfd = -1, .fd = -1};
}

int storage__volume_open_download(struct host *h, const char *name, const char *vol, uint64_t *size,
				  struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_open(h, name, &pool, err) < 0)
		return -1;
	if (!pool.ops->volume_open_download)
		return unsupported(&pool, "downloading", err);
	if (check_vol_name(vol, err) < 0)
		return -1;
	return pool.ops->volume_open_download(&pool.p, vol, size, err);
}

/* The domain (running, or any when running is false) with a disk in pool, or NULL. */
static const struct dom *pool_user(struct host *h, const char *pool, bool running)
{
	for (const struct dom *d = h->doms; d; d = d->next) {
		size_t i;
		json_t *disk;
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *dp = json_string_value(json_object_get(disk, "pool"));
			if (dp && !strcmp(dp, pool) && (!running || d->state != DOM_SHUTOFF))
				return d;
		}
	}
	return NULL;
}

int storage__pool_set_active(struct host *h, const char *name, bool on, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_load(h, name, &pool, err) < 0)
		return -1;
	if (pool_flag(&pool, "active") == on)
		return err__fail_class(err, EBUSY, "storage pool '%s' is %s already", name, on ? "active" : "not active");
	const struct dom *user = on ? NULL : pool_user(h, name, true);
	if (user)
		return err__fail_class(err, EBUSY, "pool '%s' is used by running domain '%s'", name, user->name);
	if (on) {
		json_t *state = json_object();
		pool.ops->describe(&pool.p, state);
		bool there = !strcmp(json_string_value(json_object_get(state, "state")), "active");
		json_decref(state);
		if (!there)
			return err__fail_class(err, EINVAL, "storage pool '%s': %s is not there (strata pool-build %s)", name,
					       pool.p.path, name);
	}
	if (store__pool_set(h->store, name, false, on, err) < 0)
		return -1;
	events__emit(on ? "pool-started" : "pool-stopped", "pool", name, NULL, "api");
	return 0;
}

int storage__pool_set_autostart(struct host *h, const char *name, bool on, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_load(h, name, &pool, err) < 0 || store__pool_set(h->store, name, true, on, err) < 0)
		return -1;
	return 0;
}

int storage__pool_build(struct host *h, const char *name, struct st_err *err)
{
	cleanup_pool struct pool pool = {0};
	if (pool_load(h, name, &pool, err) < 0)
		return -1;
	if (!pool.ops->build)
		return unsupported(&pool, "pool-build", err);
	if (pool.ops->build(&pool.p, err) < 0)
		return -1;
	events__emit("pool-built", "pool", name, NULL, pool.p.path);
	return 0;
}

void storage__pools_autostart(struct host *h)
{
	struct st_err err = {0};
	if (store__pools_autostart(h->store, &err) < 0)
		log__warn("pool autostart: %s", err.msg);
}
