/* Commands beyond the lifecycle core, one function each. */
#ifndef STRATA_CTR_CLI_H
#define STRATA_CTR_CLI_H

#include <stdbool.h>

#include "common/err.h"

struct cli_global {
	const char *root, *log, *log_format;
	bool systemd_cgroup;
};

int cli__need_id(int argc, char **argv, struct st_err *err);
int cli__preserve_fds(const char *arg, unsigned *out, struct st_err *err);
int cli__list(const struct cli_global *g, int argc, char **argv, struct st_err *err);
int cli__ps(const struct cli_global *g, int argc, char **argv, struct st_err *err);
int cli__update(const struct cli_global *g, int argc, char **argv, struct st_err *err);
int cli__exec(const struct cli_global *g, int argc, char **argv, struct st_err *err);
int cli__spec(int argc, char **argv, struct st_err *err);
int cli__features(struct st_err *err);

/* The default config.json of `spec` (runc's defaults). */
extern const char cli__default_spec[];

#endif
