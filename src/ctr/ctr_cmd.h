/* Commands beyond the lifecycle core, one function each. */
#ifndef STRATA_CTR_CTR_CMD_H
#define STRATA_CTR_CTR_CMD_H

#include <stdbool.h>

#include "common/err.h"

struct ctr_cmd_global {
	const char *root, *log, *log_format;
	bool systemd_cgroup;
};

int ctr_cmd__need_id(int argc, char **argv, struct st_err *err);
int ctr_cmd__preserve_fds(const char *arg, unsigned *out, struct st_err *err);
int ctr_cmd__list(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);
int ctr_cmd__ps(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);
int ctr_cmd__update(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);
int ctr_cmd__exec(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);
int ctr_cmd__spec(int argc, char **argv, struct st_err *err);
int ctr_cmd__features(struct st_err *err);

/* The default config.json of `spec` (runc's defaults). */
extern const char ctr_cmd__default_spec[];

#endif
