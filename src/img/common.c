#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "img/img.h"

int img__die(const struct st_err *err)
{
	err__print(err);
	return 1;
}

int img__usage(const struct img_cmd *c, bool error)
{
	fprintf(error ? stderr : stdout, "usage: strata-img %s\n", c->usage);
	return error ? 1 : 0;
}

static int parse_bool(const char *k, const char *v, bool *out, struct st_err *err)
{
	if (!strcmp(v, "on") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "false"))
		*out = false;
	else
		return err__fail(err, 0, "%s must be on or off, not '%s'", k, v);
	return 0;
}

int img__parse_create_opts(char *list, struct blk_create_opts *o, struct st_err *err)
{
	char *save = NULL;
	for (char *kv = strtok_r(list, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v)
			return err__fail(err, 0, "option '%s' needs a value (key=value)", kv);
		*v++ = 0;
		uint64_t n;
		if (!strcmp(kv, "cluster_size")) {
			if (util__parse_size(v, 1, &n, err) < 0)
				return -1;
			o->cluster_size = n;
		} else if (!strcmp(kv, "compat")) {
			if (!strcmp(v, "0.10") || !strcmp(v, "v2"))
				o->compat = 2;
			else if (!strcmp(v, "1.1") || !strcmp(v, "v3"))
				o->compat = 3;
			else
				return err__fail(err, 0, "compat must be 0.10 or 1.1, not '%s'", v);
		} else if (!strcmp(kv, "lazy_refcounts")) {
			if (parse_bool(kv, v, &o->lazy_refcounts, err) < 0)
				return -1;
		} else if (!strcmp(kv, "refcount_bits")) {
			if (util__parse_u64(v, 64, &n, err) < 0)
				return -1;
			o->refcount_bits = (int)n;
		} else if (!strcmp(kv, "preallocation")) {
			o->preallocation = v;
		} else if (!strcmp(kv, "compression_type")) {
			o->compression = v;
		} else if (!strcmp(kv, "backing_file")) {
			o->backing = v;
		} else if (!strcmp(kv, "backing_fmt")) {
			o->backing_fmt = v;
		} else if (!strcmp(kv, "size")) {
			if (util__parse_size(v, 1, &o->size, err) < 0)
				return -1;
		} else {
			return err__fail(err, 0, "unknown option '%s'", kv);
		}
	}
	return 0;
}

/* Cache sizes from the environment (qemu-img takes them through --image-opts). */
static int cache_sizes(struct blk_open_opts *o, struct st_err *err)
{
	const char *l2 = getenv("STRATA_IMG_L2_CACHE_SIZE"), *rc = getenv("STRATA_IMG_REFCOUNT_CACHE_SIZE");
	if (l2 && util__parse_size(l2, 1, &o->l2_cache_bytes, err) < 0)
		return err__prefix(err, "STRATA_IMG_L2_CACHE_SIZE");
	if (rc && util__parse_size(rc, 1, &o->refcount_cache_bytes, err) < 0)
		return err__prefix(err, "STRATA_IMG_REFCOUNT_CACHE_SIZE");
	return 0;
}

int img__open(const char *path, const char *fmt, bool writable, bool no_backing, struct blk **out,
	     struct st_err *err)
{
	return img__open_cache(path, fmt, writable, no_backing, &(struct img_cache){0}, out, err);
}

int img__open_cache(const char *path, const char *fmt, bool writable, bool no_backing, const struct img_cache *cache,
		   struct blk **out, struct st_err *err)
{
	struct blk_open_opts o = {.format = fmt, .writable = writable, .no_backing = no_backing,
				  .direct = cache->direct, .no_sync = cache->no_sync};
	if (cache_sizes(&o, err) < 0)
		return -1;
	return block__open(path, &o, out, err);
}

void img__progress(bool on, uint64_t done, uint64_t total)
{
	if (!on)
		return;
	static int last = -1;
	int pm = total ? (int)(done * 10000 / total) : 10000;
	if (pm == last)
		return;
	last = pm;
	printf("    (%d.%02d/100%%)\r", pm / 100, pm % 100);
	if (done >= total)
		printf("\n");
	fflush(stdout);
}

int img__chain_status(struct blk *b, uint64_t off, uint64_t len, struct block__status *st, unsigned *depth,
		     struct blk **layer, struct st_err *err)
{
	uint64_t want = len;
	unsigned d = 0;
	struct blk *cur = b;
	for (;;) {
		if (off >= cur->size) { /* past a shorter backing image: zeros */
			st->kind = BLK_ZERO;
			st->len = want;
			st->has_offset = false;
			st->compressed = false;
			break;
		}
		uint64_t l = ST_MIN(want, cur->size - off);
		if (block__status(cur, off, l, st, err) < 0)
			return -1;
		want = st->len;
		if (st->kind != BLK_UNALLOC || !cur->backing) {
			if (st->kind == BLK_UNALLOC)
				st->kind = BLK_ZERO;
			break;
		}
		cur = cur->backing;
		d++;
	}
	if (depth)
		*depth = d;
	if (layer)
		*layer = cur;
	return 0;
}

bool img__is_zero(const void *buf, uint64_t len)
{
	const uint8_t *p = buf;
	/* word ORs over 256-byte blocks: the compiler vectorises them, and a
	 * data block is usually rejected at its first words */
	for (; len >= 256; p += 256, len -= 256) {
		uint64_t acc = 0, w;
		for (int i = 0; i < 256; i += 8) {
			memcpy(&w, p + i, 8);
			acc |= w;
		}
		if (acc)
			return false;
	}
	for (; len; p++, len--)
		if (*p)
			return false;
	return true;
}

int img__parse_cache(const char *mode, struct img_cache *c, struct st_err *err)
{
	if (!strcmp(mode, "unsafe"))
		*c = (struct img_cache){.no_sync = true};
	else if (!strcmp(mode, "writeback") || !strcmp(mode, "writethrough"))
		*c = (struct img_cache){0};
	else if (!strcmp(mode, "none") || !strcmp(mode, "directsync"))
		*c = (struct img_cache){.direct = true};
	else
		return err__fail(err, 0, "unknown cache mode '%s'", mode);
	return 0;
}
