/* snapshot: -l list, -c create, -a apply, -d delete (internal qcow2 snapshots). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "img/img.h"

int img_snapshot_list(struct blk *b, json_t **out);

int img_snapshot_list(struct blk *b, json_t **out)
{
	struct blk_snapshot *v;
	unsigned n;
	*out = json_array();
	if (block__snapshot_list(b, &v, &n, NULL) < 0)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		json_t *o = json_object();
		if (v[i].icount != UINT64_MAX)
			json_object_set_new(o, "icount", json_integer((json_int_t)v[i].icount));
		json_object_set_new(o, "vm-clock-nsec", json_integer((json_int_t)(v[i].vm_clock_nsec % 1000000000)));
		json_object_set_new(o, "name", json_string(v[i].name));
		json_object_set_new(o, "date-sec", json_integer(v[i].date_sec));
		json_object_set_new(o, "date-nsec", json_integer(v[i].date_nsec));
		json_object_set_new(o, "vm-clock-sec", json_integer((json_int_t)(v[i].vm_clock_nsec / 1000000000)));
		json_object_set_new(o, "id", json_string(v[i].id));
		json_object_set_new(o, "vm-state-size", json_integer((json_int_t)v[i].vm_state_size));
		json_array_append_new(*out, o);
	}
	block__snapshots_free(v, n);
	return 0;
}

static void print_list(struct blk *b)
{
	struct blk_snapshot *v;
	unsigned n;
	if (block__snapshot_list(b, &v, &n, NULL) < 0 || !n)
		return;
	printf("Snapshot list:\nID        TAG               VM SIZE                DATE     VM CLOCK     ICOUNT\n");
	for (unsigned i = 0; i < n; i++) {
		char date[32];
		time_t t = v[i].date_sec;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
		uint64_t ms = v[i].vm_clock_nsec / 1000000;
		char icount[24] = "";
		if (v[i].icount != UINT64_MAX)
			snprintf(icount, sizeof(icount), "%llu", (unsigned long long)v[i].icount);
		printf("%-9s %-17s %7llu B %s %02llu:%02llu:%02llu.%03llu %10s\n", v[i].id, v[i].name,
		       (unsigned long long)v[i].vm_state_size, date, (unsigned long long)(ms / 3600000),
		       (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
		       (unsigned long long)(ms % 1000), icount);
	}
	block__snapshots_free(v, n);
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *arg = NULL;
	char op = 0;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'}, {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:lc:a:d:qUh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'l': case 'c': case 'a': case 'd':
			if (op) {
				fprintf(stderr, "strata-img: error: only one of -l, -c, -a, -d\n");
				return 1;
			}
			op = (char)c;
			arg = optarg;
			break;
		case 'q': case 'U': break;
		case 'h': return img__usage(&img_cmd_snapshot, false);
		default: return img__usage(&img_cmd_snapshot, true);
		}
	}
	if (optind != argc - 1 || !op)
		return img__usage(&img_cmd_snapshot, true);
	struct st_err err = {0};
	struct blk *b;
	if (img__open(argv[optind], fmt, op != 'l', true, &b, &err) < 0)
		return img__die(&err);
	int r = 0;
	switch (op) {
	case 'l': print_list(b); break;
	case 'c': r = block__snapshot_create(b, arg, &err); break;
	case 'a': r = block__snapshot_apply(b, arg, &err); break;
	case 'd': r = block__snapshot_delete(b, arg, &err); break;
	}
	if (r < 0) {
		block__close(b, NULL);
		return img__die(&err);
	}
	if (block__close(b, &err) < 0)
		return img__die(&err);
	return 0;
}

const struct img_cmd img_cmd_snapshot = {
	"snapshot", run, "snapshot [-f fmt] [-l | -c name | -a name | -d name] [-q] filename"};
