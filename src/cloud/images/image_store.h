/* The image data store: one file per active image under a directory, named
 * by the image's id. An upload writes a temporary file (".tmp-ID.XXXXXX",
 * held under flock while it is written), hashes it as it goes, and renames
 * it into place only once complete and fsync'd, so a reader never sees a
 * partial image. The hashes and the writing run on threads of their own
 * (image_pipe.h), and the disk is given the data as it comes (so the final
 * fsync has little left to write). A temporary file nobody holds the lock of is a leftover of
 * a killed process: image_store__recover() removes those. */
#ifndef STRATA_CLOUD_IMAGE_STORE_H
#define STRATA_CLOUD_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct image_store {
	char dir[4096];
};

struct image_store_upload;

/* Creates the directory when missing and removes stray temporary files. */
int image_store__init(struct image_store *s, const char *dir, struct st_err *err);
int image_store__recover(struct image_store *s, struct st_err *err);
/* Whether some live process is writing an upload of this image. */
bool image_store__uploading(struct image_store *s, const char *id);

int image_store__begin(struct image_store *s, const char *id, struct image_store_upload **out,
		       struct st_err *err);
int image_store__write(struct image_store_upload *up, const char *data, size_t len,
		       struct st_err *err);
/* An upload whose data is already complete: image id's file in the store
 * `from` (on the same file system: the staging area), moved under this
 * store's temporary name and read once for its hashes. EBUSY when another
 * process holds it, ENOENT when there is none. */
int image_store__adopt(struct image_store *s, const char *id, struct image_store *from,
		       struct image_store_upload **out, struct st_err *err);
uint64_t image_store__size(const struct image_store_upload *up);
/* The temporary file, with everything written in it (for format
 * inspection before the commit); -1 when writing it failed. */
int image_store__fd(struct image_store_upload *up, struct st_err *err);
/* The md5 and sha512 of everything written, as lowercase hex (once): fails
 * when writing or hashing it failed. */
int image_store__digests(struct image_store_upload *up, char md5[33], char sha512[129],
			 struct st_err *err);
/* fsync, rename into place, fsync the directory; frees up either way. */
int image_store__commit(struct image_store_upload *up, struct st_err *err);
/* Removes the temporary file and frees up. */
void image_store__abort(struct image_store_upload *up);

/* An image's data for reading: its fd and size. ENOENT when absent. */
int image_store__open(struct image_store *s, const char *id, int *fd, uint64_t *size,
		      struct st_err *err);
/* Removes an image's data (absent is fine). */
int image_store__remove(struct image_store *s, const char *id, struct st_err *err);

#endif
