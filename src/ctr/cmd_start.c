/* start: the created container's process execs its program. */
#include "ctr/ctr_cmd.h"

#include "ctr/container.h"

static int cmd_start(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	int r = ctr_cmd__no_options(argc, argv, true, err);
	if (r < 0)
		return r;
	return container__start(g->root, argv[optind], err);
}

const struct ctr_cmd ctr_cmd__start = {"start", cmd_start};
