/* What a storage pool's type does to its storage, as a table of operations
 * (libvirt's virStorageBackend, the block layer's struct blk_driver).
 * storage.c keeps what every type shares: the pool table in the store,
 * request parsing, volume-name checks, the in-use checks against running
 * domains, events. It picks the table by the pool's "type" and calls it
 * with the volume name already checked (domdef__name_ok: nothing can leave
 * the pool). A new type is a new storage_<type>.c with its table, listed
 * in storage.c's backends[] (docs/host.md, "Storage pool backends"). */
#ifndef STRATA_HOST_STORAGE_BACKEND_H
#define STRATA_HOST_STORAGE_BACKEND_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "host/host.h"
#include "host/storage.h"

/* A defined pool, as the store keeps it. */
struct storage_pool {
	struct host *host;
	const char *name;
	/* what define set: the directory of a dir pool, /dev/VG of a logical one */
	const char *path;
};

struct storage_backend {
	const char *type;
	/* the request keys besides "name" and "type" this type's define reads */
	const char *const *keys;
	/* Checks a new pool's request (and that its storage is there), sets the
	 * path the store keeps for it. */
	int (*define)(struct host *h, const json_t *in, char path[PATH_MAX], struct st_err *err);
	/* Adds the pool's state ("active" or "inaccessible"), capacity,
	 * available and allocation in bytes, and any keys of its own, to info. */
	void (*describe)(const struct storage_pool *p, json_t *info);
	/* [{"name", "path", "format", "capacity", "allocation", "backing"?}] */
	int (*volume_list)(const struct storage_pool *p, json_t **out, struct st_err *err);
	/* one volume_list entry; ENOENT when there is no such volume */
	int (*volume_info)(const struct storage_pool *p, const char *vol, json_t **out, struct st_err *err);
	/* The path a domain's disk uses. NULL: volume_info's "path". */
	int (*volume_path)(const struct storage_pool *p, const char *vol, char **path, struct st_err *err);
	/* fmt is "raw" or "qcow2"; EEXIST when the name is taken */
	int (*volume_create)(const struct storage_pool *p, const char *vol, const char *fmt, uint64_t bytes,
			     struct st_err *err);
	/* A new volume name from vol (of format fmt): a full copy, or a qcow2
	 * overlay on vol. NULL: not supported for this type. */
	int (*volume_clone)(const struct storage_pool *p, const char *vol, const char *fmt, const char *name,
			    bool overlay, struct st_err *err);
	/* A new qcow2 volume on a file outside the pool (an image cache base):
	 * bytes 0 is the backing file's size. NULL: not supported. */
	int (*volume_overlay)(const struct storage_pool *p, const char *vol, const char *backing,
			      const char *backing_fmt, uint64_t bytes, struct st_err *err);
	/* info is vol's volume_info; shrinking is already allowed by the caller */
	int (*volume_resize)(const struct storage_pool *p, const char *vol, const json_t *info, uint64_t bytes,
			     struct st_err *err);
	/* ENOENT when there is no such volume */
	int (*volume_delete)(const struct storage_pool *p, const char *vol, struct st_err *err);
	/* A hidden file for vol's new content (storage.h's struct storage_upload),
	 * and putting it in place of vol (u is done with either way); abort
	 * drops it. NULL: not supported. */
	int (*volume_upload_begin)(const struct storage_pool *p, const char *vol, struct storage_upload *u,
				   struct st_err *err);
	int (*volume_upload_commit)(const struct storage_pool *p, const char *vol, struct storage_upload *u,
				    struct st_err *err);
	/* An fd to read vol's content from, and its size. NULL: not supported. */
	int (*volume_open_download)(const struct storage_pool *p, const char *vol, uint64_t *size,
				    struct st_err *err);
	/* Makes the pool's storage (virsh pool-build) where it is missing;
	 * what is there is kept. NULL: not supported. */
	int (*build)(const struct storage_pool *p, struct st_err *err);
};

/* storage_dir.c: a directory whose regular files are the volumes */
extern const struct storage_backend storage_dir__backend;
/* storage_lvm.c: an LVM volume group whose logical volumes are the volumes */
extern const struct storage_backend storage_lvm__backend;

#endif
