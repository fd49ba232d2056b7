/* state: the runtime-spec state JSON of one container. */
#include "ctr/ctr_cmd.h"

#include <stdlib.h>

#include "common/json_util.h"
#include "ctr/container.h"
#include "ctr/state.h"

static int cmd_state(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	int r = ctr_cmd__no_options(argc, argv, true, err);
	if (r < 0)
		return r;
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
