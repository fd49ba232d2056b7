/* Which image cache bases go, and the maintenance thread (image_cache_gc.h). */
#include "host/image_cache_gc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "host/image_cache.h"
#include "host/storage.h"

static void add_user(json_t *users, const char *sha, const char *who)
{
	json_t *a = json_object_get(users, sha);
	if (!a) {
		a = json_array();
		json_object_set_new(users, sha, a);
	}
	json_array_append_new(a, json_string(who));
}

static int pool_users(struct host *h, const char *pool, json_t *users, struct st_err *err)
{
	json_t *vols, *v;
	size_t i;
	if (storage__volume_list(h, pool, &vols, err) < 0)
		return err__prefix(err, "pool %s", pool);
	json_array_foreach(vols, i, v) {
		const char *sha = image_cache__base_of(h->images, json_string_value(json_object_get(v, "backing")));
		char who[256];
		snprintf(who, sizeof(who), "%s/%s", pool, json_string_value(json_object_get(v, "name")));
		if (sha)
			add_user(users, sha, who);
	}
	json_decref(vols);
	return 0;
}

int image_cache_gc__users(struct host *h, json_t **out, struct st_err *err)
{
	json_t *users = json_object(), *pools = store__pool_list(h->store), *p;
	size_t i;
	int rc = 0;
	/* only dir pools have overlays (logical ones refuse them) */
	json_array_foreach(pools, i, p)
		if (rc == 0 && !strcmp(json_string_value(json_object_get(p, "type")), "dir"))
			rc = pool_users(h, json_string_value(json_object_get(p, "name")), users, err);
	json_decref(pools);
	for (struct dom *d = h->doms; rc == 0 && d; d = d->next) {
		json_t *disk;
		char who[128];
		snprintf(who, sizeof(who), "domain %s", d->name);
		json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
			const char *sha = image_cache__base_of(h->images, json_string_value(json_object_get(disk, "path")));
			if (sha)
				add_user(users, sha, who);
		}
		/* a cloud's server boots the cached kernel and ramdisk themselves */
		static const char *const boot[] = {"kernel", "initrd"};
		for (size_t k = 0; k < 2; k++) {
			json_t *os = json_object_get(d->def, "os");
			const char *sha = image_cache__base_of(h->images, json_string_value(json_object_get(os, boot[k])));
			if (sha)
				add_user(users, sha, who);
		}
	}
	if (rc < 0) {
		json_decref(users);
		return -1;
	}
	*out = users;
	return 0;
}

static void drop(struct host *h, struct image *im, json_t *removed, const char *reason)
{
	json_array_append_new(removed, json_pack("{s:s, s:s}", "sha512", im->sha, "reason", reason));
	image_cache__remove(h, im, "image-removed", reason);
}

/* The least recently used base that may go, or NULL. */
static struct image *oldest_unused(struct image_cache *c, json_t *users, const struct image *keep)
{
	struct image *best = NULL;
	for (struct image *im = c->list; im; im = im->next)
		if (im->state == IMAGE_READY && im != keep && !json_object_get(users, im->sha) &&
		    (!best || im->last_used < best->last_used))
			best = im;
	return best;
}

/* The pass; keep (if not NULL) stays whatever the limits say. */
static int prune(struct host *h, const struct image *keep, json_t **out, struct st_err *err)
{
	struct image_cache *c = h->images;
	json_t *users;
	if (image_cache_gc__users(h, &users, err) < 0)
		return err__prefix(err, "image cache: cannot tell which bases are in use, nothing removed");
	int64_t now = (int64_t)time(NULL);
	uint64_t total = 0;
	json_t *removed = json_array();
	/* a base in use is in use now: its age starts when its last user goes;
	 * a missing one is kept only for its users, to fetch it again */
	for (struct image *im = c->list, *next; im; im = next) {
		next = im->next;
		bool used = json_object_get(users, im->sha);
		if (im->state == IMAGE_MISSING) {
			if (!used)
				drop(h, im, removed, "its file is missing and nothing uses it");
			continue;
		}
		total += im->size;
		if (im->state == IMAGE_READY && used)
			image_cache__touch(h, im);
	}
	for (struct image *im = c->list, *next; c->max_age_s && im; im = next) {
		next = im->next;
		if (im->state != IMAGE_READY || im == keep || json_object_get(users, im->sha) ||
		    now - im->last_used < (int64_t)c->max_age_s)
			continue;
		char why[96];
		snprintf(why, sizeof(why), "unused for %lld s (max age %llu s)", (long long)(now - im->last_used),
			 (unsigned long long)c->max_age_s);
		total -= im->size;
		drop(h, im, removed, why);
	}
	struct image *im;
	while (c->max_bytes && total > c->max_bytes && (im = oldest_unused(c, users, keep))) {
		char why[96];
		snprintf(why, sizeof(why), "the cache held %llu bytes (max %llu)", (unsigned long long)total,
			 (unsigned long long)c->max_bytes);
		total -= im->size;
		drop(h, im, removed, why);
	}
	json_decref(users);
	*out = json_pack("{s:o}", "removed", removed);
	return 0;
}

int image_cache_gc__prune(struct host *h, json_t **out, struct st_err *err)
{
	return prune(h, NULL, out, err);
}

static void pass(struct host *h, const struct image *keep)
{
	json_t *out = NULL;
	struct st_err err = {0};
	if (prune(h, keep, &out, &err) < 0)
		log__warn("%s", err.msg);
	json_decref(out);
}

void image_cache_gc__after_fetch(struct host *h, const struct image *im)
{
	if (h->images->max_bytes)
		pass(h, im);
}

/* A base this stratad has not hashed yet, first. */
static struct image *unverified(struct image_cache *c)
{
	for (struct image *im = c->list; im; im = im->next)
		if (im->state == IMAGE_READY && !im->verified)
			return im;
	return NULL;
}

static void *maintain(void *arg)
{
	struct host *h = arg;
	struct image_cache *c = h->images;
	pthread_mutex_lock(&h->lock);
	while (!c->stopping) {
		struct image *im;
		while (!c->stopping && (im = unverified(c)))
			image_cache__check(h, im);
		pass(h, NULL);
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)c->interval_s;
		while (!c->stopping && pthread_cond_timedwait(&c->wake, &h->lock, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

int image_cache_gc__start(struct host *h, struct st_err *err)
{
	int rc = pthread_create(&h->images->thread, NULL, maintain, h);
	if (rc)
		return err__fail(err, rc, "image cache thread");
	h->images->running = true;
	return 0;
}

void image_cache_gc__stop(struct host *h)
{
	struct image_cache *c = h->images;
	if (!c || !c->running)
		return;
	pthread_mutex_lock(&h->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->wake);
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&h->lock);
	pthread_join(c->thread, NULL);
	c->running = false;
}
