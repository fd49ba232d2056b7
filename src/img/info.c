#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "block/qcow2_public.h"
#include "common/util.h"
#include "img/img.h"

static json_t *snapshots_json(struct blk *b);

static json_t *image_json(struct blk *b)
{
	json_t *o = json_object();
	struct stat st;
	json_object_set_new(o, "virtual-size", json_integer((json_int_t)b->size));
	json_object_set_new(o, "filename", json_string(b->path));
	struct qcow2_info qi;
	bool q = qcow2__get_info(b, &qi) == 0;
	if (q)
		json_object_set_new(o, "cluster-size", json_integer((json_int_t)qi.cluster_size));
	json_object_set_new(o, "format", json_string(block__format(b)));
	if (fstat(b->fd, &st) == 0)
		json_object_set_new(o, "actual-size", json_integer((json_int_t)st.st_blocks * 512));
	const char *bname = NULL, *bfmt = NULL;
	if (block__backing_file(b, &bname, &bfmt) && bname) {
		char *full = block__backing_path(b->dir, bname);
		json_object_set_new(o, "backing-filename", json_string(bname));
		json_object_set_new(o, "full-backing-filename", json_string(full ? full : bname));
		if (bfmt)
			json_object_set_new(o, "backing-filename-format", json_string(bfmt));
		free(full);
	}
	if (q) {
		json_t *d = json_object();
		json_object_set_new(d, "compat", json_string(qi.version == 2 ? "0.10" : "1.1"));
		if (qi.version >= 3) {
			json_object_set_new(d, "compression-type", json_string(qi.compression));
			json_object_set_new(d, "lazy-refcounts", json_boolean(qi.lazy_refcounts));
			json_object_set_new(d, "refcount-bits", json_integer(qi.refcount_bits));
			json_object_set_new(d, "corrupt", json_boolean(qi.corrupt));
			json_object_set_new(d, "extended-l2", json_false());
		} else {
			json_object_set_new(d, "compression-type", json_string(qi.compression));
			json_object_set_new(d, "refcount-bits", json_integer(qi.refcount_bits));
		}
		json_t *fs = json_object();
		json_object_set_new(fs, "type", json_string("qcow2"));
		json_object_set_new(fs, "data", d);
		json_object_set_new(o, "format-specific", fs);
		if (qi.nb_snapshots)
			json_object_set_new(o, "snapshots", snapshots_json(b));
	}
	json_object_set_new(o, "dirty-flag", json_boolean(q && qi.dirty));
	return o;
}

int img_snapshot_list(struct blk *b, json_t **out);

static json_t *snapshots_json(struct blk *b)
{
	json_t *a = NULL;
	img_snapshot_list(b, &a);
	return a ? a : json_array();
}

static void human_size(uint64_t v, char *buf, size_t n)
{
	static const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	int i = 0;
	double d = (double)v;
	while (d >= 1024 && i < 6) {
		d /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, n, "%llu B", (unsigned long long)v);
	else
		snprintf(buf, n, "%.3g %s", d, u[i]);
}

static void print_human(json_t *o)
{
	char vs[32], ds[32];
	uint64_t size = (uint64_t)json_integer_value(json_object_get(o, "virtual-size"));
	human_size(size, vs, sizeof(vs));
	human_size((uint64_t)json_integer_value(json_object_get(o, "actual-size")), ds, sizeof(ds));
	printf("image: %s\nfile format: %s\nvirtual size: %s (%llu bytes)\ndisk size: %s\n",
	       json_string_value(json_object_get(o, "filename")), json_string_value(json_object_get(o, "format")),
	       vs, (unsigned long long)size, ds);
	json_t *cs = json_object_get(o, "cluster-size");
	if (cs)
		printf("cluster_size: %lld\n", (long long)json_integer_value(cs));
	json_t *bf = json_object_get(o, "backing-filename");
	if (bf)
		printf("backing file: %s\n", json_string_value(bf));
	json_t *bff = json_object_get(o, "backing-filename-format");
	if (bff)
		printf("backing file format: %s\n", json_string_value(bff));
	json_t *sn = json_object_get(o, "snapshots");
	if (sn && json_array_size(sn)) {
		printf("Snapshot list:\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n");
		size_t i;
		json_t *e;
		json_array_foreach(sn, i, e) {
			printf("%-9s %-17s %7lld B %lld %lld\n", json_string_value(json_object_get(e, "id")),
			       json_string_value(json_object_get(e, "name")),
			       (long long)json_integer_value(json_object_get(e, "vm-state-size")),
			       (long long)json_integer_value(json_object_get(e, "date-sec")),
			       (long long)json_integer_value(json_object_get(e, "vm-clock-sec")));
		}
	}
	json_t *fs = json_object_get(o, "format-specific");
	if (fs) {
		json_t *d = json_object_get(fs, "data");
		printf("Format specific information:\n");
		const char *k;
		json_t *v;
		json_object_foreach(d, k, v) {
			char *s = json_is_string(v) ? strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);
			char key[64];
			snprintf(key, sizeof(key), "%s", k);
			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = ' ';
			printf("    %s: %s\n", key, s ? s : "");
			free(s);
		}
	}
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human";
	bool chain = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'},
					   {"output", required_argument, 0, 'O'},
					   {"backing-chain", no_argument, 0, 'B'},
					   {"force-share", no_argument, 0, 'U'},
					   {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:hU", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': output = optarg; break;
		case 'B': chain = true; break;
		case 'U': break;
		case 'h': return img__usage(&img_cmd_info, false);
		default: return img__usage(&img_cmd_info, true);
		}
	}
	if (optind != argc - 1)
		return img__usage(&img_cmd_info, true);
	if (strcmp(output, "json") && strcmp(output, "human")) {
		fprintf(stderr, "strata-img: error: --output must be human or json\n");
		return 1;
	}
	struct st_err err = {0};
	struct blk *b;
	if (img__open(argv[optind], fmt, false, !chain, &b, &err) < 0)
		return img__die(&err);
	json_t *arr = json_array();
	for (struct blk *l = b; l; l = chain ? l->backing : NULL)
		json_array_append_new(arr, image_json(l));
	block__close(b, NULL);
	if (!strcmp(output, "json")) {
		json_t *top = chain ? arr : json_array_get(arr, 0);
		char *s = json_dumps(top, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
	} else {
		size_t i;
		json_t *e;
		json_array_foreach(arr, i, e) {
			if (i)
				printf("\n");
			print_human(e);
		}
	}
	json_decref(arr);
	return 0;
}

const struct img_cmd img_cmd_info = {
	"info", run, "info [-f fmt] [--output=human|json] [--backing-chain] [-U] filename"};
