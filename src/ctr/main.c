/* strata-ctr: an OCI runtime with the runc/crun command line. */
#include "ctr/container.h"
#include "ctr/ctr_cmd.h"
#include "ctr/state.h"
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct ctr_cmd_global g = {.root = NULL, .log_format = "text"};

/* Errors go to stderr and, with --log, to the log file (JSON for conmon). */
static void report(const struct st_err *err)
{
	err__print(err);
	if (!g.log)
		return;
	FILE *f = fopen(g.log, "ae");
	if (!f)
		return;
	if (!strcmp(g.log_format, "json")) {
		char t[64];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_t *j = json_pack("{s:s, s:s, s:s}", "level", "error", "msg", err->msg, "time", t);
		char *s = json_dumps(j, JSON_COMPACT);
		fprintf(f, "%s\n", s);
		free(s);
		json_decref(j);
	} else {
		fprintf(f, "error: %s\n", err->msg);
	}
	fclose(f);
}

int ctr_cmd__need_id(int argc, char **argv, struct st_err *err)
{
	if (optind >= argc)
		return err__fail(err, 0, "%s: a container id is required", argv[0]);
	return 0;
}

int ctr_cmd__preserve_fds(const char *arg, unsigned *out, struct st_err *err)
{
	uint64_t n;
	if (util__parse_u64(arg, 65536, &n, err) < 0)
		return err__prefix(err, "--preserve-fds");
	*out = (unsigned)n;
	return 0;
}

static int cmd_create_run(int argc, char **argv, bool run, struct st_err *err)
{
	static const struct option opts[] = {
		{"bundle", required_argument, NULL, 'b'},     {"pid-file", required_argument, NULL, 'p'},
		{"console-socket", required_argument, NULL, 'c'}, {"detach", no_argument, NULL, 'd'},
		{"no-pivot", no_argument, NULL, 'P'},         {"no-new-keyring", no_argument, NULL, 'K'},
		{"preserve-fds", required_argument, NULL, 'f'}, {"keep", no_argument, NULL, 'k'},
		{"no-subreaper", no_argument, NULL, 'S'},     {NULL, 0, NULL, 0}};
	struct ctr_opts o = {.root = g.root, .systemd_cgroup = g.systemd_cgroup};
	int c;
	while ((c = getopt_long(argc, argv, "+b:d", opts, NULL)) != -1) {
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
		default: return err__fail(err, 0, "%s: unknown option (see --help)", argv[0]);
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

static int cmd_simple(int argc, char **argv, struct st_err *err)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
					     {"all", no_argument, NULL, 'a'},
					     {NULL, 0, NULL, 0}};
	bool force = false, all = false;
	int c;
	while ((c = getopt_long(argc, argv, "+fa", opts, NULL)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'a')
			all = true;
		else
			return err__fail(err, 0, "%s: unknown option", argv[0]);
	}
	if (ctr_cmd__need_id(argc, argv, err) < 0)
		return -1;
	const char *id = argv[optind], *cmd = argv[0];
	if (!strcmp(cmd, "start"))
		return container__start(g.root, id, err);
	if (!strcmp(cmd, "delete"))
		return container__delete(g.root, id, force, err);
	if (!strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		return container__pause(g.root, id, !strcmp(cmd, "pause"), err);
	if (!strcmp(cmd, "kill")) {
		int sig = container__signal_number(optind + 1 < argc ? argv[optind + 1] : "TERM", err);
		if (sig < 0)
			return -1;
		return container__kill(g.root, id, sig, all, err);
	}
	/* state */
	json_t *state;
	const char *status;
	if (container__load(g.root, id, &state, &status, err) < 0)
		return -1;
	json_t *oci = state__oci(state, status);
	char *s = json_dumps(oci, JSON_INDENT(2));
	puts(s);
	free(s);
	json_decref(oci);
	json_decref(state);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: strata-ctr [--root DIR] [--log FILE] [--log-format text|json] [--systemd-cgroup]\n"
		"                  COMMAND [OPTIONS] [ID]\n"
		"commands: create run start state kill delete list ps pause resume update exec spec\n"
		"          features\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"root", required_argument, NULL, 'r'},      {"log", required_argument, NULL, 'l'},
		{"log-format", required_argument, NULL, 'F'}, {"systemd-cgroup", no_argument, NULL, 's'},
		{"debug", no_argument, NULL, 'D'},           {"cgroup-manager", required_argument, NULL, 'm'},
		{"rootless", required_argument, NULL, 'R'},  {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'v'},         {"log-level", required_argument, NULL, 'L'},
		{NULL, 0, NULL, 0}};
	struct st_err err = {0};
	int c;
	err__set_progname("strata-ctr");
	while ((c = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (c) {
		case 'r': g.root = optarg; break;
		case 'l': g.log = optarg; break;
		case 'F': g.log_format = optarg; break;
		case 's': g.systemd_cgroup = true; break;
		case 'D': log__set_level(ST_LOG_DEBUG); break;
		case 'm': g.systemd_cgroup = !strcmp(optarg, "systemd"); break;
		case 'R': case 'L': break;
		case 'h': usage(stdout); return 0;
		case 'v': printf("strata-ctr version %s\nspec: 1.0.2\n", STRATA_VERSION); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (!g.root) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		static char buf[4096];
		if (geteuid() != 0 && xdg) {
			snprintf(buf, sizeof(buf), "%s/strata-ctr", xdg);
			g.root = buf;
		} else {
			g.root = "/run/strata-ctr";
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	char *cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	int r;
	if (!strcmp(cmd, "create") || !strcmp(cmd, "run"))
		r = cmd_create_run(argc, argv, !strcmp(cmd, "run"), &err);
	else if (!strcmp(cmd, "start") || !strcmp(cmd, "state") || !strcmp(cmd, "kill") ||
		 !strcmp(cmd, "delete") || !strcmp(cmd, "pause") || !strcmp(cmd, "resume"))
		r = cmd_simple(argc, argv, &err);
	else if (!strcmp(cmd, "list"))
		r = ctr_cmd__list(&g, argc, argv, &err);
	else if (!strcmp(cmd, "ps"))
		r = ctr_cmd__ps(&g, argc, argv, &err);
	else if (!strcmp(cmd, "update"))
		r = ctr_cmd__update(&g, argc, argv, &err);
	else if (!strcmp(cmd, "exec"))
		r = ctr_cmd__exec(&g, argc, argv, &err);
	else if (!strcmp(cmd, "spec"))
		r = ctr_cmd__spec(argc, argv, &err);
	else if (!strcmp(cmd, "features"))
		r = ctr_cmd__features(&err);
	else
		r = err__fail(&err, 0, "unknown command '%s'", cmd);
	if (r < 0) {
		report(&err);
		return 1;
	}
	return r;
}
