/* The table of all strata commands: one group per object, each defined in
 * its own cmd_*.c file (virsh's domManagementCmds, ...). */
#ifndef STRATA_CLI_COMMANDS_H
#define STRATA_CLI_COMMANDS_H

#include <stdio.h>

#include "cli/cli.h"

extern const struct cli_group cmd_domain_group, cmd_disk_group, cmd_pool_group, cmd_volume_group,
	cmd_network_group, cmd_host_group, cmd_image_group, cmd_domstat_group, cmd_domedit_group, cmd_template_group;

/* The command named name, or NULL. */
const struct cli_cmd *commands__find(const char *name);
/* Every command's usage line and help, by group. */
void commands__usage(FILE *f);
/* One command's usage line, help and options. */
void commands__help(FILE *f, const struct cli_cmd *cmd);

#endif
