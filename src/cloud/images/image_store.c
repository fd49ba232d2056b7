/* The file store of image data (see image_store.h). */
#include "cloud/images/image_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "cloud/images/image_pipe.h"

#define TMP_PREFIX ".tmp-"
/* The disk is started on each this much written, and the window before is
 * waited for: the commit's fsync finds at most two windows still to write,
 * and the upload's dirty pages stay few. */
#define WRITEBACK_WINDOW ((uint64_t)8 << 20)

struct image_store_upload {
	int fd;
	uint64_t size;
	char tmp[4200], final[4200], dir[4096];
	EVP_MD_CTX *md5, *sha512;
	/* the data goes through the pipe's threads: hashes and the writer */
	struct image_pipe *pipe;
	bool drained;
	uint64_t written, started, waited; /* the writer's: bytes written, given to the disk, on disk */
};

int image_store__init(struct image_store *s, const char *dir, struct st_err *err)
{
	size_t len = strlen(dir);
	if (len >= sizeof(s->dir) - 64)
		return err__fail(err, EINVAL, "image directory path too long: %s", dir);
	memcpy(s->dir, dir, len + 1);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return err__fail_errno(err, "cannot create %s", dir);
	return image_store__recover(s, err);
}

/* A temporary file of the store that no live writer holds: unlinked. With
 * prefix, only those of one image; returns whether a held one was seen. */
static bool sweep(struct image_store *s, const char *prefix, bool *held)
{
	cleanup_dir DIR *d = opendir(s->dir);
	if (!d)
		return false;
	struct dirent *e;
	char path[4400];
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->dir, e->d_name);
		cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			*held = true;
			continue;
		}
		log__info("removing %s, left by an interrupted upload", path);
		unlink(path);
	}
	return true;
}

int image_store__recover(struct image_store *s, struct st_err *err)
{
	bool held = false;
	if (!sweep(s, TMP_PREFIX, &held))
		return err__fail_errno(err, "cannot read %s", s->dir);
	return 0;
}

bool image_store__uploading(struct image_store *s, const char *id)
{
	char prefix[128];
	bool held = false;
	snprintf(prefix, sizeof(prefix), TMP_PREFIX "%s.", id);
	sweep(s, prefix, &held);
	return held;
}

static void upload_free(struct image_store_upload *up)
{
	image_pipe__free(up->pipe); /* its threads use what follows */
	if (up->fd >= 0)
		close(up->fd);
	EVP_MD_CTX_free(up->md5);
	EVP_MD_CTX_free(up->sha512);
	free(up);
}

static int final_path(struct image_store *s, const char *id, char *out, size_t size,
		      struct st_err *err);

static int hash_block(void *ctx, const uint8_t *data, size_t len, struct st_err *err)
{
	if (!EVP_DigestUpdate(ctx, data, len))
		return err__fail(err, EIO, "hashing the image failed");
	return 0;
}

static int write_block(void *ctx, const uint8_t *data, size_t len, struct st_err *err)
{
	struct image_store_upload *up = ctx;
	for (size_t done = 0; done < len;) {
		ssize_t n = write(up->fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err__fail_errno(err, "writing the image to %s", up->dir);
		done += (size_t)n;
	}
	up->written += len;
	if (up->written - up->started >= WRITEBACK_WINDOW) {
		/* failures here only lose the overlap: the commit's fsync is the check */
		sync_file_range(up->fd, (off_t)up->started, (off_t)(up->written - up->started),
				SYNC_FILE_RANGE_WRITE);
		if (up->started > up->waited)
			sync_file_range(up->fd, (off_t)up->waited, (off_t)(up->started - up->waited),
					SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
						SYNC_FILE_RANGE_WAIT_AFTER);
		up->waited = up->started;
		up->started = up->written;
	}
	return 0;
}

/* The pipe's threads: the two hashes, and with write the file's writer. */
static int start_pipe(struct image_store_upload *up, bool write, struct st_err *err)
{
	const struct image_pipe_consumer consumers[] = {
		{hash_block, up->md5}, {hash_block, up->sha512}, {write_block, up}};
	return image_pipe__new(consumers, write ? 3 : 2, &up->pipe, err);
}

/* Every byte fed is hashed and written (once). */
static int drain(struct image_store_upload *up, struct st_err *err)
{
	if (up->drained)
		return 0;
	up->drained = true;
	return image_pipe__drain(up->pipe, err);
}

/* A temporary file of the store for image id, locked: the lock says "a live
 * process writes this" (a kill -9 drops it). */
static int new_upload(struct image_store *s, const char *id, bool write,
		      struct image_store_upload **out, struct st_err *err)
{
	struct image_store_upload *up = calloc(1, sizeof(*up));
	if (!up)
		return err__fail(err, ENOMEM, "out of memory");
	up->fd = -1;
	snprintf(up->dir, sizeof(up->dir), "%s", s->dir);
	snprintf(up->final, sizeof(up->final), "%s/%s", s->dir, id);
	snprintf(up->tmp, sizeof(up->tmp), "%s/" TMP_PREFIX "%s.XXXXXX", s->dir, id);
	up->md5 = EVP_MD_CTX_new();
	up->sha512 = EVP_MD_CTX_new();
	if (!up->md5 || !up->sha512 || !EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) ||
	    !EVP_DigestInit_ex(up->sha512, EVP_sha512(), NULL)) {
		upload_free(up);
		return err__fail(err, EIO, "cannot set up the image hashes");
	}
	up->fd = mkostemp(up->tmp, O_CLOEXEC);
	if (up->fd < 0) {
		err__fail_errno(err, "cannot create %s", up->tmp);
		upload_free(up);
		return -1;
	}
	if (flock(up->fd, LOCK_EX | LOCK_NB) < 0) {
		err__fail_errno(err, "cannot lock %s", up->tmp);
		image_store__abort(up);
		return -1;
	}
	if (start_pipe(up, write, err) < 0) {
		image_store__abort(up);
		return -1;
	}
	*out = up;
	return 0;
}

int image_store__begin(struct image_store *s, const char *id, struct image_store_upload **out,
		       struct st_err *err)
{
	return new_upload(s, id, true, out, err);
}

/* Feeds the whole of up->fd to the hashes (read straight into the pipe). */
static int hash_file(struct image_store_upload *up, struct st_err *err)
{
	for (;;) {
		uint8_t *room;
		size_t len;
		if (image_pipe__space(up->pipe, &room, &len, err) < 0)
			return -1;
		ssize_t n = read(up->fd, room, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err__fail_errno(err, "reading %s", up->tmp);
		if (n == 0)
			return drain(up, err);
		image_pipe__commit(up->pipe, (size_t)n);
		up->size += (uint64_t)n;
	}
}

int image_store__adopt(struct image_store *s, const char *id, struct image_store *from,
		       struct image_store_upload **out, struct st_err *err)
{
	char src[4400];
	if (final_path(from, id, src, sizeof(src), err) < 0)
		return -1;
	cleanup_close int fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? err__fail_class(err, ENOENT, "Image %s has no staged data", id)
				       : err__fail_errno(err, "cannot open %s", src);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return err__fail_class(err, EBUSY, "Image %s's staged data is being imported", id);
	struct image_store_upload *up;
	if (new_upload(s, id, false, &up, err) < 0)
		return -1;
	/* the staged file takes the temporary name (replacing the empty one) */
	if (rename(src, up->tmp) < 0) {
		err__fail_errno(err, "cannot move %s", src);
		image_store__abort(up);
		return -1;
	}
	close(up->fd);
	up->fd = fd;
	fd = -1;
	if (hash_file(up, err) < 0) {
		image_store__abort(up);
		return -1;
	}
	*out = up;
	return 0;
}

int image_store__write(struct image_store_upload *up, const char *data, size_t len,
		       struct st_err *err)
{
	if (up->drained)
		return err__fail(err, EINVAL, "image data written after its end");
	if (image_pipe__feed(up->pipe, data, len, err) < 0)
		return -1;
	up->size += len;
	return 0;
}

uint64_t image_store__size(const struct image_store_upload *up)
{
	return up->size;
}

int image_store__fd(struct image_store_upload *up, struct st_err *err)
{
	return drain(up, err) < 0 ? -1 : up->fd;
}

static void hex(const unsigned char *in, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

int image_store__digests(struct image_store_upload *up, char md5[33], char sha512[129],
			struct st_err *err)
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (drain(up, err) < 0)
		return -1;
	EVP_DigestFinal_ex(up->md5, buf, &n);
	hex(buf, n, md5);
	EVP_DigestFinal_ex(up->sha512, buf, &n);
	hex(buf, n, sha512);
	return 0;
}

int image_store__commit(struct image_store_upload *up, struct st_err *err)
{
	int rc = 0;
	if (drain(up, err) < 0)
		rc = -1;
	else if (fsync(up->fd) < 0)
		rc = err__fail_errno(err, "fsync %s", up->tmp);
	else if (rename(up->tmp, up->final) < 0)
		rc = err__fail_errno(err, "rename %s", up->tmp);
	if (rc < 0) {
		image_store__abort(up);
		return rc;
	}
	cleanup_close int dfd = open(up->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		rc = err__fail_errno(err, "fsync %s", up->dir);
	upload_free(up);
	return rc;
}

void image_store__abort(struct image_store_upload *up)
{
	if (!up)
		return;
	unlink(up->tmp);
	upload_free(up);
}

static int final_path(struct image_store *s, const char *id, char *out, size_t size,
		      struct st_err *err)
{
	/* ids are the service's own UUIDs; refuse anything that could leave the directory */
	if (!*id || strchr(id, '/') || id[0] == '.')
		return err__fail_class(err, EINVAL, "bad image id");
	snprintf(out, size, "%s/%s", s->dir, id);
	return 0;
}

int image_store__open(struct image_store *s, const char *id, int *fd, uint64_t *size,
		      struct st_err *err)
{
	char path[4400];
	if (final_path(s, id, path, sizeof(path), err) < 0)
		return -1;
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return errno == ENOENT ? err__fail_class(err, ENOENT, "Image %s has no data", id)
				       : err__fail_errno(err, "cannot open %s", path);
	struct stat st;
	if (fstat(f, &st) < 0) {
		close(f);
		return err__fail_errno(err, "stat %s", path);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return 0;
}

int image_store__remove(struct image_store *s, const char *id, struct st_err *err)
{
	char path[4400];
	if (final_path(s, id, path, sizeof(path), err) < 0)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return err__fail_errno(err, "cannot remove %s", path);
	return 0;
}
