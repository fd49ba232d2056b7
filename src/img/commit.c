/* commit: what the top image holds goes into its backing file; the top is
 * then emptied (unless -d). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "img/img.h"

#define BUF (1u << 20)

static int run(int argc, char **argv)
{
	const char *fmt = NULL;
	bool keep = false, progress = false, quiet = false;
	struct img_cache cache = {0}; /* qemu-img commit's default: writeback */
	struct st_err err = {0};
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:dpqt:h", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'd': keep = true; break;
		case 'p': progress = true; break;
		case 'q': quiet = true; break;
		case 't':
			if (img__parse_cache(optarg, &cache, &err) < 0)
				return img__die(&err);
			break;
		case 'h': return img__usage(&img_cmd_commit, false);
		default: return img__usage(&img_cmd_commit, true);
		}
	}
	if (optind != argc - 1)
		return img__usage(&img_cmd_commit, true);
	struct blk *top;
	if (img__open_cache(argv[optind], fmt, !keep, false, &cache, &top, &err) < 0)
		return img__die(&err);
	if (!top->backing) {
		block__close(top, NULL);
		fprintf(stderr, "strata-img: error: '%s' has no backing file to commit into\n", argv[optind]);
		return 1;
	}
	struct blk *base;
	const char *bname, *bfmt;
	block__backing_file(top, &bname, &bfmt);
	if (img__open_cache(top->backing->path, block__format(top->backing), true, false, &cache, &base, &err) < 0) {
		block__close(top, NULL);
		return img__die(&err);
	}
	int r = 0;
	if (base->size < top->size)
		r = block__truncate(base, top->size, false, &err);
	cleanup_free uint8_t *buf = block__alloc_io(BUF);
	if (!buf)
		r = err__fail(&err, ENOMEM, "commit buffer");
	for (uint64_t off = 0; r == 0 && off < top->size;) {
		struct block__status st;
		r = block__status(top, off, ST_MIN((uint64_t)BUF, top->size - off), &st, &err);
		if (r < 0)
			break;
		if (st.present && st.kind == BLK_ZERO)
			r = block__pwrite_zeroes(base, st.len, off, &err);
		else if (st.present)
			r = block__pread(top, buf, st.len, off, &err) < 0 ? -1 : block__pwrite(base, buf, st.len, off, &err);
		off += st.len;
		img__progress(progress, off, top->size);
	}
	if (r == 0)
		r = block__close(base, &err);
	else
		block__close(base, NULL);
	if (r == 0 && !keep)
		r = block__make_empty(top, &err);
	if (r < 0) {
		block__close(top, NULL);
		return img__die(&err);
	}
	if (block__close(top, &err) < 0)
		return img__die(&err);
	if (!quiet)
		printf("Image committed.\n");
	return 0;
}

const struct img_cmd img_cmd_commit = {"commit", run, "commit [-f fmt] [-t cache] [-d] [-p] [-q] filename"};
