/* The command table, the global options and the helpers of the command files. */
#include "ctr/ctr_cmd.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

static const struct ctr_cmd *const cmds[] = {
	&ctr_cmd__create, &ctr_cmd__run,    &ctr_cmd__start, &ctr_cmd__state,  &ctr_cmd__kill,
	&ctr_cmd__delete, &ctr_cmd__pause,  &ctr_cmd__resume, &ctr_cmd__list,  &ctr_cmd__ps,
	&ctr_cmd__update, &ctr_cmd__exec,   &ctr_cmd__spec,  &ctr_cmd__features,
};

const struct ctr_cmd *ctr_cmd__find(const char *name)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(cmds); i++)
		if (!strcmp(name, cmds[i]->name))
			return cmds[i];
	return NULL;
}

void ctr_cmd__usage(FILE *f)
{
	fprintf(f, "usage: strata-ctr [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]\n"
		   "                  COMMAND [OPTIONS] [ID]\ncommands:");
	for (size_t i = 0; i < ST_ARRAY_SIZE(cmds); i++)
		fprintf(f, "%s %s", i == 8 ? "\n         " : "", cmds[i]->name);
	fprintf(f, "\n");
}

int ctr_cmd__getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	char spec[64];
	snprintf(spec, sizeof(spec), "+:%s", shortopts);
	opterr = 0;
	return getopt_long(argc, argv, spec, longopts, NULL);
}

/* who: the command, NULL for the global options. */
static int bad_option(const char *who, char **argv, int c, struct st_err *err)
{
	/* After getopt, argv[optind - 1] holds the option (or its cluster). */
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	char name[64];
	if (!strncmp(arg, "--", 2))
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	else
		snprintf(name, sizeof(name), "-%c", optopt ? optopt : '?');
	if (c == ':')
		err__fail(err, 0, "%s%soption '%s' needs an argument", who ? who : "", who ? ": " : "", name);
	else
		err__fail(err, 0, "%s%sunknown option '%s' (see --help)", who ? who : "", who ? ": " : "", name);
	return CTR_CMD_USAGE;
}

int ctr_cmd__bad_option(char **argv, int c, struct st_err *err)
{
	return bad_option(argv[0], argv, c, err);
}

int ctr_cmd__format_json(int argc, char **argv, bool *quiet, struct st_err *err)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {"quiet", no_argument, NULL, 'q'},
					     {NULL, 0, NULL, 0}};
	int c;
	bool json = false;
	while ((c = ctr_cmd__getopt(argc, argv, "f:q", opts)) != -1) {
		if (c == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
			json = !strcmp(optarg, "json");
		else if (c == 'q' && quiet)
			*quiet = true;
		else if (c == 'f')
			return err__fail(err, 0, "%s: bad option (--format table|json)", argv[0]);
		else
			return ctr_cmd__bad_option(argv, c, err);
	}
	return json;
}

int ctr_cmd__need_id(int argc, char **argv, struct st_err *err)
{
	if (optind >= argc)
		return err__fail(err, 0, "%s: a container id is required", argv[0]);
	return 0;
}

int ctr_cmd__no_options(int argc, char **argv, bool need_id, struct st_err *err)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	int c = ctr_cmd__getopt(argc, argv, "", none);
	if (c != -1)
		return ctr_cmd__bad_option(argv, c, err);
	return need_id ? ctr_cmd__need_id(argc, argv, err) : 0;
}

int ctr_cmd__preserve_fds(const char *arg, unsigned *out, struct st_err *err)
{
	uint64_t n;
	if (util__parse_u64(arg, 65536, &n, err) < 0)
		return err__prefix(err, "--preserve-fds");
	*out = (unsigned)n;
	return 0;
}

static void default_root(struct ctr_cmd_global *g)
{
	static char buf[4096];
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() != 0 && xdg) {
		snprintf(buf, sizeof(buf), "%s/strata-ctr", xdg);
		g->root = buf;
	} else {
		g->root = "/run/strata-ctr";
	}
}

int ctr_cmd__parse_global(int argc, char **argv, struct ctr_cmd_global *g, struct st_err *err)
{
	/* runc's and crun's global options; those without meaning here are accepted
	 * (conmon and podman pass them). */
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},      {"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'F'}, {"systemd-cgroup", no_argument, NULL, 's'},
		{"debug", no_argument, NULL, 'D'},           {"cgroup-manager", required_argument, NULL, 'm'},
		{"rootless", required_argument, NULL, 'R'},  {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},         {"log-level", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0}};
	int c;
	optind = 0;
	while ((c = ctr_cmd__getopt(argc, argv, "hv", opts)) != -1) {
		switch (c) {
		case 'r': g->root = optarg; break;
		case 'l': g->log = optarg; break;
		case 'F': g->log_format = optarg; break;
		case 's': g->systemd_cgroup = true; break;
		case 'D': log__set_level(ST_LOG_DEBUG); break;
		case 'm': g->systemd_cgroup = !strcmp(optarg, "systemd"); break;
		case 'R': case 'L': break;
		case 'h': ctr_cmd__usage(stdout); return 0;
		case 'v': printf("strata-ctr version %s\nspec: 1.0.2\n", STRATA_VERSION); return 0;
		default: return bad_option(NULL, argv, c, err);
		}
	}
	if (!g->root)
		default_root(g);
	if (optind >= argc)
		return err__fail(err, 0, "a command is required (see --help)"), CTR_CMD_USAGE;
	return optind;
}

int ctr_cmd__dispatch(struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	int i = ctr_cmd__parse_global(argc, argv, g, err);
	if (i <= 0)
		return i;
	const struct ctr_cmd *cmd = ctr_cmd__find(argv[i]);
	if (!cmd)
		return err__fail(err, 0, "unknown command '%s' (see --help)", argv[i]), CTR_CMD_USAGE;
	optind = 0; /* a fresh getopt for the command's own options */
	return cmd->run(g, argc - i, argv + i, err);
}
