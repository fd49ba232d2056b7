/* strata-ctr's command line: the global options, the command table and the
 * helpers the command files share. A command file (cmd_*.c) parses its
 * options and calls the library (container.h); the library never calls back. */
#ifndef STRATA_CTR_CTR_CMD_H
#define STRATA_CTR_CTR_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"

/* What a command returns for bad usage (unknown command or option, missing
 * option argument): main exits 2 for it, as runc and crun do. */
#define CTR_CMD_USAGE (-2)

struct ctr_cmd_global {
	const char *root, *log, *log_format;
	bool systemd_cgroup;
};

struct ctr_cmd {
	const char *name;
	/* argv[0] is the command's name; returns the exit code, or < 0 with err
	 * set (CTR_CMD_USAGE for bad usage). */
	int (*run)(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);
};

extern const struct ctr_cmd ctr_cmd__create, ctr_cmd__run, ctr_cmd__start, ctr_cmd__state, ctr_cmd__kill,
	ctr_cmd__delete, ctr_cmd__pause, ctr_cmd__resume, ctr_cmd__list, ctr_cmd__ps, ctr_cmd__update,
	ctr_cmd__exec, ctr_cmd__spec, ctr_cmd__features;

/* The table entry named name, or NULL. */
const struct ctr_cmd *ctr_cmd__find(const char *name);
void ctr_cmd__usage(FILE *f);

/* The global options before the command. Returns the index of the command
 * in argv, 0 when --help or --version was answered (exit 0), CTR_CMD_USAGE
 * with err set on bad usage. --root defaults to /run/strata-ctr (root) or
 * $XDG_RUNTIME_DIR/strata-ctr. */
int ctr_cmd__parse_global(int argc, char **argv, struct ctr_cmd_global *g, struct st_err *err);
/* Parse the global options and run the command: the exit code, or < 0. */
int ctr_cmd__dispatch(struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err);

/* getopt_long for a command's options, silent, stopping at the first
 * operand (the id); '?' (unknown) and ':' (missing argument) go to
 * ctr_cmd__bad_option. */
int ctr_cmd__getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);
/* One line naming the option getopt just refused (c is what it returned);
 * returns CTR_CMD_USAGE. */
int ctr_cmd__bad_option(char **argv, int c, struct st_err *err);
/* --format table|json (and -q where quiet is given): 1 for json, 0 for table. */
int ctr_cmd__format_json(int argc, char **argv, bool *quiet, struct st_err *err);
/* A command without options of its own, with a container id when need_id. */
int ctr_cmd__no_options(int argc, char **argv, bool need_id, struct st_err *err);
int ctr_cmd__need_id(int argc, char **argv, struct st_err *err);
int ctr_cmd__preserve_fds(const char *arg, unsigned *out, struct st_err *err);

#endif
