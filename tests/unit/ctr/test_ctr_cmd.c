/* strata-ctr's command line: the command table, the global options, each
 * command's refusal of bad usage (one line; CTR_CMD_USAGE, exit 2), and
 * `spec` writing configs the parser accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctr/config.h"
#include "ctr/ctr_cmd.h"

/* Runs the command line (argv[0] = "strata-ctr" added); returns dispatch's result. */
static int run_cli(struct ctr_cmd_global *g, struct st_err *err, const char *const *args)
{
	char *argv[32] = {"strata-ctr"};
	int argc = 1;
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	*g = (struct ctr_cmd_global){.log_format = "text"};
	*err = (struct st_err){0};
	return ctr_cmd__dispatch(g, argc, argv, err);
}

#define CLI(g, err, ...) run_cli(g, err, (const char *const[]){__VA_ARGS__, NULL})

static void table_finds_every_command(void **state)
{
	(void)state;
	static const char *const names[] = {"create", "run",    "start", "state", "kill", "delete", "pause",
					    "resume", "list",   "ps",    "update", "exec", "spec",   "features"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct ctr_cmd *c = ctr_cmd__find(names[i]);
		assert_non_null(c);
		assert_string_equal(c->name, names[i]);
		assert_non_null(c->run);
	}
	assert_null(ctr_cmd__find("frob"));
	assert_null(ctr_cmd__find(""));
	assert_null(ctr_cmd__find("Create"));
}

static void global_options(void **state)
{
	(void)state;
	struct ctr_cmd_global g = {0};
	struct st_err err = {0};
	char *argv[] = {"strata-ctr", "--root", "/tmp/r", "--log", "/tmp/l", "--log-format", "json",
			"--systemd-cgroup", "--log-level", "debug", "--rootless", "false", "state", "id", NULL};
	assert_int_equal(ctr_cmd__parse_global(13, argv, &g, &err), 12);
	assert_string_equal(g.root, "/tmp/r");
	assert_string_equal(g.log, "/tmp/l");
	assert_string_equal(g.log_format, "json");
	assert_true(g.systemd_cgroup);

	/* crun's spelling of the cgroup manager */
	char *argv2[] = {"strata-ctr", "--cgroup-manager", "cgroupfs", "list", NULL};
	g = (struct ctr_cmd_global){.systemd_cgroup = true};
	assert_int_equal(ctr_cmd__parse_global(4, argv2, &g, &err), 3);
	assert_false(g.systemd_cgroup);
	assert_non_null(g.root); /* the default */
}

static void default_root(void **state)
{
	(void)state;
	struct ctr_cmd_global g = {0};
	struct st_err err = {0};
	char *argv[] = {"strata-ctr", "list", NULL};
	setenv("XDG_RUNTIME_DIR", "/run/user/4242", 1);
	assert_int_equal(ctr_cmd__parse_global(2, argv, &g, &err), 1);
	assert_string_equal(g.root, geteuid() == 0 ? "/run/strata-ctr" : "/run/user/4242/strata-ctr");
}

static void bad_global_usage(void **state)
{
	(void)state;
	struct ctr_cmd_global g;
	struct st_err err;
	assert_int_equal(CLI(&g, &err, "--bogus", "list"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "unknown option '--bogus' (see --help)");
	assert_int_equal(CLI(&g, &err, "-x", "list"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "unknown option '-x' (see --help)");
	assert_int_equal(CLI(&g, &err, "--root"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "option '--root' needs an argument");
	assert_int_equal(CLI(&g, &err, "--root", "/tmp"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "a command is required (see --help)");
	assert_int_equal(CLI(&g, &err, "frob", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "unknown command 'frob' (see --help)");
	/* options after the command are the command's own */
	assert_int_equal(CLI(&g, &err, "--root", "/tmp", "frob", "--root"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "unknown command 'frob' (see --help)");
}

static void bad_command_usage(void **state)
{
	(void)state;
	struct ctr_cmd_global g;
	struct st_err err;
	assert_int_equal(CLI(&g, &err, "kill", "--bogus", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "kill: unknown option '--bogus' (see --help)");
	assert_int_equal(CLI(&g, &err, "delete", "-fz", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "delete: unknown option '-z' (see --help)");
	assert_int_equal(CLI(&g, &err, "delete", "--all", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "delete: unknown option '--all' (see --help)");
	assert_int_equal(CLI(&g, &err, "create", "--bundle"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "create: option '--bundle' needs an argument");
	assert_int_equal(CLI(&g, &err, "run", "--detach=yes", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "run: unknown option '--detach' (see --help)");
	assert_int_equal(CLI(&g, &err, "exec", "--tty", "-u"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "exec: option '-u' needs an argument");
	assert_int_equal(CLI(&g, &err, "update", "--memry", "1", "id"), CTR_CMD_USAGE);
	assert_string_equal(err.msg, "update: unknown option '--memry' (see --help)");
	assert_int_equal(CLI(&g, &err, "start", "--force", "id"), CTR_CMD_USAGE);
	assert_int_equal(CLI(&g, &err, "features", "--json"), CTR_CMD_USAGE);
	assert_int_equal(CLI(&g, &err, "spec", "--bundel=/nonexistent"), CTR_CMD_USAGE);
}

/* Bad values are errors (exit 1), found before any container is looked up. */
static void bad_values(void **state)
{
	(void)state;
	struct ctr_cmd_global g;
	struct st_err err;
	assert_int_equal(CLI(&g, &err, "delete"), -1);
	assert_string_equal(err.msg, "delete: a container id is required");
	assert_int_equal(CLI(&g, &err, "run", "--preserve-fds", "many", "id"), -1);
	assert_non_null(strstr(err.msg, "--preserve-fds"));
	assert_int_equal(CLI(&g, &err, "update", "--memory", "12q", "id"), -1);
	assert_non_null(strstr(err.msg, "update --memory"));
	assert_int_equal(CLI(&g, &err, "update", "--pids-limit", "x", "id"), -1);
	assert_non_null(strstr(err.msg, "update --pids-limit"));
	assert_int_equal(CLI(&g, &err, "list", "--format", "xml"), -1);
	assert_string_equal(err.msg, "list: bad option (--format table|json)");
	assert_int_equal(CLI(&g, &err, "exec", "--cap", "CAP_BOGUS", "id", "sh"), -1);
	assert_string_equal(err.msg, "exec --cap: unknown capability CAP_BOGUS");
	assert_int_equal(CLI(&g, &err, "kill", "id", "SIGNOPE"), -1);
	assert_non_null(strstr(err.msg, "unknown signal"));
}

static void spec_writes_parsable_configs(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-ctr-cmd-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);
	struct ctr_cmd_global g;
	struct st_err err;
	struct ctr_config *cfg = NULL;
	for (int rootless = 0; rootless < 2; rootless++) {
		int r = rootless ? CLI(&g, &err, "spec", "--rootless", "--bundle", dir)
				 : CLI(&g, &err, "spec", "--bundle", dir);
		assert_int_equal(r, 0);
		if (config__load(path, &cfg, &err) < 0)
			fail_msg("spec's config does not parse: %s", err.msg);
		assert_int_equal(config__has_ns(cfg, CLONE_NEWUSER), rootless);
		assert_int_equal(config__has_ns(cfg, CLONE_NEWNET), !rootless);
		assert_int_equal(cfg->n_uid_maps, (size_t)rootless);
		config__free(cfg);
		/* never over an existing config.json */
		assert_int_equal(CLI(&g, &err, "spec", "--bundle", dir), -1);
		assert_non_null(strstr(err.msg, "config.json"));
		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_finds_every_command), cmocka_unit_test(global_options),
		cmocka_unit_test(default_root),             cmocka_unit_test(bad_global_usage),
		cmocka_unit_test(bad_command_usage),        cmocka_unit_test(bad_values),
		cmocka_unit_test(spec_writes_parsable_configs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
