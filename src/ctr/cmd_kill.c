/* kill [--all] ID [SIGNAL]: SIGNAL as KILL, SIGKILL or 9, TERM by default. */
#include "ctr/ctr_cmd.h"

#include "ctr/container.h"

static int cmd_kill(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	bool all = false;
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "a", opts)) != -1) {
		if (c != 'a')
			return ctr_cmd__bad_option(argv, c, err);
		all = true;
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	int sig = container__signal_number(optind + 1 < argc ? argv[optind + 1] : "TERM", err);
	if (sig < 0)
		return -1;
	return container__kill(g->root, argv[optind], sig, all, err);
}

const struct ctr_cmd ctr_cmd__kill = {"kill", cmd_kill};
