/* strata-ctr: an OCI runtime with the runc/crun command line. The commands
 * are in the table of ctr_cmd.c, one file each (cmd_*.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/err.h"
#include "common/json_util.h"
#include "ctr/ctr_cmd.h"

/* Errors go to stderr and, with --log, to the log file (JSON for conmon). */
static void report(const struct ctr_cmd_global *g, const struct st_err *err)
{
	err__print(err);
	if (!g->log)
		return;
	FILE *f = fopen(g->log, "ae");
	if (!f)
		return;
	if (!strcmp(g->log_format, "json")) {
		char t[64];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cleanup_json json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", err->msg, "time", t);
		char *s = json_dumps(j, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
	} else {
		fprintf(f, "error: %s\n", err->msg);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	struct ctr_cmd_global g = {.root = NULL, .log_format = "text"};
	struct st_err err = {0};
	err__set_progname("strata-ctr");
	int r = ctr_cmd__dispatch(&g, argc, argv, &err);
	if (r < 0) {
		report(&g, &err);
		return r == CTR_CMD_USAGE ? 2 : 1;
	}
	return r;
}
