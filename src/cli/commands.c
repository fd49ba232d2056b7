/* The table of all strata commands and the help printed from it. */
#include "cli/commands.h"

#include <string.h>

#include "common/util.h"

#define USAGE_COLUMN 40

static const struct cli_group *const groups[] = {
	&cmd_domain_group, &cmd_domstat_group, &cmd_domedit_group, &cmd_disk_group,    &cmd_pool_group,
	&cmd_volume_group, &cmd_image_group,   &cmd_network_group, &cmd_template_group, &cmd_host_group,
};

/* names virsh also accepts for a command of ours */
static const struct {
	const char *alias, *name;
} aliases[] = {
	{"pool-create-as", "pool-define-as"},
};

const struct cli_cmd *commands__find(const char *name)
{
	for (size_t a = 0; a < ST_ARRAY_SIZE(aliases); a++)
		if (!strcmp(name, aliases[a].alias))
			name = aliases[a].name;
	for (size_t g = 0; g < ST_ARRAY_SIZE(groups); g++)
		for (size_t i = 0; i < groups[g]->n; i++)
			if (!strcmp(name, groups[g]->cmds[i].name))
				return &groups[g]->cmds[i];
	return NULL;
}

void commands__usage(FILE *f)
{
	fprintf(f, "Usage: strata [--socket PATH | --connect HOST:PORT --token-file FILE] [--json] COMMAND [ARGS]\n");
	for (size_t g = 0; g < ST_ARRAY_SIZE(groups); g++) {
		fprintf(f, "\n%s:\n", groups[g]->title);
		for (size_t i = 0; i < groups[g]->n; i++) {
			const struct cli_cmd *cmd = &groups[g]->cmds[i];
			char line[256];
			cli__usage_line(cmd, line, sizeof(line));
			const char *usage = line + strlen("strata ");
			/* a long usage line puts its help on the next line */
			if (strlen(usage) > USAGE_COLUMN)
				fprintf(f, "  %s\n  %-*s %s\n", usage, USAGE_COLUMN, "", cmd->help);
			else
				fprintf(f, "  %-*s %s\n", USAGE_COLUMN, usage, cmd->help);
		}
	}
	fprintf(f, "\nstrata help COMMAND describes one command. The socket defaults to $STRATA_SOCKET,\n"
		   "else /var/lib/strata/stratad.sock.\n");
}

void commands__help(FILE *f, const struct cli_cmd *cmd)
{
	char line[256];
	cli__usage_line(cmd, line, sizeof(line));
	fprintf(f, "Usage: %s\n\n  %s\n", line, cmd->help);
	if (cmd->opts && *cmd->opts)
		fprintf(f, "\nOptions: %s (and --json)\n", cmd->opts);
}
