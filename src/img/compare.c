/* compare: exit 0 identical, 1 different, 2 error (as qemu-img). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "img/img.h"

#define BUF (1u << 20)

static int first_diff(const uint8_t *a, const uint8_t *b, uint64_t n, uint64_t *at)
{
	for (uint64_t i = 0; i < n; i++)
		if (a[i] != b[i]) {
			*at = i;
			return 1;
		}
	return 0;
}

static int run(int argc, char **argv)
{
	const char *f1 = NULL, *f2 = NULL;
	bool strict = false, quiet = false, progress = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:F:sqpUh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': f1 = optarg; break;
		case 'F': f2 = optarg; break;
		case 's': strict = true; break;
		case 'q': quiet = true; break;
		case 'p': progress = true; break;
		case 'U': break;
		case 'h': return img__usage(&img_cmd_compare, false);
		default: img__usage(&img_cmd_compare, true); return 2;
		}
	}
	if (argc - optind != 2) {
		img__usage(&img_cmd_compare, true);
		return 2;
	}
	struct st_err err = {0};
	struct blk *a, *b;
	if (img__open(argv[optind], f1, false, false, &a, &err) < 0)
		return img__die(&err) + 1;
	if (img__open(argv[optind + 1], f2, false, false, &b, &err) < 0) {
		block__close(a, NULL);
		return img__die(&err) + 1;
	}
	int ret = 0;
	if (strict && a->size != b->size) {
		if (!quiet)
			printf("Strict mode: Image size mismatch!\n");
		ret = 1;
	}
	cleanup_free uint8_t *ba = malloc(BUF), *bb = malloc(BUF);
	uint64_t total = ST_MAX(a->size, b->size);
	for (uint64_t off = 0; !ret && off < total;) {
		uint64_t n = ST_MIN((uint64_t)BUF, total - off);
		struct block__status sa, sb;
		/* ranges that both read as zeros need no reading */
		if (off < a->size && off < b->size) {
			n = ST_MIN(n, ST_MIN(a->size, b->size) - off);
			if (img__chain_status(a, off, n, &sa, NULL, NULL, &err) < 0 ||
			    img__chain_status(b, off, n, &sb, NULL, NULL, &err) < 0) {
				ret = 2;
				break;
			}
			if (sa.kind == BLK_ZERO && sb.kind == BLK_ZERO) {
				off += ST_MIN(sa.len, sb.len);
				continue;
			}
		} else {
			n = ST_MIN(n, (off < a->size ? a->size : b->size) - off);
		}
		if ((off < a->size ? block__pread(a, ba, n, off, &err) : (memset(ba, 0, n), 0)) < 0 ||
		    (off < b->size ? block__pread(b, bb, n, off, &err) : (memset(bb, 0, n), 0)) < 0) {
			ret = 2;
			break;
		}
		uint64_t at;
		if (first_diff(ba, bb, n, &at)) {
			if (!quiet)
				printf("Content mismatch at offset %llu!\n", (unsigned long long)(off + at));
			ret = 1;
		}
		off += n;
		img__progress(progress, off, total);
	}
	block__close(a, NULL);
	block__close(b, NULL);
	if (ret == 2) {
		err__print(&err);
		return 2;
	}
	if (!ret && !quiet)
		printf("Images are identical.\n");
	return ret;
}

const struct img_cmd img_cmd_compare = {
	"compare", run, "compare [-f fmt] [-F fmt] [-s] [-p] [-q] [-U] filename1 filename2"};
