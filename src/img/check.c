/* check: qemu-img's exit codes — 0 clean, 1 check failed to run, 2 corrupted,
 * 3 leaks only, 63 format without checks. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2_public.h"
#include "common/util.h"
#include "img/img.h"

static void print_human(const char *path, const struct qcow2_check_result *r, bool quiet)
{
	(void)path;
	if (quiet)
		return;
	if (!r->corruptions && !r->leaks && !r->check_errors)
		printf("No errors were found on the image.\n");
	if (r->corruptions)
		printf("\n%llu errors were found on the image.\nData may be corrupted, or further writes to the image "
		       "may corrupt it.\n", (unsigned long long)r->corruptions);
	if (r->leaks)
		printf("\n%llu leaked clusters were found on the image.\nThis means waste of disk space, but no "
		       "harm to data.\n", (unsigned long long)r->leaks);
	if (r->total_clusters)
		printf("%llu/%llu = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters\n",
		       (unsigned long long)r->allocated_clusters, (unsigned long long)r->total_clusters,
		       100.0 * (double)r->allocated_clusters / (double)r->total_clusters,
		       r->allocated_clusters ? 100.0 * (double)r->fragmented_clusters / (double)r->allocated_clusters : 0,
		       r->allocated_clusters ? 100.0 * (double)r->compressed_clusters / (double)r->allocated_clusters : 0);
	printf("Image end offset: %llu\n", (unsigned long long)r->image_end_offset);
}

static void print_json(const char *path, const struct qcow2_check_result *r)
{
	json_t *o = json_object();
	json_object_set_new(o, "image-end-offset", json_integer((json_int_t)r->image_end_offset));
	json_object_set_new(o, "total-clusters", json_integer((json_int_t)r->total_clusters));
	json_object_set_new(o, "check-errors", json_integer((json_int_t)r->check_errors));
	if (r->leaks)
		json_object_set_new(o, "leaks", json_integer((json_int_t)r->leaks));
	if (r->corruptions)
		json_object_set_new(o, "corruptions", json_integer((json_int_t)r->corruptions));
	if (r->leaks_fixed)
		json_object_set_new(o, "leaks-fixed", json_integer((json_int_t)r->leaks_fixed));
	if (r->corruptions_fixed)
		json_object_set_new(o, "corruptions-fixed", json_integer((json_int_t)r->corruptions_fixed));
	json_object_set_new(o, "allocated-clusters", json_integer((json_int_t)r->allocated_clusters));
	json_object_set_new(o, "filename", json_string(path));
	json_object_set_new(o, "format", json_string("qcow2"));
	json_object_set_new(o, "fragmented-clusters", json_integer((json_int_t)r->fragmented_clusters));
	json_object_set_new(o, "compressed-clusters", json_integer((json_int_t)r->compressed_clusters));
	char *s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
	printf("%s\n", s);
	free(s);
	json_decref(o);
}

static int run(int argc, char **argv)
{
	const char *fmt = NULL, *output = "human";
	enum qcow2_repair repair = QCOW2_REPAIR_NONE;
	bool quiet = false;
	static const struct option lo[] = {{"help", no_argument, 0, 'h'},
					   {"output", required_argument, 0, 'O'},
					   {"force-share", no_argument, 0, 'U'},
					   {0}};
	int c;
	while ((c = getopt_long(argc, argv, "f:r:qhU", lo, NULL)) != -1) {
		switch (c) {
		case 'f': fmt = optarg; break;
		case 'O': output = optarg; break;
		case 'r':
			if (!strcmp(optarg, "leaks"))
				repair = QCOW2_REPAIR_LEAKS;
			else if (!strcmp(optarg, "all"))
				repair = QCOW2_REPAIR_ALL;
			else {
				fprintf(stderr, "strata-img: error: -r takes leaks or all, not '%s'\n", optarg);
				return 1;
			}
			break;
		case 'q': quiet = true; break;
		case 'U': break;
		case 'h': return img__usage(&img_cmd_check, false);
		default: return img__usage(&img_cmd_check, true);
		}
	}
	if (optind != argc - 1)
		return img__usage(&img_cmd_check, true);
	bool json = !strcmp(output, "json");
	struct st_err err = {0};
	struct blk *b;
	struct blk_open_opts o = {.format = fmt, .writable = repair != QCOW2_REPAIR_NONE, .no_backing = true,
				  .for_repair = true};
	if (block__open(argv[optind], &o, &b, &err) < 0)
		return img__die(&err);
	if (strcmp(block__format(b), "qcow2")) {
		block__close(b, NULL);
		fprintf(stderr, "strata-img: This image format does not support checks\n");
		return 63;
	}
	struct qcow2_check_result r;
	if (qcow2__check(b, repair, &r, &err) < 0) {
		block__close(b, NULL);
		err__print(&err);
		return 1;
	}
	if (repair && (r.leaks_fixed || r.corruptions_fixed)) {
		struct qcow2_check_result again;
		if (!json && !quiet)
			printf("The following inconsistencies were found and repaired:\n\n    %llu leaked clusters\n"
			       "    %llu corruptions\n\nDouble checking the fixed image now...\n",
			       (unsigned long long)r.leaks_fixed, (unsigned long long)r.corruptions_fixed);
		if (qcow2__check(b, QCOW2_REPAIR_NONE, &again, &err) < 0) {
			block__close(b, NULL);
			err__print(&err);
			return 1;
		}
		again.leaks_fixed = r.leaks_fixed;
		again.corruptions_fixed = r.corruptions_fixed;
		r = again;
		if (!r.corruptions && qcow2__clear_corrupt(b, &err) < 0) {
			block__close(b, NULL);
			return img__die(&err);
		}
	}
	if (block__close(b, &err) < 0)
		return img__die(&err);
	if (json)
		print_json(argv[optind], &r);
	else
		print_human(argv[optind], &r, quiet);
	if (r.check_errors)
		return 1;
	if (r.corruptions)
		return 2;
	if (r.leaks)
		return 3;
	return 0;
}

const struct img_cmd img_cmd_check = {
	"check", run, "check [-f fmt] [-r leaks|all] [--output=human|json] [-q] [-U] filename"};
