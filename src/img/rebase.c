/* rebase: safe mode copies into the image every cluster it does not hold
 * whose contents differ between the old and the new backing chain; -u only
 * rewrites the header. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "img/img.h"

static int copy_differences(struct blk *top, struct blk *nb, bool progress, struct st_err *err)
{
	uint64_t cs = block__cluster_size(top);
	if (!cs)
		cs = 65536;
	uint64_t old_size = top->backing ? top->backing->size : 0;
	cleanup_free uint8_t *a = malloc(cs), *bbuf = malloc(cs);
	if (!a || !bbuf)
		return err__fail(err, 12, "rebase buffers");
	for (uint64_t off = 0; off < top->size;) {
		struct block__status st;
		if (block__status(top, off, top->size - off, &st, err) < 0)
			return -1;
		if (st.present) {
			off += st.len;
			continue;
		}
		uint64_t end = off + st.len;
		while (off < end) {
			uint64_t n = ST_MIN(cs - off % cs, end - off);
			if (block__read_backing(top, a, n, off, err) < 0)
				return -1;
			if (nb) {
				uint64_t have = off < nb->size ? ST_MIN(n, nb->size - off) : 0;
				if (have && block__pread(nb, bbuf, have, off, err) < 0)
					return -1;
				memset(bbuf + have, 0, n - have);
			} else {
				memset(bbuf, 0, n);
			}
			/* past the old backing file's end the image read zeros: zero
			 * clusters keep them (as qemu-img), not clusters of zeros */
			bool past = off >= old_size;
			if (memcmp(a, bbuf, n) &&
			    (past ? block__pwrite_zeroes(top, n, off, err) : block__pwrite(top, a, n, off, err)) < 0)
				return -1;
			off += n;
			img__progress(progress, off, top->size);
		}
	}
	return 0;
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *backing = NULL, *bfmt = NULL;
	bool unsafe = false, progress = false, have_b = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:b:F:upqUh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'b': backing = optarg; have_b = true; break;
		case 'F': bfmt = optarg; break;
		case 'u': unsafe = true; break;
		case 'p': progress = true; break;
		case 'q': case 'U': break;
		case 'h': return img__usage(&img_cmd_rebase, false);
		default: return img__usage(&img_cmd_rebase, true);
		}
	}
	if (optind != argc - 1 || !have_b)
		return img__usage(&img_cmd_rebase, true);
	const char *path = argv[optind];
	struct st_err err = {0};
	struct blk *top, *nb = NULL;
	if (img__open(path, fmt, true, unsafe, &top, &err) < 0)
		return img__die(&err);
	if (*backing && !bfmt) {
		cleanup_free char *p = block__backing_path(top->dir, backing);
		if (p && block__probe_file(p, &bfmt, NULL) < 0)
			bfmt = NULL;
	}
	if (!unsafe && *backing) {
		cleanup_free char *p = block__backing_path(top->dir, backing);
		if (!p || img__open(p, bfmt, false, false, &nb, &err) < 0) {
			block__close(top, NULL);
			return img__die(&err);
		}
	}
	int r = unsafe ? 0 : copy_differences(top, nb, progress, &err);
	if (r == 0)
		r = block__set_backing(top, backing, bfmt, &err);
	if (nb)
		block__close(nb, NULL);
	if (r < 0) {
		block__close(top, NULL);
		return img__die(&err);
	}
	if (block__close(top, &err) < 0)
		return img__die(&err);
	return 0;
}

const struct img_cmd img_cmd_rebase = {
	"rebase", run, "rebase [-f fmt] [-u] [-p] -b backing_file [-F backing_fmt] filename"};
