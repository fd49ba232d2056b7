/* convert: workers read (and compress) chunks in parallel; writes happen in
 * chunk order so the target is laid out sequentially, as qemu-img does
 * without -W. Zero ranges are skipped on a fresh target. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "img/img.h"
#include "img/srcmap.h"

#define CHUNK (2u << 20)
#define HUGE (2u << 20)

struct conv {
	struct blk *src, *dst;
	uint64_t size, chunk, unit;
	uint64_t base, total;  /* where this source goes in the target (several are concatenated) */
	bool compress, fresh, progress, diff_backing, in_order, detect_zero;
	struct src_map *maps;  /* by depth in the source chain; addr NULL when not mapped */
	unsigned nmaps;
	pthread_mutex_t mu;
	/* turn[i % workers]: the worker holding chunk i waits there for its turn
	 * to write; with at most one chunk per worker in flight, no two waiters
	 * share one (a broadcast to all woke every worker for every chunk) */
	pthread_cond_t turn[16];
	unsigned workers;
	uint64_t next_chunk, next_write, done;
	bool failed;
	struct st_err err;
};

/* Source files are mapped read-only (srcmap.c): data already in the page
 * cache is checked for zeros, compared and written straight from there, so it
 * is copied once (into the target) instead of twice (page cache -> buffer ->
 * target). Data not in the page cache is read with O_DIRECT into the chunk
 * buffer: no page cache to fill, and parallel reads keep the disk busy. */
struct piece { /* one unit of a chunk, after the read phase */
	const uint8_t *src; /* its bytes: in the chunk buffer or a source mapping */
	bool known_zero;    /* block status said zero: no need to look */
	bool zero;
	bool same;          /* equal to the target's backing: nothing to write */
	size_t clen;        /* compressed length, 0: store plain */
};

static void map_sources(struct conv *c)
{
	unsigned n = 0;
	for (struct blk *l = c->src; l; l = l->backing)
		n++;
	c->maps = calloc(n, sizeof(*c->maps));
	if (!c->maps)
		return; /* everything is read with pread */
	c->nmaps = n;
	unsigned i = 0;
	for (struct blk *l = c->src; l; l = l->backing, i++)
		srcmap__open(&c->maps[i], l);
}

static void unmap_sources(struct conv *c)
{
	for (unsigned i = 0; i < c->nmaps; i++)
		srcmap__close(&c->maps[i]);
	free(c->maps);
	c->maps = NULL;
	c->nmaps = 0;
}

/* A source shrunk by someone else fails the convert, whatever error (or
 * none: a vanished mapped page reads as zeros) the shrinking caused. */
static int check_sources(struct conv *c, struct st_err *err)
{
	for (unsigned i = 0; i < c->nmaps; i++)
		if (srcmap__check(&c->maps[i], err) < 0)
			return -1;
	return 0;
}

/* Whole units of a mapped extent: pointers into the mapping when its pages
 * are all cached, else one O_DIRECT read into buf (when aligned). */
static int read_mapped(const struct src_map *m, uint8_t *buf, uint8_t *vec, struct piece *pc, uint64_t unit,
		       uint64_t first, uint64_t last, uint64_t host, struct st_err *err)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), len = last - first;
	uint64_t p0 = host & ~(page - 1), np = (host + len - p0 + page - 1) / page;
	bool cached = mincore((void *)(m->addr + p0), np * page, vec) == 0;
	for (uint64_t i = 0; cached && i < np; i++)
		cached = vec[i] & 1;
	bool direct = !cached && m->dfd >= 0 && !(host % m->dio_align) && !(len % m->dio_align) &&
		      !((uintptr_t)(buf + first) % m->dio_align);
	if (direct) {
		if (util__pread_all(m->dfd, buf + first, len, (off_t)host, err) < 0)
			return err__prefix(err, "reading the source");
		return 0;
	}
	for (uint64_t u = first; u < last; u += unit)
		pc[u / unit].src = m->addr + host + (u - first);
	return 0;
}

static int read_chunk(struct conv *c, uint8_t *buf, uint8_t *vec, struct piece *pc, uint64_t off, uint64_t len,
		      struct st_err *err)
{
	for (uint64_t u = 0, i = 0; u < len; u += c->unit, i++)
		pc[i] = (struct piece){.src = buf + u};
	uint64_t pos = 0;
	while (pos < len) {
		struct block__status st;
		unsigned depth;
		if (img__chain_status(c->src, off + pos, len - pos, &st, &depth, NULL, err) < 0)
			return -1;
		uint64_t end = pos + st.len;
		const struct src_map *m = depth < c->nmaps ? &c->maps[depth] : NULL;
		bool mapped = st.kind == BLK_DATA && st.has_offset && !st.compressed && m && m->addr &&
			      st.host_offset <= m->len && st.len <= m->len - st.host_offset;
		bool whole = (st.kind == BLK_ZERO && c->detect_zero) || mapped;
		/* whole units inside the extent need no bytes in buf */
		uint64_t first = ST_ALIGN_UP(pos, c->unit), last = first;
		if (whole)
			while (last + c->unit <= end)
				last += c->unit;
		if (last > first) {
			if (mapped && read_mapped(m, buf, vec, pc, c->unit, first, last,
						  st.host_offset + (first - pos), err) < 0)
				return -1;
			for (uint64_t u = first; !mapped && u < last; u += c->unit)
				pc[u / c->unit].known_zero = true;
			if (st.kind == BLK_ZERO) {
				memset(buf + pos, 0, first - pos);
				memset(buf + last, 0, end - last);
			} else if (block__pread(c->src, buf + pos, first - pos, off + pos, err) < 0 ||
				   block__pread(c->src, buf + last, end - last, off + last, err) < 0) {
				return -1;
			}
		} else if (st.kind == BLK_ZERO) {
			memset(buf + pos, 0, st.len);
		} else if (block__pread(c->src, buf + pos, st.len, off + pos, err) < 0) {
			return -1;
		}
		pos = end;
	}
	return 0;
}

static int prepare(struct conv *c, uint8_t *buf, uint8_t *vec, uint8_t *bbuf, uint8_t *cbuf, struct piece *pc,
		   uint64_t off, uint64_t len, struct st_err *err)
{
	if (read_chunk(c, buf, vec, pc, off, len, err) < 0)
		return -1;
	if (c->diff_backing && block__read_backing(c->dst, bbuf, len, c->base + off, err) < 0)
		return -1;
	for (uint64_t u = 0, i = 0; u < len; u += c->unit, i++) {
		uint64_t n = ST_MIN(c->unit, len - u);
		struct piece *p = &pc[i];
		p->zero = p->known_zero || (c->detect_zero && img__is_zero(p->src, n));
		p->same = c->diff_backing &&
			  (p->known_zero ? img__is_zero(bbuf + u, n) : !memcmp(p->src, bbuf + u, n));
		if (c->compress && !p->zero && !p->same) {
			size_t cl;
			if (n < c->unit) /* the last cluster is padded (always in buf) */
				memset(buf + u + n, 0, c->unit - n);
			if (block__compress_cluster(c->dst, p->src, cbuf + u, &cl) == 0)
				p->clen = cl;
		}
	}
	return 0;
}

static int write_chunk(struct conv *c, const uint8_t *cbuf, const struct piece *pc, uint64_t off, uint64_t len,
		       struct st_err *err)
{
	uint64_t u = 0, i = 0;
	while (u < len) {
		uint64_t n = ST_MIN(c->unit, len - u);
		if (pc[i].same || (pc[i].zero && c->fresh)) {
			u += n, i++;
			continue;
		}
		if (pc[i].zero) {
			if (block__pwrite_zeroes(c->dst, n, off + u, err) < 0)
				return -1;
			u += n, i++;
			continue;
		}
		if (pc[i].clen) {
			if (block__pwrite_precompressed(c->dst, cbuf + u, pc[i].clen, off + u, err) < 0)
				return -1;
			u += n, i++;
			continue;
		}
		/* a run of plain units contiguous in memory goes out in one write */
		uint64_t start = u;
		const uint8_t *from = pc[i].src;
		do {
			u += ST_MIN(c->unit, len - u);
			i++;
		} while (u < len && !c->compress && !pc[i].zero && !pc[i].same && !pc[i].clen &&
			 pc[i].src == from + (u - start));
		/* (plain clusters among compressed ones stay whole) */
		if (block__pwrite(c->dst, from, u - start, off + start, err) < 0)
			return -1;
	}
	return 0;
}

static void wake_all(struct conv *c)
{
	for (unsigned i = 0; i < c->workers; i++)
		pthread_cond_broadcast(&c->turn[i]);
}

static void *worker(void *arg)
{
	struct conv *c = arg;
	struct st_err err = {0};
	uint64_t units = c->chunk / c->unit + 1;
	/* huge pages: O_DIRECT reads pin the buffer's pages, 512 times fewer */
	size_t bsize = ST_ALIGN_UP((size_t)(c->chunk + c->unit), (size_t)HUGE);
	cleanup_free uint8_t *buf = aligned_alloc(HUGE, bsize);
	if (buf)
		madvise(buf, bsize, MADV_HUGEPAGE);
	cleanup_free uint8_t *cbuf = c->compress ? malloc(c->chunk + c->unit) : NULL;
	cleanup_free uint8_t *bbuf = c->diff_backing ? malloc(c->chunk) : NULL;
	cleanup_free struct piece *pc = calloc(units, sizeof(*pc));
	cleanup_free uint8_t *vec = malloc(c->chunk / 4096 + 2); /* mincore: one byte per page */
	if (!buf || !pc || !vec || (c->compress && !cbuf) || (c->diff_backing && !bbuf)) {
		pthread_mutex_lock(&c->mu);
		c->failed = true;
		err__fail(&c->err, ENOMEM, "convert buffers");
		wake_all(c);
		pthread_mutex_unlock(&c->mu);
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&c->mu);
		uint64_t idx = c->next_chunk++;
		bool stop = c->failed;
		pthread_mutex_unlock(&c->mu);
		uint64_t off = idx * c->chunk;
		if (stop || off >= c->size)
			break;
		uint64_t len = ST_MIN(c->chunk, c->size - off);
		int r = prepare(c, buf, vec, bbuf, cbuf, pc, off, len, &err);
		pthread_mutex_lock(&c->mu);
		while (c->in_order && c->next_write != idx && !c->failed)
			pthread_cond_wait(&c->turn[idx % c->workers], &c->mu);
		bool failed = c->failed;
		pthread_mutex_unlock(&c->mu);
		if (failed)
			break;
		/* in order: only the holder of chunk next_write gets here */
		if (r == 0)
			r = write_chunk(c, cbuf, pc, c->base + off, len, &err);
		if (check_sources(c, &err) < 0)
			r = -1;
		pthread_mutex_lock(&c->mu);
		if (r < 0 && !c->failed) {
			c->failed = true;
			c->err = err;
		}
		c->next_write++;
		c->done += len;
		img__progress(c->progress, c->done, c->total);
		if (c->failed)
			wake_all(c);
		else if (c->in_order)
			pthread_cond_signal(&c->turn[c->next_write % c->workers]);
		pthread_mutex_unlock(&c->mu);
		if (r < 0)
			break;
	}
	return NULL;
}

struct convert_args {
	const char **ins;
	int nin;
	const char *out, *sfmt, *ofmt, *backing, *backing_fmt;
	struct blk_create_opts *co;
	bool compress, progress, no_create, unordered;
	uint64_t sparse, workers;
	struct img_cache scache, tcache;
};

static void close_all(struct blk **v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i])
			block__close(v[i], NULL);
}

/* One source after the other into the target, each by the worker pool. */
static int convert_sources(struct conv *c, struct blk **srcs, int n, uint64_t workers)
{
	for (int i = 0; i < n && !c->failed; i++) {
		c->src = srcs[i];
		c->size = srcs[i]->size;
		c->next_chunk = c->next_write = 0;
		map_sources(c);
		pthread_t th[16];
		for (uint64_t k = 0; k < workers; k++)
			pthread_create(&th[k], NULL, worker, c);
		for (uint64_t k = 0; k < workers; k++)
			pthread_join(th[k], NULL);
		unmap_sources(c);
		c->base += ST_ALIGN_UP(c->size, (uint64_t)512);
	}
	return c->failed ? -1 : 0;
}

static int convert(const struct convert_args *a)
{
	struct st_err err = {0};
	cleanup_free struct blk **srcs = calloc((size_t)a->nin, sizeof(*srcs));
	if (!srcs) {
		err__fail(&err, ENOMEM, "sources");
		return img__die(&err);
	}
	uint64_t total = 0;
	for (int i = 0; i < a->nin; i++) {
		if (img__open_cache(a->ins[i], a->sfmt, false, false, &a->scache, &srcs[i], &err) < 0) {
			close_all(srcs, a->nin);
			return img__die(&err);
		}
		/* one sequential pass over every file of the chain: a larger readahead */
		for (struct blk *l = srcs[i]; l; l = l->backing)
			posix_fadvise(l->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		/* as qemu-img, each source takes whole 512-byte sectors of the target */
		total += ST_ALIGN_UP(srcs[i]->size, (uint64_t)512);
	}
	struct blk_create_opts co = *a->co;
	co.format = a->ofmt;
	co.size = total;
	if (a->backing) {
		co.backing = a->backing;
		co.backing_fmt = a->backing_fmt;
	}
	struct blk *dst;
	if ((!a->no_create && block__create(a->out, &co, &err) < 0) ||
	    img__open_cache(a->out, a->no_create ? NULL : a->ofmt, true, false, &a->tcache, &dst, &err) < 0) {
		close_all(srcs, a->nin);
		return img__die(&err);
	}
	uint64_t tcs = block__cluster_size(dst);
	const char *why = NULL;
	if (dst->size < total)
		why = "is smaller than the source";
	for (int i = 0; a->compress && tcs && i + 1 < a->nin; i++)
		if (ST_ALIGN_UP(srcs[i]->size, (uint64_t)512) % tcs)
			why = "would hold compressed clusters at offsets that are not cluster-aligned (a source's size "
			      "is not a multiple of the cluster size)";
	if (why) {
		close_all(srcs, a->nin);
		block__close(dst, NULL);
		fprintf(stderr, "strata-img: error: target '%s' %s\n", a->out, why);
		return 1;
	}
	struct conv c = {.dst = dst, .total = total, .compress = a->compress, .progress = a->progress,
			 .fresh = !a->no_create && !dst->backing, .diff_backing = dst->backing != NULL,
			 .in_order = !a->unordered};
	c.unit = a->compress ? tcs : (a->sparse ? ST_MAX(a->sparse, tcs) : (tcs ? tcs : 65536));
	c.detect_zero = a->sparse || a->compress; /* -S 0: every byte is written, zeros included */
	c.chunk = ST_ALIGN_UP((uint64_t)CHUNK, c.unit);
	pthread_mutex_init(&c.mu, NULL);
	c.workers = (unsigned)a->workers;
	for (unsigned i = 0; i < c.workers; i++)
		pthread_cond_init(&c.turn[i], NULL);
	img__progress(a->progress, 0, total);
	convert_sources(&c, srcs, a->nin, a->workers);
	close_all(srcs, a->nin);
	if (block__close(dst, c.failed ? NULL : &err) < 0 && !c.failed)
		return img__die(&err);
	if (c.failed)
		return img__die(&c.err);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *sfmt = NULL, *ofmt = "raw", *backing = NULL, *backing_fmt = NULL;
	struct blk_create_opts co = {0};
	struct st_err err = {0};
	bool compress = false, progress = false, no_create = false, unordered = false;
	/* qemu-img convert's default target cache mode is unsafe, its source's writeback */
	struct img_cache tcache = {.no_sync = true}, scache = {0};
	uint64_t sparse = 4096, workers = 0;
	char *opts = NULL;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int ch;
	while ((ch = getopt_long(argc, argv, "f:O:o:cpS:nB:F:m:t:T:WqUh", lo, NULL)) != -1) {
		switch (ch) {
		case 'f': sfmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'o': opts = optarg; break;
		case 'c': compress = true; break;
		case 'p': progress = true; break;
		case 'S':
			if (util__parse_size(optarg, 1, &sparse, &err) < 0)
				return img__die(&err);
			break;
		case 'n': no_create = true; break;
		case 'B': backing = optarg; break;
		case 'F': backing_fmt = optarg; break;
		case 'm':
			if (util__parse_u64(optarg, 16, &workers, &err) < 0 || !workers)
				return workers ? img__die(&err) : (fprintf(stderr, "strata-img: error: -m must be 1..16\n"), 1);
			break;
		case 'W': unordered = true; break;
		case 't':
		case 'T':
			if (img__parse_cache(optarg, ch == 't' ? &tcache : &scache, &err) < 0)
				return img__die(&err);
			break;
		case 'q': case 'U': break;
		case 'h': return img__usage(&img_cmd_convert, false);
		default: return img__usage(&img_cmd_convert, true);
		}
	}
	if (argc - optind < 2)
		return img__usage(&img_cmd_convert, true);
	if (compress && strcmp(ofmt, "qcow2")) {
		fprintf(stderr, "strata-img: error: -c needs an output format with compressed clusters (qcow2)\n");
		return 1;
	}
	if (!workers) /* as qemu-img: requests in flight matter more than cores for cold reads */
		workers = 8;
	if (opts && img__parse_create_opts(opts, &co, &err) < 0)
		return img__die(&err);
	const char *out = argv[argc - 1];
	return convert(&(struct convert_args){.ins = (const char **)argv + optind, .nin = argc - optind - 1,
					      .out = out, .sfmt = sfmt, .ofmt = ofmt, .co = &co, .backing = backing,
					      .backing_fmt = backing_fmt, .compress = compress, .progress = progress,
					      .no_create = no_create, .unordered = unordered, .sparse = sparse,
					      .workers = workers, .scache = scache, .tcache = tcache});
}

const struct img_cmd img_cmd_convert = {
	"convert", run,
	"convert [-f fmt] [-O output_fmt] [-o options] [-c] [-p] [-S sparse_size] [-n] [-B backing [-F fmt]] "
	"[-m workers] [-W] [-t cache] [-T src_cache] [-q] filename [filename2 [...]] output_filename"};
