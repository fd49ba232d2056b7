#include <stdio.h>

#include "img/img.h"

static int run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "strata-img: error: snapshot is not implemented yet\n");
	return 1;
}

const struct img_cmd img_cmd_snapshot = {"snapshot", run, "snapshot (not implemented yet)"};

#include <jansson.h>
int img_snapshot_list(struct blk *b, json_t **out);
int img_snapshot_list(struct blk *b, json_t **out)
{
	(void)b;
	*out = json_array();
	return 0;
}
