/* start: the created container's process execs its program. */
#include "ctr/container.h"
#include "ctr/ctr_cmd.h"

static int cmd_start(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	int c = ctr_cmd__getopt(argc, argv, "", opts);
	if (c != -1)
		return ctr_cmd__bad_option(argv, c, err);
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	return container__start(g->root, argv[optind], err);
}

const struct ctr_cmd ctr_cmd__start = {"start", cmd_start};
