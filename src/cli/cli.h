/* The strata CLI's shared layer: one invocation's state, the command table
 * entry every command file fills in, and the helpers main.c and the command
 * files use (arguments, API calls, errors). Output formatting lives in
 * output.h; the table of all commands in commands.h. */
#ifndef STRATA_CLI_CLI_H
#define STRATA_CLI_CLI_H

#include <stdbool.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_client.h"

/* errnum of usage errors: exit status 2 */
#define CLI_EUSAGE 100000
/* the most options one command accepts */
#define CLI_OPTS_MAX 8

struct cli;

/* One subcommand, virsh's vshCmdDef: the dispatcher checks the options
 * and the positional count against it before run() is called. */
struct cli_cmd {
	const char *name;
	int (*run)(struct cli *c, struct st_err *err);
	/* what follows "strata NAME" in the usage line */
	const char *args;
	const char *help;
	int min_args, max_args;
	/* the options it takes, space-separated; "--pool=" takes a value */
	const char *opts;
	/* for the commands that are one request: method, a path suffix after
	 * the object's path, and the human printer of the reply */
	const char *method, *suffix;
	void (*human)(json_t *reply);
};

/* The commands of one object (domains, pools, ...), one file each. */
struct cli_group {
	const char *title;
	const struct cli_cmd *cmds;
	size_t n;
};

struct cli {
	struct http_client_target target;
	bool json;
	const struct cli_cmd *cmd;
	/* this command's positional arguments */
	int argc;
	char **argv;
	/* the options given, in the order of cmd->opts; "" for a flag */
	const char *opt[CLI_OPTS_MAX];
};

/* Global options before the command: --socket, --connect, --token-file,
 * --json, --help (sets *help). *next is the index of the command. The
 * token is read into *token (the caller frees it). */
int cli__global_options(struct cli *c, int argc, char **argv, int *next, bool *help, char **token,
			struct st_err *err);
/* Sorts argv (after the command's name) into options and positionals as
 * cmd declares them; --json is every command's. Usage errors name the
 * command's usage line. argv must outlive c. */
int cli__parse(struct cli *c, const struct cli_cmd *cmd, int argc, char **argv, struct st_err *err);
/* The value of an option cmd declared ("" for a flag), NULL when absent. */
const char *cli__opt(const struct cli *c, const char *name);
bool cli__has(const struct cli *c, const char *name);
/* "strata NAME ARGS" */
void cli__usage_line(const struct cli_cmd *cmd, char *buf, size_t len);
int cli__usage_fail(struct st_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "strata: error: MSG" and returns the exit status: 2 for usage, 1 else. */
int cli__report(const struct st_err *err);

/* URL-encodes one path segment or query value. */
char *cli__escape(const char *s);
/* "/v1/COLLECTION/NAME" + suffix with NAME escaped; NULL on ENOMEM. */
char *cli__object_path(const char *collection, const char *name, const char *suffix);
/* Requests with JSON; prints the reply as JSON with --json, else calls
 * human(reply) (or prints nothing if human is NULL). */
int cli__call(struct cli *c, const char *method, const char *path, const json_t *body,
	      void (*human)(json_t *reply), struct st_err *err);
/* reply as JSON with --json, else human(reply) (nothing if NULL) */
void cli__print(const struct cli *c, json_t *reply, void (*human)(json_t *reply));
/* cli__call of c->cmd's method on COLLECTION/argv[0] + cmd's suffix. */
int cli__call_object(struct cli *c, const char *collection, struct st_err *err);
/* GETs the list at path and prints its active items (virsh's default),
 * or all (--all), or the inactive ones (--inactive): c->cmd declares both. */
int cli__list_active(struct cli *c, const char *path, void (*human)(json_t *list), struct st_err *err);
/* The body of a raw reply (not through http_client__json) with status >= 300:
 * fails with the API's error message, or with what when it has none. */
int cli__reply_fail(const char *body, size_t len, const char *what, struct st_err *err);
int cli__read_json_file(const char *file, json_t **out, struct st_err *err);
/* POSTs the file argv[0] to path: as application/xml when it is XML (it
 * starts with '<'), else as JSON; prints the reply as cli__call does. */
int cli__define_file(struct cli *c, const char *path, void (*human)(json_t *reply), struct st_err *err);
/* GETs path and writes the reply's body to stdout as it is (dumpxml). */
int cli__print_body(struct cli *c, const char *path, struct st_err *err);

#endif
