/* Storage pools and their volumes, for the API's routes and the domains'
 * disks. Types: dir (a directory whose regular files are the volumes, raw
 * or qcow2 as recorded in the store: storage_format.h) and logical (an LVM volume group
 * whose LVs are raw volumes); each is a backend (storage_backend.h). Volume
 * names are checked with domdef__name_ok, so none can leave the pool.
 * Called with host->lock held, except the streaming halves of
 * upload/download, which work on a file descriptor opened under the lock. */
#ifndef STRATA_HOST_STORAGE_H
#define STRATA_HOST_STORAGE_H

#include <jansson.h>
#include <stdint.h>

#include "common/err.h"
#include "host/host.h"

int storage__pool_define(struct host *h, const json_t *input, json_t **out, struct st_err *err);
int storage__pool_undefine(struct host *h, const char *pool, struct st_err *err);
json_t *storage__pool_list(struct host *h);
/* pool-start (its storage must be there) and pool-destroy (no running
 * domain may use it): an inactive pool's volumes are refused (409). */
int storage__pool_set_active(struct host *h, const char *pool, bool on, struct st_err *err);
/* Whether stratad's start makes the pool active. */
int storage__pool_set_autostart(struct host *h, const char *pool, bool on, struct st_err *err);
/* pool-build: makes the pool's storage (a dir pool's directory). */
int storage__pool_build(struct host *h, const char *pool, struct st_err *err);
void storage__pools_autostart(struct host *h);
int storage__pool_info(struct host *h, const char *pool, json_t **out, struct st_err *err);

int storage__volume_path(struct host *h, const char *pool, const char *vol, char **path, struct st_err *err);
int storage__volume_list(struct host *h, const char *pool, json_t **out, struct st_err *err);
int storage__volume_info(struct host *h, const char *pool, const char *vol, json_t **out, struct st_err *err);
/* {"name", "capacity" (bytes or "10G"), "format": raw|qcow2} */
int storage__volume_create(struct host *h, const char *pool, const json_t *input, json_t **out,
			   struct st_err *err);
/* 0 when pool exists and has no volume vol; EEXIST when it has. */
int storage__volume_check_free(struct host *h, const char *pool, const char *vol, struct st_err *err);
/* A qcow2 volume vol whose backing file is backing (an image cache base,
 * image_cache.h, of format backing_fmt); capacity as a create's (NULL: the
 * base's virtual size), at least min bytes. */
int storage__volume_create_overlay(struct host *h, const char *pool, const char *vol, const char *backing,
				   const char *backing_fmt, const json_t *capacity, uint64_t min, json_t **out,
				   struct st_err *err);
/* {"name": new volume, "mode": "copy" (default) | "overlay"} */
int storage__volume_clone(struct host *h, const char *pool, const char *vol, const json_t *input, json_t **out,
			  struct st_err *err);
/* {"capacity": bytes or "10G"}: grows (or, for raw, shrinks with "shrink": true) */
int storage__volume_resize(struct host *h, const char *pool, const char *vol, const json_t *input, json_t **out,
			   struct st_err *err);
int storage__volume_delete(struct host *h, const char *pool, const char *vol, struct st_err *err);
/* A volume's new content (an upload, a download from a URL) goes to a file
 * in the pool that nobody sees (O_TMPFILE, or a hidden name when the file
 * system has none) and replaces the volume in one rename once it is
 * complete and on disk: a failed or interrupted transfer leaves the volume
 * as it was and nothing behind. */
struct storage_upload {
	int dfd;                /* the pool's directory */
	int fd;                 /* the new content */
	char tmp[64];           /* its name, "" for an O_TMPFILE */
};
int storage__volume_upload_begin(struct host *h, const char *pool, const char *vol, struct storage_upload *u,
				 struct st_err *err);
/* Puts the content in place as a volume of format fmt (raw or qcow2: a qcow2
 * must be one, without a backing file); *out is the volume's info. Either
 * way u is done with. */
int storage__volume_upload_commit(struct host *h, const char *pool, const char *vol, const char *fmt,
				  struct storage_upload *u, json_t **out, struct st_err *err);
/* fd's content is what fmt ("raw" or "qcow2") declares and names no other
 * file (block/image_inspect.h; a qcow2 must also open as one): else EINVAL
 * with one line starting with what. *virtual_size (if not NULL): the
 * size the guest sees. No lock needed. */
int storage__check_content(int fd, const char *what, const char *fmt, uint64_t *virtual_size, struct st_err *err);
/* Drops the content (no lock needed). */
void storage__volume_upload_abort(struct storage_upload *u);
/* An fd to read the content from, and its size. */
int storage__volume_open_download(struct host *h, const char *pool, const char *vol, uint64_t *size,
				  struct st_err *err);

#endif
