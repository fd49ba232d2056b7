/* exec [options] ID [CMD...]: options parsed here, the process started by
 * container__exec. */
#include "ctr/ctr_cmd.h"

#include "common/util.h"
#include "ctr/caps.h"
#include "ctr/container.h"

static int cmd_exec(const struct ctr_cmd_global *g, int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {
		{"process", required_argument, NULL, 'p'}, {"cwd", required_argument, NULL, 'w'},
		{"env", required_argument, NULL, 'e'},     {"tty", no_argument, NULL, 't'},
		{"detach", no_argument, NULL, 'd'},        {"pid-file", required_argument, NULL, 'P'},
		{"console-socket", required_argument, NULL, 'c'}, {"user", required_argument, NULL, 'u'},
		{"no-new-privs", no_argument, NULL, 'N'},  {"cap", required_argument, NULL, 'C'},
		{"preserve-fds", required_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	struct ctr_exec_opts eo = {0};
	int c;
	while ((c = ctr_cmd__getopt(argc, argv, "p:w:e:tdu:", opts)) != -1) {
		switch (c) {
		case 'p': eo.process_file = optarg; break;
		case 'w': eo.cwd = optarg; break;
		case 'e':
			if (eo.n_env >= ST_ARRAY_SIZE(eo.env))
				return err__fail(err, 0, "exec: too many --env");
			eo.env[eo.n_env++] = optarg;
			break;
		case 't': eo.tty = true; break;
		case 'd': eo.detach = true; break;
		case 'P': eo.pid_file = optarg; break;
		case 'c': eo.console_socket = optarg; break;
		case 'u': eo.user = optarg; break;
		case 'N': eo.nnp = true; break;
		case 'f':
			if (ctr_cmd__preserve_fds(optarg, &eo.preserve_fds, err) < 0)
				return -1;
			break;
		case 'C': {
			int cap = caps__from_name(optarg);
			if (cap < 0)
				return err__fail(err, 0, "exec --cap: unknown capability %s", optarg);
			eo.add_caps |= 1ull << cap;
			break;
		}
		default: return ctr_cmd__bad_option(argv, c, err);
		}
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	eo.args = argv + optind + 1;
	return container__exec(g->root, argv[optind], &eo, err);
}

const struct ctr_cmd ctr_cmd__exec = {"exec", cmd_exec};
