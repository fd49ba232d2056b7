/* The image cache: bases fetched once, checked before use, shared by qcow2
 * overlays (image_cache.h). This file keeps the bases and their states;
 * image_cache_gc.c decides which ones go. */
#include "host/image_cache.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "host/events.h"
#include "host/image_cache_gc.h"
#include "host/storage.h"
#include "host/storage_backend.h"
#include "host/storage_fetch.h"
#include "host/storage_format.h"
#include "host/storage_img.h"

#define PREFIX_MIN 8
#define TOKEN_MAX 8192

static const char *const state_names[] = {"ready", "fetching", "verifying", "missing"};

static struct image *find(struct image_cache *c, const char *sha)
{
	for (struct image *im = c->list; im; im = im->next)
		if (!strcmp(im->sha, sha))
			return im;
	return NULL;
}

/* The base id names: the hash, or a unique prefix of it. */
static int lookup(struct image_cache *c, const char *id, struct image **out, struct st_err *err)
{
	size_t n = id ? strlen(id) : 0;
	*out = NULL;
	for (struct image *im = c->list; n >= PREFIX_MIN && im; im = im->next) {
		if (strncasecmp(im->sha, id, n))
			continue;
		if (*out)
			return err__fail_class(err, EINVAL, "image id %s is ambiguous: give more of its sha512", id);
		*out = im;
	}
	if (!*out)
		return err__fail_class(err, ENOENT, "no cached image %s%s", id ? id : "",
				       n < PREFIX_MIN ? " (give its sha512, or at least 8 of its hex digits)" : "");
	return 0;
}

static void unlink_entry(struct image_cache *c, struct image *im)
{
	for (struct image **p = &c->list; *p; p = &(*p)->next)
		if (*p == im) {
			*p = im->next;
			break;
		}
	free(im->url);
	free(im);
	pthread_cond_broadcast(&c->changed);
}

void image_cache__remove(struct host *h, struct image *im, const char *event, const char *reason)
{
	struct image_cache *c = h->images;
	struct st_err err = {0};
	if (unlinkat(c->dfd, im->sha, 0) < 0 && errno != ENOENT)
		log__warn("image cache: removing %.16s...: %s", im->sha, strerror(errno));
	if (store__image_delete(h->store, im->sha, &err) < 0)
		log__warn("image cache: %s", err.msg);
	log__info("image cache: %s %.16s... (%s)", event, im->sha, reason);
	events__emit(event, "image", im->sha, NULL, reason);
	unlink_entry(c, im);
}

/* The row's "stat": the file as it was when its hash was checked. */
static void stat_text(const struct image *im, char *out, size_t len)
{
	const struct stat *sb = &im->seen;
	snprintf(out, len, "%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)sb->st_dev,
		 (unsigned long long)sb->st_ino, (long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
		 sb->st_mtim.tv_nsec, (long long)sb->st_ctim.tv_sec, sb->st_ctim.tv_nsec);
}

/* im's row as it is now (its stat only while verified). */
static int put_row(struct host *h, struct image *im, struct st_err *err)
{
	char st[160];
	stat_text(im, st, sizeof(st));
	const struct store_image row = {im->sha, im->url, im->fmt, im->verified ? st : NULL, im->size,
					im->virtual_size, im->created, im->last_used};
	if (store__image_put(h->store, &row, err) < 0)
		return -1;
	im->indexed = true;
	return 0;
}

/* The file goes; the entry and its row (its URL) stay, so the next use
 * fetches it again. */
static void mark_missing(struct host *h, struct image *im, const char *reason)
{
	struct st_err err = {0};
	if (unlinkat(h->images->dfd, im->sha, 0) < 0 && errno != ENOENT)
		log__warn("image cache: removing %.16s...: %s", im->sha, strerror(errno));
	im->state = IMAGE_MISSING;
	im->verified = false;
	if (put_row(h, im, &err) < 0)
		log__warn("image cache: %s", err.msg);
	log__info("image cache: image-corrupt %.16s... (%s): fetched again by its next use", im->sha, reason);
	events__emit("image-corrupt", "image", im->sha, NULL, reason);
	pthread_cond_broadcast(&h->images->changed);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Missing, another type of file, or not the size it was fetched at: the
 * reason, else NULL. */
static const char *check_size(struct image_cache *c, const struct image *im, struct stat *sb, char *why, size_t len)
{
	if (fstatat(c->dfd, im->sha, sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb->st_mode)) {
		snprintf(why, len, "the file is missing");
		return why;
	}
	if ((uint64_t)sb->st_size != im->size) {
		snprintf(why, len, "the file has %lld bytes, not %llu (truncated or grown)", (long long)sb->st_size,
			 (unsigned long long)im->size);
		return why;
	}
	return NULL;
}

/* Hashes the base; with unlock, host->lock is let go meanwhile (im stays: a
 * verifying base is neither removed nor used). */
static int hash_base(struct host *h, struct image *im, const struct stat *sb, bool unlock, char *why, size_t len)
{
	struct image_cache *c = h->images;
	char got[STORAGE_FETCH_SHA512_HEX + 1] = "";
	uint64_t bytes = 0;
	struct st_err err = {0};
	im->state = IMAGE_VERIFYING;
	im->hashes++;
	if (unlock)
		pthread_mutex_unlock(&h->lock);
	int fd = openat(c->dfd, im->sha, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int rc = fd < 0 ? err__fail_errno(&err, "open") : storage_fetch__hash_fd(fd, got, &bytes, &err);
	if (fd >= 0)
		close(fd);
	if (unlock)
		pthread_mutex_lock(&h->lock);
	im->state = IMAGE_READY;
	pthread_cond_broadcast(&c->changed);
	if (rc < 0)
		snprintf(why, len, "reading it failed: %.300s", err.msg);
	else if (strcmp(got, im->sha))
		snprintf(why, len, "its sha512 is now %.16s... (%llu bytes)", got, (unsigned long long)bytes);
	else {
		im->verified = true;
		im->seen = *sb;
		if (put_row(h, im, &err) < 0) /* a restart hashes it again: no harm */
			log__warn("image cache: %s", err.msg);
		return 0;
	}
	return -1;
}

/* 1: the base is whole and is what its hash says; 0: it was not, and is
 * missing now (event image-corrupt), why says how. */
static int verify(struct host *h, struct image *im, bool unlock, char *why, size_t len)
{
	struct image_cache *c = h->images;
	struct stat sb;
	if (!check_size(c, im, &sb, why, len)) {
		if (im->verified && same_file(&sb, &im->seen))
			return 1;
		if (hash_base(h, im, &sb, unlock, why, len) == 0)
			return 1;
	}
	mark_missing(h, im, why);
	return 0;
}

int image_cache__check(struct host *h, struct image *im)
{
	char why[ST_ERR_MSG_MAX];
	return verify(h, im, true, why, sizeof(why));
}

const char *image_cache__base_of(const struct image_cache *c, const char *path)
{
	size_t n = strlen(c->dir);
	if (!path || strncmp(path, c->dir, n) || path[n] != '/' || strchr(path + n + 1, '/'))
		return NULL;
	return path + n + 1;
}

/* The request's image: {"url", "sha512", "format", "token"}. */
struct image_req {
	const char *url, *fmt, *token;
	char sha[STORAGE_FETCH_SHA512_HEX + 1];
};

static int parse_image(const json_t *in, struct image_req *rq, struct st_err *err)
{
	static const char *const keys[] = {"url", "sha512", "format", "token", NULL};
	if (!json_is_object(in))
		return err__fail_class(err, EINVAL, "the image is an object {\"url\", \"sha512\", \"format\"}");
	if (json_util__check_keys(in, "image", keys, err) < 0)
		return err__class(err, EINVAL, -1);
	rq->url = json_string_value(json_object_get(in, "url"));
	rq->token = json_string_value(json_object_get(in, "token"));
	const char *s = json_string_value(json_object_get(in, "sha512"));
	if (!rq->url || (strncmp(rq->url, "http://", 7) && strncmp(rq->url, "https://", 8)))
		return err__fail_class(err, EINVAL, "the image's url must be an http:// or https:// URL");
	if (!storage_fetch__sha512_ok(s))
		return err__fail_class(err, EINVAL, "the image's sha512 must be 128 hex digits");
	if (json_object_get(in, "token") && (!rq->token || !*rq->token || strlen(rq->token) > TOKEN_MAX ||
					     strpbrk(rq->token, "\r\n")))
		return err__fail_class(err, EINVAL, "the image's token must be a string of 1-%d characters, one line",
				       TOKEN_MAX);
	for (size_t i = 0; i <= STORAGE_FETCH_SHA512_HEX; i++)
		rq->sha[i] = (char)tolower((unsigned char)s[i]);
	/* a base is handed to guests: what it is gets checked, raw included */
	return storage_format__parse(json_string_value(json_object_get(in, "format")), &rq->fmt, err);
}

/* What a download found: into im only once the base is there, with host->lock. */
struct fetched {
	uint64_t size, virtual_size;
};

/* The download from url into a hidden file of the cache directory, hashed
 * and format-checked, renamed to its hash: without host->lock. */
static int download(struct host *h, const struct image *im, const char *url, const char *token, struct fetched *f,
		    struct st_err *err)
{
	struct image_cache *c = h->images;
	const struct storage_pool p = {.host = h, .name = "image-cache", .path = c->dir};
	const struct storage_fetch_progress pr = {"image-progress", "image", im->sha, "fetch"};
	char got[STORAGE_FETCH_SHA512_HEX + 1] = "";
	struct storage_upload u;
	if (storage_dir__backend.volume_upload_begin(&p, im->sha, &u, err) < 0)
		return -1;
	char shown[1024];
	storage_fetch__url_shown(url, shown, sizeof(shown));
	int rc = storage_fetch__download(url, token, u.fd, &pr, got, &f->size, err);
	if (rc == 0 && strcmp(got, im->sha))
		rc = err__fail_class(err, EINVAL, "sha512 mismatch for %s: expected %.16s..., got %.16s... (%llu bytes); "
				     "nothing was cached", shown, im->sha, got, (unsigned long long)f->size);
	if (rc == 0)
		rc = storage__check_content(u.fd, "image", im->fmt, &f->virtual_size, err);
	if (rc == 0 && fchmod(u.fd, 0444) < 0)
		rc = err__fail_errno(err, "image cache");
	if (rc < 0) {
		storage__volume_upload_abort(&u);
		return -1;
	}
	return storage_dir__backend.volume_upload_commit(&p, im->sha, &u, err);
}

/* A new entry (not in the store yet) for the request's base. */
static struct image *add_entry(struct image_cache *c, const char *sha, const char *url, const char *fmt)
{
	struct image *im = calloc(1, sizeof(*im));
	if (!im || !(im->url = strdup(url))) {
		free(im);
		return NULL;
	}
	snprintf(im->sha, sizeof(im->sha), "%s", sha);
	snprintf(im->fmt, sizeof(im->fmt), "%s", fmt);
	im->state = IMAGE_MISSING;
	im->next = c->list;
	c->list = im;
	return im;
}

/* Fetches the file of im (new or missing) from url, host->lock let go
 * meanwhile: 1 when it is ready; on failure a new entry goes, a missing one
 * stays missing (its row and URL kept). */
static int fetch(struct host *h, struct image *im, const char *url, const char *token, struct st_err *err)
{
	struct image_cache *c = h->images;
	cleanup_free char *u = strdup(url);
	if (!u) {
		if (!im->indexed)
			unlink_entry(c, im);
		return err__fail(err, ENOMEM, "image cache");
	}
	struct fetched f = {0};
	im->state = IMAGE_FETCHING;
	events__emit("image-fetch-started", "image", im->sha, NULL, "fetch");
	pthread_mutex_unlock(&h->lock);
	int rc = download(h, im, u, token, &f, err);
	pthread_mutex_lock(&h->lock);
	if (rc == 0 && fstatat(c->dfd, im->sha, &im->seen, AT_SYMLINK_NOFOLLOW) < 0)
		rc = err__fail_errno(err, "image cache");
	if (rc == 0) {
		im->size = f.size;
		im->virtual_size = f.virtual_size;
		free(im->url);
		im->url = u;
		u = NULL;
		im->last_used = (int64_t)time(NULL);
		if (!im->indexed)
			im->created = im->last_used;
		im->verified = true;
		rc = put_row(h, im, err);
	}
	if (rc < 0) {
		unlinkat(c->dfd, im->sha, 0);
		events__emit("image-fetch-failed", "image", im->sha, NULL, err->msg);
		im->verified = false;
		if (im->indexed) {
			im->state = IMAGE_MISSING;
			pthread_cond_broadcast(&c->changed);
		} else {
			unlink_entry(c, im);
		}
		return -1;
	}
	im->state = IMAGE_READY;
	pthread_cond_broadcast(&c->changed);
	events__emit("image-cached", "image", im->sha, NULL, "fetch");
	return 1;
}

/* The base of the request's hash, ready and checked: 1 fetched now, 0 was there. */
static int ensure(struct host *h, const struct image_req *rq, struct image **out, struct st_err *err)
{
	const char *sha = rq->sha, *fmt = rq->fmt;
	struct image_cache *c = h->images;
	bool joined = false;
	for (;;) {
		struct image *im = find(c, sha);
		if (im && (im->state == IMAGE_FETCHING || im->state == IMAGE_VERIFYING)) {
			if (im->state == IMAGE_FETCHING && !joined)
				events__emit("image-fetch-joined", "image", sha, NULL, "waits for the download under way");
			joined = true;
			pthread_cond_wait(&c->changed, &h->lock); /* one download (or hash) for all */
			continue;
		}
		if (!im && !(im = add_entry(c, sha, rq->url, fmt)))
			return err__fail(err, ENOMEM, "image cache");
		if (strcmp(im->fmt, fmt))
			return err__fail_class(err, EINVAL, "image %.16s... is %s, not %s", sha, im->fmt, fmt);
		if (im->state == IMAGE_MISSING) {
			if (fetch(h, im, rq->url, rq->token, err) < 0)
				return -1;
			*out = im;
			return 1;
		}
		if (image_cache__check(h, im) == 0)
			continue; /* it was corrupt, and is missing now: fetched again */
		/* the newest URL: a start that finds the file gone fetches from it (the cloud's are signed, and expire) */
		if (strcmp(im->url, rq->url)) {
			char *u = strdup(rq->url);
			struct st_err uerr = {0};
			if (u) {
				free(im->url);
				im->url = u;
				if (put_row(h, im, &uerr) < 0)
					log__warn("image cache: %s", uerr.msg);
			}
		}
		*out = im;
		return 0;
	}
}

/* A missing base under a disk, fetched again from its URL (no token: a URL
 * that needs one fails, and says so). */
static int refetch(struct host *h, struct image *im, bool unlock, struct st_err *err)
{
	char id[24], url[512];
	struct st_err ferr = {0};
	snprintf(id, sizeof(id), "%.16s", im->sha);
	storage_fetch__url_shown(im->url, url, sizeof(url));
	if (!unlock)
		return err__fail_class(err, EBUSY, "its base image %s... (from %s) is missing from the image cache: "
				       "start the domain to fetch it again", id, url);
	cleanup_free char *from = strdup(im->url);
	if (!from)
		return err__fail(err, ENOMEM, "image cache");
	if (fetch(h, im, from, NULL, &ferr) < 0)
		return err__fail_class(err, EBUSY, "its base image %s... is missing from the image cache and fetching it "
				       "again from %s failed: %.400s", id, url, ferr.msg);
	return 0;
}

/* A base under a disk: whole, and what its hash says, now. */
static int check_disk_base(struct host *h, const char *sha, bool unlock, struct st_err *err)
{
	struct image_cache *c = h->images;
	char why[ST_ERR_MSG_MAX - 100];
	for (bool fetched = false;;) {
		struct image *im = find(c, sha);
		if (!im)
			return err__fail_class(err, EBUSY, "its base image %.16s... is not in the image cache (it was "
					       "deleted): make the volume again", sha);
		if (im->state == IMAGE_FETCHING || im->state == IMAGE_VERIFYING) {
			if (!unlock)
				return err__fail_class(err, EBUSY, "its base image %.16s... is being %s: try again", sha,
						       im->state == IMAGE_FETCHING ? "fetched" : "verified");
			pthread_cond_wait(&c->changed, &h->lock); /* the one hash (or download) for all */
			continue;
		}
		if (im->state == IMAGE_MISSING) {
			/* fetched once: a base that is missing again at once is not fetched in a loop */
			if (fetched)
				return err__fail_class(err, EBUSY, "its base image %.16s... went missing again: try again", sha);
			fetched = true;
			if (refetch(h, im, unlock, err) < 0)
				return -1;
			continue;
		}
		if (verify(h, im, unlock, why, sizeof(why)) == 1)
			return 0;
		/* corrupt, and missing now: the next turn fetches it again */
	}
}

int image_cache__check_disk(struct host *h, const char *path, const char *fmt, bool unlock, struct st_err *err)
{
	if (!h->images || !path || !fmt)
		return 0;
	cleanup_free char *p = strdup(path), *f = strdup(fmt);
	for (unsigned depth = 0; p && f && depth < 16; depth++) {
		const char *sha = image_cache__base_of(h->images, p);
		if (sha)
			return check_disk_base(h, sha, unlock, err);
		json_t *info;
		if (strcmp(f, "qcow2") || storage_img__info(p, "qcow2", &info, NULL) < 0)
			return 0; /* no backing file (or the VMM will say what is wrong) */
		const char *b = json_string_value(json_object_get(info, "backing-filename"));
		const char *bf = json_string_value(json_object_get(info, "backing-format"));
		free(p);
		free(f);
		p = b ? strdup(b) : NULL;
		f = b ? strdup(bf ? bf : "raw") : NULL;
		json_decref(info);
		if (!b)
			return 0;
	}
	return p && f ? 0 : err__fail(err, ENOMEM, "disk check");
}

void image_cache__touch(struct host *h, struct image *im)
{
	struct st_err err = {0};
	im->last_used = (int64_t)time(NULL);
	if (store__image_touch(h->store, im->sha, im->last_used, &err) < 0)
		log__warn("image cache: %s", err.msg);
}

static json_t *describe(struct image_cache *c, const struct image *im, json_t *users)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", c->dir, im->sha);
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:s, s:b, s:I}", "sha512", im->sha, "url", im->url,
			      "format", im->fmt, "size", (json_int_t)im->size, "virtual_size",
			      (json_int_t)im->virtual_size, "path", path, "created", (json_int_t)im->created,
			      "last_used", (json_int_t)im->last_used, "state", state_names[im->state], "verified",
			      im->verified, "hashes", (json_int_t)im->hashes);
	json_t *u = users ? json_object_get(users, im->sha) : NULL;
	if (users)
		json_object_set_new(o, "users", u ? json_incref(u) : json_array());
	return o;
}

/* Info with its users when they can be found (else without "users"). */
static json_t *info_of(struct host *h, const struct image *im)
{
	json_t *users = NULL;
	struct st_err err = {0};
	if (image_cache_gc__users(h, &users, &err) < 0)
		log__warn("image cache: %s", err.msg);
	json_t *o = describe(h->images, im, users);
	json_decref(users);
	return o;
}

int image_cache__fetch(struct host *h, const json_t *in, json_t **out, bool *created, struct st_err *err)
{
	struct image_req rq;
	struct image *im;
	if (parse_image(in, &rq, err) < 0)
		return -1;
	int rc = ensure(h, &rq, &im, err);
	if (rc < 0)
		return -1;
	*created = rc == 1;
	image_cache__touch(h, im);
	*out = info_of(h, im);
	if (*created)
		image_cache_gc__after_fetch(h, im);
	return 0;
}

int image_cache__create_volume(struct host *h, const char *pool, const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "image", "capacity", "format", NULL};
	if (json_util__check_keys(in, "request", keys, err) < 0)
		return err__class(err, EINVAL, -1);
	const char *vol = json_string_value(json_object_get(in, "name"));
	const char *vfmt = json_string_value(json_object_get(in, "format"));
	if (vfmt && strcmp(vfmt, "qcow2"))
		return err__fail_class(err, EINVAL, "a volume on a cached image is a qcow2 overlay, not %s", vfmt);
	struct image_req rq;
	struct image *im;
	if (parse_image(json_object_get(in, "image"), &rq, err) < 0 ||
	    storage__volume_check_free(h, pool, vol, err) < 0)
		return -1;
	int rc = ensure(h, &rq, &im, err);
	/* the lock was let go: the name may be taken now (im stays: the lock is held from here on) */
	if (rc < 0 || storage__volume_check_free(h, pool, vol, err) < 0)
		return -1;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", h->images->dir, im->sha);
	image_cache__touch(h, im);
	if (storage__volume_create_overlay(h, pool, vol, path, im->fmt, json_object_get(in, "capacity"),
					   im->virtual_size, out, err) < 0)
		return -1;
	if (rc == 1)
		image_cache_gc__after_fetch(h, im);
	return 0;
}

json_t *image_cache__list(struct host *h)
{
	json_t *users = NULL, *list = json_array();
	struct st_err err = {0};
	if (image_cache_gc__users(h, &users, &err) < 0)
		log__warn("image cache: %s", err.msg);
	for (struct image *im = h->images->list; im; im = im->next)
		json_array_append_new(list, describe(h->images, im, users));
	json_decref(users);
	return list;
}

int image_cache__info(struct host *h, const char *id, json_t **out, struct st_err *err)
{
	struct image *im;
	if (lookup(h->images, id, &im, err) < 0)
		return -1;
	*out = info_of(h, im);
	return 0;
}

int image_cache__delete(struct host *h, const char *id, struct st_err *err)
{
	struct image *im;
	if (lookup(h->images, id, &im, err) < 0)
		return -1;
	if (im->state == IMAGE_FETCHING || im->state == IMAGE_VERIFYING)
		return err__fail_class(err, EBUSY, "image %.16s... is %s", im->sha, state_names[im->state]);
	json_t *users = NULL;
	if (image_cache_gc__users(h, &users, err) < 0)
		return err__prefix(err, "cannot tell whether image %.16s... is in use", im->sha);
	json_t *u = json_object_get(users, im->sha);
	if (u) {
		err__fail_class(err, EBUSY, "image %.16s... is in use by %zu volume(s) or domain(s), first %s", im->sha,
				json_array_size(u), json_string_value(json_array_get(u, 0)));
		json_decref(users);
		return -1;
	}
	json_decref(users);
	image_cache__remove(h, im, "image-removed", "deleted");
	return 0;
}

int image_cache__verify(struct host *h, const char *id, json_t **out, struct st_err *err)
{
	struct image *im;
	if (lookup(h->images, id, &im, err) < 0)
		return -1;
	while (im->state == IMAGE_FETCHING || im->state == IMAGE_VERIFYING) {
		char sha[STORAGE_FETCH_SHA512_HEX + 1];
		snprintf(sha, sizeof(sha), "%s", im->sha);
		pthread_cond_wait(&h->images->changed, &h->lock);
		if (!(im = find(h->images, sha)))
			return err__fail_class(err, ENOENT, "image %.16s... is gone", sha);
	}
	if (im->state == IMAGE_MISSING)
		return err__fail_class(err, ENOENT, "image %.16s... is missing: its next use fetches it again", im->sha);
	im->verified = false; /* hash it now, whatever the file looks like */
	if (image_cache__check(h, im) == 0)
		return err__fail_class(err, ENOENT, "image %.16s... was corrupt and has been removed: its next use "
				       "fetches it again", im->sha);
	*out = info_of(h, im);
	return 0;
}

/* What the store says, checked against the directory: a base whose file is
 * gone or of another size is missing now; one whose file is the one last
 * hashed (its row's stat) is trusted, the others are hashed before use. */
static int load(struct host *h, struct st_err *err)
{
	struct image_cache *c = h->images;
	json_t *rows = store__image_list(h->store), *r;
	size_t i;
	json_array_foreach(rows, i, r) {
		struct image *im = calloc(1, sizeof(*im));
		if (!im || !(im->url = strdup(json_string_value(json_object_get(r, "url"))))) {
			free(im);
			json_decref(rows);
			return err__fail(err, ENOMEM, "image cache");
		}
		snprintf(im->sha, sizeof(im->sha), "%s", json_string_value(json_object_get(r, "sha512")));
		snprintf(im->fmt, sizeof(im->fmt), "%s", json_string_value(json_object_get(r, "format")));
		im->size = (uint64_t)json_integer_value(json_object_get(r, "size"));
		im->virtual_size = (uint64_t)json_integer_value(json_object_get(r, "virtual_size"));
		im->created = json_integer_value(json_object_get(r, "created"));
		im->last_used = json_integer_value(json_object_get(r, "last_used"));
		im->indexed = true;
		im->next = c->list;
		c->list = im;
		char why[256], now[160];
		const char *was = json_string_value(json_object_get(r, "stat"));
		if (check_size(c, im, &im->seen, why, sizeof(why))) {
			mark_missing(h, im, why);
			continue;
		}
		stat_text(im, now, sizeof(now));
		im->verified = was && !strcmp(was, now);
	}
	json_decref(rows);
	return 0;
}

/* Hidden files of downloads a killed stratad left (where the file system
 * has no O_TMPFILE). */
static void drop_leftovers(struct image_cache *c)
{
	int fd = dup(c->dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	for (struct dirent *de; (de = readdir(d));)
		if (!strncmp(de->d_name, ".upload-", 8))
			unlinkat(c->dfd, de->d_name, 0);
	closedir(d);
}

int image_cache__open(struct host *h, const struct image_cache_opts *o, struct st_err *err)
{
	struct image_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return err__fail(err, ENOMEM, "image cache");
	h->images = c;
	c->dfd = -1;
	c->max_age_s = o->max_age_s;
	c->max_bytes = o->max_bytes;
	c->interval_s = o->interval_s ? o->interval_s : 1;
	pthread_cond_init(&c->changed, NULL);
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &attr);
	pthread_condattr_destroy(&attr);
	if (mkdir(o->dir, 0711) < 0 && errno != EEXIST)
		return err__fail_errno(err, "--image-cache %s", o->dir);
	c->dir = realpath(o->dir, NULL);
	if (!c->dir)
		return err__fail_errno(err, "--image-cache %s", o->dir);
	c->dfd = open(c->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (c->dfd < 0)
		return err__fail_errno(err, "--image-cache %s", c->dir);
	drop_leftovers(c);
	return load(h, err);
}

void image_cache__close(struct host *h)
{
	struct image_cache *c = h->images;
	if (!c)
		return;
	while (c->list)
		unlink_entry(c, c->list);
	if (c->dfd >= 0)
		close(c->dfd);
	pthread_cond_destroy(&c->changed);
	pthread_cond_destroy(&c->wake);
	free(c->dir);
	free(c);
	h->images = NULL;
}
