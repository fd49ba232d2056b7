/* state: the runtime-spec state JSON of one container. */
#include "ctr/container.h"
#include "ctr/ctr_cmd.h"
#include "ctr/state.h"

#include <stdlib.h>

#include "common/json_util.h"

static int cmd_state(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{NULL, 0, NULL, 0}};
	int c = ctr_cmd__getopt(argc, argv, "", opts);
	if (c != -1)
		return ctr_cmd__bad_option(argv, c, err);
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	cleanup_json json_t *state = NULL;
	const char *status;
	if (container__load(g->root, argv[optind], &state, &status, err) < 0)
		return -1;
	cleanup_json json_t *oci = state__oci(state, status);
	char *s = json_dumps(oci, JSON_INDENT(2));
	puts(s);
	free(s);
	return 0;
}

const struct ctr_cmd ctr_cmd__state = {"state", cmd_state};
