/* create and run: the same options; run waits for the process. */
#include "ctr/ctr_cmd.h"

#include "ctr/container.h"

static int create_or_run(const struct ctr_cmd_global *g, int argc, char **argv, bool run, struct st_err *err)
{
	/* --no-new-keyring, --keep and --no-subreaper are runc's: accepted, nothing to do here. */
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},     {"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'}, {"detach", no_argument, NULL, 'd'},
		{"no-pivot", no_argument, NULL, 'P'},         {"no-new-keyring", no_argument, NULL, 'K'},
		{"preserve-fds", required_argument, NULL, 'f'}, {"keep", no_argument, NULL, 'k'},
		{"no-subreaper", no_argument, NULL, 'S'},     {NULL, 0, NULL, 0}};
	struct ctr_opts o = {.root = g->root, .systemd_cgroup = g->systemd_cgroup};
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "b:d", opts)) != -1) {
		switch (c) {
		case 'b': o.bundle = optarg; break;
		case 'p': o.pid_file = optarg; break;
		case 'c': o.console_socket = optarg; break;
		case 'd': o.detach = true; break;
		case 'P': o.no_pivot = true; break;
		case 'f':
			if (ctr_cmd__preserve_fds(optarg, &o.preserve_fds, err) < 0)
				return -1;
			break;
		case 'K': case 'k': case 'S': break;
		default: return ctr_cmd__bad_option(argv, c, err);
		}
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	o.id = argv[optind];
	int code = 0;
	if (container__create(&o, run, &code, err) < 0)
		return -1;
	return code;
}

static int cmd_create(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	return create_or_run(g, argc, argv, false, err);
}

static int cmd_run(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	return create_or_run(g, argc, argv, true, err);
}

const struct ctr_cmd ctr_cmd__create = {"create", cmd_create};
const struct ctr_cmd ctr_cmd__run = {"run", cmd_run};
