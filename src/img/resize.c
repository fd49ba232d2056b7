#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "img/img.h"

static int run(int argc, char **argv)
{
	const char *fmt = NULL;
	bool shrink = false, quiet = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {"shrink", no_argument, 0, 'S'}, {0}};
	int c;
	/* a negative size ("-1G") is the last argument, not an option */
	char *neg = NULL;
	if (argc > 2 && argv[argc - 1][0] == '-' && argv[argc - 1][1] >= '0' && argv[argc - 1][1] <= '9')
		neg = argv[--argc];
	while ((c = getopt_long(argc, argv, "f:qh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'q': quiet = true; break;
		case 'S': shrink = true; break;
		case 'h': return img__usage(&img_cmd_resize, false);
		default: return img__usage(&img_cmd_resize, true);
		}
	}
	if (neg)
		argv[argc++] = neg;
	if (argc - optind != 2)
		return img__usage(&img_cmd_resize, true);
	const char *path = argv[optind], *spec = argv[optind + 1];
	struct st_err err = {0};
	struct blk *b;
	/* the backing chain is opened: growing over a larger backing file hides its data */
	if (img__open(path, fmt, true, false, &b, &err) < 0)
		return img__die(&err);
	uint64_t v, size;
	int sign = spec[0] == '+' ? 1 : spec[0] == '-' ? -1 : 0;
	if (util__parse_size(spec + (sign != 0), 1, &v, &err) < 0) {
		block__close(b, NULL);
		return img__die(&err);
	}
	size = sign > 0 ? b->size + v : sign < 0 ? (v > b->size ? 0 : b->size - v) : v;
	if (sign < 0 && v > b->size) {
		block__close(b, NULL);
		fprintf(stderr, "strata-img: error: new size would be negative\n");
		return 1;
	}
	uint64_t cs = block__cluster_size(b);
	if (cs && size % 512) {
		block__close(b, NULL);
		fprintf(stderr, "strata-img: error: qcow2 sizes must be multiples of 512\n");
		return 1;
	}
	if (block__truncate(b, size, shrink, &err) < 0) {
		block__close(b, NULL);
		return img__die(&err);
	}
	if (block__close(b, &err) < 0)
		return img__die(&err);
	if (!quiet)
		printf("Image resized.\n");
	return 0;
}

const struct img_cmd img_cmd_resize = {"resize", run, "resize [-f fmt] [--shrink] [-q] filename [+|-]size"};
