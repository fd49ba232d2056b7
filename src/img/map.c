/* map: where each range of the guest view comes from, qemu-img's JSON shape. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "img/img.h"

struct range {
	uint64_t start, len, offset;
	unsigned depth;
	bool present, zero, data, has_offset;
	const char *file;
};

static void emit(const struct range *r, bool json, bool first)
{
	if (json) {
		printf("%s{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %u, \"present\": %s, "
		       "\"zero\": %s, \"data\": %s",
		       first ? "[" : ",\n", r->start, r->len, r->depth, r->present ? "true" : "false",
		       r->zero ? "true" : "false", r->data ? "true" : "false");
		if (r->has_offset)
			printf(", \"offset\": %" PRIu64, r->offset);
		printf("}");
	} else if (r->data && r->has_offset) {
		printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", r->start, r->len, r->offset, r->file);
	}
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human";
	static const struct option lo[] = {{"help", no_argument, 0, 'h'},
					   {"output", required_argument, 0, 'O'},
					   {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:hU", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': output = optarg; break;
		case 'U': break;
		case 'h': return img__usage(&img_cmd_map, false);
		default: return img__usage(&img_cmd_map, true);
		}
	}
	if (optind != argc - 1)
		return img__usage(&img_cmd_map, true);
	bool json = !strcmp(output, "json");
	struct st_err err = {0};
	struct blk *b;
	if (img__open(argv[optind], fmt, false, false, &b, &err) < 0)
		return img__die(&err);
	if (!json)
		printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
	struct range cur = {0};
	bool have = false, first = true;
	for (uint64_t off = 0; off < b->size;) {
		struct block__status st;
		unsigned depth = 0;
		struct blk *layer = b;
		struct blk *l = b;
		/* walk down while this layer leaves the range to its backing */
		uint64_t want = b->size - off;
		for (;;) {
			if (off >= l->size) {
				st.kind = BLK_ZERO;
				st.len = want;
				st.present = false;
				st.has_offset = false;
				st.compressed = false;
				break;
			}
			if (block__status(l, off, ST_MIN(want, l->size - off), &st, &err) < 0) {
				block__close(b, NULL);
				return img__die(&err);
			}
			if (st.present || !l->backing)
				break;
			want = st.len; /* the layer below only decides within this run */
			l = l->backing;
			depth++;
		}
		layer = l;
		struct range r = {.start = off, .len = st.len, .depth = depth, .present = st.present,
				  .zero = st.kind != BLK_DATA, .data = st.kind == BLK_DATA,
				  .has_offset = st.has_offset && !st.compressed, .offset = st.host_offset,
				  .file = layer->path};
		if (have && cur.depth == r.depth && cur.present == r.present && cur.zero == r.zero &&
		    cur.data == r.data && cur.has_offset == r.has_offset && cur.file == r.file &&
		    (!r.has_offset || cur.offset + cur.len == r.offset)) {
			cur.len += r.len;
		} else {
			if (have) {
				emit(&cur, json, first);
				first = false;
			}
			cur = r;
			have = true;
		}
		off += st.len;
	}
	if (have)
		emit(&cur, json, first);
	if (json)
		printf("%s]\n", first && !have ? "[" : "");
	block__close(b, NULL);
	return 0;
}

const struct img_cmd img_cmd_map = {"map", run, "map [-f fmt] [--output=human|json] [-U] filename"};
