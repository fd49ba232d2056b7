/* delete [--force] ID */
#include "ctr/ctr_cmd.h"

#include "ctr/container.h"

static int cmd_delete(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	bool force = false;
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "f", opts)) != -1) {
		if (c != 'f')
			return ctr_cmd__bad_option(argv, c, err);
		force = true;
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	return container__delete(g->root, argv[optind], force, err);
}

const struct ctr_cmd ctr_cmd__delete = {"delete", cmd_delete};
