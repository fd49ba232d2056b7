#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "img/img.h"

static int run(int argc, char **argv)
{
	struct blk_create_opts o = {.format = "raw"};
	struct st_err err = {0};
	bool quiet = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:o:b:F:uqh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o.format = optarg; break;
		case 'o':
			if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
				printf("Supported options:\n  backing_file=NAME\n  backing_fmt=FMT\n  cluster_size=SIZE\n"
				       "  compat=0.10|1.1\n  compression_type=zlib|zstd\n  lazy_refcounts=on|off\n"
				       "  preallocation=off|metadata|falloc|full\n  refcount_bits=1..64\n  size=SIZE\n");
				return 0;
			}
			if (img__parse_create_opts(optarg, &o, &err) < 0)
				return img__die(&err);
			break;
		case 'b': o.backing = optarg; break;
		case 'F': o.backing_fmt = optarg; break;
		case 'u': o.unsafe_backing = true; break;
		case 'q': quiet = true; break;
		case 'h': return img__usage(&img_cmd_create, false);
		default: return img__usage(&img_cmd_create, true);
		}
	}
	if (optind >= argc)
		return img__usage(&img_cmd_create, true);
	const char *path = argv[optind];
	if (optind + 1 < argc && util__parse_size(argv[optind + 1], 1, &o.size, &err) < 0)
		return img__die(&err);
	if (optind + 1 >= argc && !o.size && !o.backing) {
		fprintf(stderr, "strata-img: error: image size required\n");
		return 1;
	}
	if (o.backing && !o.backing_fmt && strcmp(o.format, "raw") && !o.unsafe_backing) {
		const char *probed;
		if (block__probe_file(o.backing[0] == '/' ? o.backing : o.backing, &probed, NULL) == 0)
			o.backing_fmt = probed; /* recorded so the chain is never probed again */
	}
	if (block__create(path, &o, &err) < 0)
		return img__die(&err);
	if (!quiet)
		printf("Formatting '%s', fmt=%s size=%llu%s%s\n", path, o.format, (unsigned long long)o.size,
		       o.backing ? " backing_file=" : "", o.backing ? o.backing : "");
	return 0;
}

const struct img_cmd img_cmd_create = {
	"create", run,
	"create [-f fmt] [-o options] [-b backing_file [-F backing_fmt]] [-u] [-q] filename [size]"};
