#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "img/img.h"

static int run(int argc, char **argv)
{
	const char *fmt = NULL;
	char *opts = NULL;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {"force", no_argument, 0, 'F'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:o:pqh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'o': opts = optarg; break;
		case 'p': case 'q': case 'F': break;
		case 'h': return img_usage(&img_cmd_amend, false);
		default: return img_usage(&img_cmd_amend, true);
		}
	}
	if (optind != argc - 1 || !opts)
		return img_usage(&img_cmd_amend, true);
	int compat = 0, lazy = -1;
	char *save = NULL;
	for (char *kv = strtok_r(opts, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *v = strchr(kv, '=');
		if (!v) {
			fprintf(stderr, "strata-img: error: option '%s' needs a value\n", kv);
			return 1;
		}
		*v++ = 0;
		if (!strcmp(kv, "compat") && (!strcmp(v, "0.10") || !strcmp(v, "v2")))
			compat = 2;
		else if (!strcmp(kv, "compat") && (!strcmp(v, "1.1") || !strcmp(v, "v3")))
			compat = 3;
		else if (!strcmp(kv, "lazy_refcounts") && (!strcmp(v, "on") || !strcmp(v, "off")))
			lazy = !strcmp(v, "on");
		else {
			fprintf(stderr, "strata-img: error: amend cannot change %s=%s (supported: compat, lazy_refcounts)\n",
				kv, v);
			return 1;
		}
	}
	struct st_err err = {0};
	struct blk *b;
	if (img_open(argv[optind], fmt, true, true, &b, &err) < 0)
		return img_die(&err);
	if (qcow2_amend(b, compat, lazy, &err) < 0) {
		blk_close(b, NULL);
		return img_die(&err);
	}
	if (blk_close(b, &err) < 0)
		return img_die(&err);
	return 0;
}

const struct img_cmd img_cmd_amend = {"amend", run, "amend [-f fmt] -o compat=0.10|1.1,lazy_refcounts=on|off filename"};
