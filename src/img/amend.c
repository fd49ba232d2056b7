#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "block/qcow2_public.h"
#include "common/util.h"
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
		case 'h': return img__usage(&img_cmd_amend, false);
		default: return img__usage(&img_cmd_amend, true);
		}
	}
	if (optind != argc - 1 || !opts)
		return img__usage(&img_cmd_amend, true);
	int compat = 0, lazy = -1;
	uint64_t bits = 0;
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
		else if (!strcmp(kv, "refcount_bits") && util__parse_u64(v, 64, &bits, NULL) == 0 && bits)
			;
		else if (!strcmp(kv, "backing_file") || !strcmp(kv, "backing_fmt")) {
			fprintf(stderr, "strata-img: error: amend cannot change the backing file (as qemu-img): use rebase\n");
			return 1;
		} else {
			fprintf(stderr, "strata-img: error: amend cannot change %s=%s (supported: compat, lazy_refcounts, "
				"refcount_bits)\n", kv, v);
			return 1;
		}
	}
	if (compat == 2 && bits && bits != 16) {
		fprintf(stderr, "strata-img: error: compat=0.10 requires refcount_bits=16\n");
		return 1;
	}
	struct st_err err = {0};
	struct blk *b;
	if (img__open(argv[optind], fmt, true, true, &b, &err) < 0)
		return img__die(&err);
	/* an upgrade first, a downgrade last: refcount_bits other than 16 need compat=1.1 */
	if (qcow2__amend(b, compat == 2 ? 0 : compat, lazy, &err) < 0 ||
	    (bits && qcow2__amend_refcount_bits(b, (unsigned)bits, &err) < 0) ||
	    (compat == 2 && qcow2__amend(b, 2, -1, &err) < 0)) {
		block__close(b, NULL);
		return img__die(&err);
	}
	if (block__close(b, &err) < 0)
		return img__die(&err);
	return 0;
}

const struct img_cmd img_cmd_amend = {"amend", run, "amend [-f fmt] -o compat=0.10|1.1,lazy_refcounts=on|off,refcount_bits=1..64 filename"};
