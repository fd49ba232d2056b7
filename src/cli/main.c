/* strata: the command line for stratad, virsh-like. Human tables by
 * default, --json for scripts. Exit status: 0 done, 1 the operation failed
 * (one line on stderr), 2 bad usage. The commands are in commands.c's
 * table, one cmd_*.c file per object. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/err.h"
#include "cli/cli.h"
#include "cli/commands.h"

/* strata help [COMMAND] */
static int help(int argc, char **argv, struct st_err *err)
{
	if (argc == 0) {
		commands__usage(stdout);
		return 0;
	}
	const struct cli_cmd *cmd = commands__find(argv[0]);
	if (argc > 1)
		return cli__usage_fail(err, "usage: strata help [COMMAND]");
	if (!cmd)
		return cli__usage_fail(err, "unknown command '%s' (see strata help)", argv[0]);
	commands__help(stdout, cmd);
	return 0;
}

static int run(int argc, char **argv, char **token, struct st_err *err)
{
	struct cli c = {.target = {.unix_path = getenv("STRATA_SOCKET")}};
	if (!c.target.unix_path)
		c.target.unix_path = "/var/lib/strata/stratad.sock";
	int i;
	bool want_help;
	if (cli__global_options(&c, argc, argv, &i, &want_help, token, err) < 0)
		return -1;
	if (want_help) {
		commands__usage(stdout);
		return 0;
	}
	if (i >= argc) {
		commands__usage(stderr);
		return cli__usage_fail(err, "no command given");
	}
	if (!strcmp(argv[i], "help"))
		return help(argc - i - 1, argv + i + 1, err);
	const struct cli_cmd *cmd = commands__find(argv[i]);
	if (!cmd)
		return cli__usage_fail(err, "unknown command '%s' (see strata help)", argv[i]);
	for (int k = i + 1; k < argc; k++)
		if (!strcmp(argv[k], "--help")) {
			commands__help(stdout, cmd);
			return 0;
		}
	if (cli__parse(&c, cmd, argc - i - 1, argv + i + 1, err) < 0)
		return -1;
	return cmd->run(&c, err);
}

int main(int argc, char **argv)
{
	err__set_progname("strata");
	/* a server or reader that hangs up is an error line (EPIPE), never a silent death */
	signal(SIGPIPE, SIG_IGN);
	cleanup_free char *token = NULL;
	struct st_err err = {0};
	if (run(argc, argv, &token, &err) < 0)
		return cli__report(&err);
	return 0;
}
