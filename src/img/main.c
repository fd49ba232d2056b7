/* strata-img: qemu-img's commands and flags on the same files. */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "img/img.h"

static const struct img_cmd *const cmds[] = {
	&img_cmd_create, &img_cmd_info,   &img_cmd_check,  &img_cmd_convert, &img_cmd_compare,
	&img_cmd_map,    &img_cmd_snapshot, &img_cmd_commit, &img_cmd_rebase, &img_cmd_resize,
	&img_cmd_measure, &img_cmd_amend, &img_cmd_bench,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: strata-img COMMAND [options]\n\nCommands (each has --help):\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i]->usage);
}

int main(int argc, char **argv)
{
	err__set_progname("strata-img");
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("strata-img %s\n", STRATA_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i]->name))
			return cmds[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "strata-img: error: unknown command '%s' (try --help)\n", argv[1]);
	return 1;
}
