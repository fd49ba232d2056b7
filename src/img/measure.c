/* measure: the file size a conversion needs, by qemu-img's own accounting
 * (metadata for the whole virtual size, data for what the source holds). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "img/img.h"

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t refcount_metadata(uint64_t clusters, uint64_t cs, int refcount_bits)
{
	uint64_t per_table = cs / 8, per_block = cs * 8 / (uint64_t)refcount_bits;
	uint64_t table = 0, blocks = 0, n = 0, last;
	do {
		last = n;
		blocks = div_up(clusters + table + blocks, per_block);
		table = div_up(blocks, per_table);
		n = clusters + blocks + table;
	} while (n != last);
	return (blocks + table) * cs;
}

static uint64_t qcow2_metadata(uint64_t size, uint64_t cs, int refcount_bits)
{
	uint64_t aligned = ST_ALIGN_UP(size, cs);
	uint64_t meta = cs;                                   /* header */
	uint64_t nl2e = ST_ALIGN_UP(aligned / cs, cs / 8);
	meta += nl2e * 8;                                     /* L2 tables */
	uint64_t nl1e = ST_ALIGN_UP(nl2e * 8 / cs, cs / 8);
	meta += nl1e * 8;                                     /* L1 table */
	meta += refcount_metadata((meta + aligned) / cs, cs, refcount_bits);
	return meta;
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *ofmt = "raw", *output = "human";
	struct blk_create_opts co = {0};
	uint64_t size = 0;
	bool have_size = false;
	struct st_err err = {0};
	static const struct option lo[] = {{"help", no_argument, 0, 'h'},
					   {"output", required_argument, 0, 'J'},
					   {"size", required_argument, 0, 'z'},
					   {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:O:o:Uh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': ofmt = optarg; break;
		case 'o':
			if (img__parse_create_opts(optarg, &co, &err) < 0)
				return img__die(&err);
			break;
		case 'J': output = optarg; break;
		case 'z':
			if (util__parse_size(optarg, 1, &size, &err) < 0)
				return img__die(&err);
			have_size = true;
			break;
		case 'U': break;
		case 'h': return img__usage(&img_cmd_measure, false);
		default: return img__usage(&img_cmd_measure, true);
		}
	}
	if (have_size == (optind < argc) || argc - optind > 1)
		return img__usage(&img_cmd_measure, true);
	uint64_t cs = co.cluster_size ? co.cluster_size : 65536;
	int rb = co.refcount_bits ? co.refcount_bits : 16;
	bool qcow2 = !strcmp(ofmt, "qcow2");
	if (!qcow2 && strcmp(ofmt, "raw")) {
		fprintf(stderr, "strata-img: error: unknown output format '%s'\n", ofmt);
		return 1;
	}
	uint64_t data = 0;
	if (!have_size) {
		struct blk *b;
		if (img__open(argv[optind], fmt, false, false, &b, &err) < 0)
			return img__die(&err);
		size = b->size;
		uint64_t last_cluster = UINT64_MAX;
		for (uint64_t off = 0; off < size;) {
			struct block__status st;
			if (img__chain_status(b, off, size - off, &st, NULL, NULL, &err) < 0) {
				block__close(b, NULL);
				return img__die(&err);
			}
			if (st.kind == BLK_DATA) {
				uint64_t first = off / cs, end = (off + st.len - 1) / cs;
				data += (end - first + 1) * cs;
				if (first == last_cluster)
					data -= cs; /* already counted with the run before */
				last_cluster = end;
			}
			off += st.len;
		}
		block__close(b, NULL);
	}
	uint64_t required, full;
	if (qcow2) {
		uint64_t meta = qcow2_metadata(size, cs, rb);
		required = meta + data;
		full = meta + ST_ALIGN_UP(size, cs);
	} else {
		required = full = size;
	}
	if (!strcmp(output, "json"))
		printf("{\n    \"required\": %llu,\n    \"fully-allocated\": %llu\n}\n", (unsigned long long)required,
		       (unsigned long long)full);
	else
		printf("required size: %llu\nfully allocated size: %llu\n", (unsigned long long)required,
		       (unsigned long long)full);
	return 0;
}

const struct img_cmd img_cmd_measure = {
	"measure", run, "measure [--output=human|json] [-O fmt] [-o options] [--size N | [-f fmt] filename]"};
