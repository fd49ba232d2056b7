#include <stdio.h>

#include "img/img.h"

static int run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "strata-img: error: rebase is not implemented yet\n");
	return 1;
}

const struct img_cmd img_cmd_rebase = {"rebase", run, "rebase (not implemented yet)"};
