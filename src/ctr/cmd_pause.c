/* pause and resume: freeze and thaw the container's cgroup. */
#include "ctr/ctr_cmd.h"

#include "ctr/container.h"

static int pause_or_resume(const struct ctr_cmd_global *g, int argc, char **argv, bool pause, struct st_err *err)
{
	int r = ctr_cmd__no_options(argc, argv, true, err);
	if (r < 0)
		return r;
	return container__pause(g->root, argv[optind], pause, err);
}

static int cmd_pause(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	return pause_or_resume(g, argc, argv, true, err);
}

static int cmd_resume(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	return pause_or_resume(g, argc, argv, false, err);
}

const struct ctr_cmd ctr_cmd__pause = {"pause", cmd_pause};
const struct ctr_cmd ctr_cmd__resume = {"resume", cmd_resume};
