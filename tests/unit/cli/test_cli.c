/* strata's parsing: the command table, argument counts, options, global
 * options and bad input; all without a stratad. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static const struct cli_group *const groups[] = {
	&cmd_domain_group, &cmd_domstat_group, &cmd_domedit_group, &cmd_disk_group,    &cmd_pool_group,
	&cmd_volume_group, &cmd_network_group, &cmd_host_group, &cmd_template_group,
};

/* cli__parse on a copy of words (it packs positionals into argv) */
static int parse(struct cli *c, const char *name, char **words, int n, struct st_err *err)
{
	const struct cli_cmd *cmd = commands__find(name);
	assert_non_null(cmd);
	memset(c, 0, sizeof(*c));
	return cli__parse(c, cmd, n, words, err);
}

static void table_lookup(void **state)
{
	(void)state;
	const struct cli_cmd *cmd = commands__find("attach-disk");
	assert_non_null(cmd);
	assert_string_equal(cmd->name, "attach-disk");
	assert_non_null(commands__find("net-dhcp-leases"));
	assert_non_null(commands__find("vol-download"));
	assert_non_null(commands__find("version"));
	/* virsh's alias lands on the same entry */
	assert_ptr_equal(commands__find("pool-create-as"), commands__find("pool-define-as"));
	assert_null(commands__find("bogus"));
	assert_null(commands__find(""));
	assert_null(commands__find("star"));   /* no prefix matching */
	assert_null(commands__find("start ")); /* nor trailing junk */
	assert_null(commands__find("help"));   /* main.c's, not a table entry */
}

/* Every entry is complete, names are unique, and every --option its
 * usage line shows is one it accepts. */
static void table_is_consistent(void **state)
{
	(void)state;
	size_t total = 0;
	for (size_t g = 0; g < ST_ARRAY_SIZE(groups); g++) {
		assert_non_null(groups[g]->title);
		assert_true(groups[g]->n > 0);
		for (size_t i = 0; i < groups[g]->n; i++) {
			const struct cli_cmd *cmd = &groups[g]->cmds[i];
			total++;
			assert_non_null(cmd->run);
			assert_non_null(cmd->args);
			assert_non_null(cmd->help);
			assert_true(cmd->min_args >= 0 && cmd->min_args <= cmd->max_args);
			assert_ptr_equal(commands__find(cmd->name), cmd);
			/* one request commands name their method and path */
			assert_true(!cmd->suffix || cmd->method);
			for (const char *p = strstr(cmd->args, "--"); p; p = strstr(p + 2, "--")) {
				char opt[32];
				size_t len = strcspn(p, " ]|");
				assert_true(len < sizeof(opt));
				memcpy(opt, p, len);
				opt[len] = 0;
				/* cli__opt answers NULL for an undeclared option and for an
				 * absent one alike: ask the parser instead */
				struct cli c = {0};
				char *words[] = {opt, "v"};
				struct st_err err = {0};
				int rc = cli__parse(&c, cmd, 2, words, &err);
				if (rc < 0)
					assert_null(strstr(err.msg, "unknown option"));
			}
		}
	}
	assert_true(total >= 40);
}

static void arg_counts(void **state)
{
	(void)state;
	struct cli c;
	struct st_err err = {0};
	char *none[] = {NULL};
	assert_true(parse(&c, "start", none, 0, &err) < 0);
	assert_int_equal(err.errnum, CLI_EUSAGE);
	assert_string_equal(err.msg, "usage: strata start NAME [--console]");
	char *one[] = {"dom"};
	assert_int_equal(parse(&c, "start", one, 1, &err), 0);
	assert_int_equal(c.argc, 1);
	assert_string_equal(c.argv[0], "dom");
	char *two[] = {"dom", "extra"};
	assert_true(parse(&c, "start", two, 2, &err) < 0);
	assert_int_equal(err.errnum, CLI_EUSAGE);
	/* attach-disk takes 2 or 3 */
	char *a2[] = {"dom", "/f.raw"}, *a3[] = {"dom", "/f.raw", "vdb"}, *a4[] = {"dom", "/f.raw", "vdb", "x"};
	assert_int_equal(parse(&c, "attach-disk", a2, 2, &err), 0);
	assert_int_equal(parse(&c, "attach-disk", a3, 3, &err), 0);
	assert_int_equal(c.argc, 3);
	assert_true(parse(&c, "attach-disk", a4, 4, &err) < 0);
	assert_non_null(strstr(err.msg, "strata attach-disk NAME SOURCE [TARGET]"));
	assert_int_equal(parse(&c, "list", none, 0, &err), 0);
	assert_true(parse(&c, "list", one, 1, &err) < 0);
}

static void options_anywhere(void **state)
{
	(void)state;
	struct cli c;
	struct st_err err = {0};
	char *w[] = {"--readonly", "dom", "--pool", "p1", "vol.qcow2", "--format", "qcow2", "vdc"};
	assert_int_equal(parse(&c, "attach-disk", w, 8, &err), 0);
	assert_int_equal(c.argc, 3);
	assert_string_equal(c.argv[0], "dom");
	assert_string_equal(c.argv[1], "vol.qcow2");
	assert_string_equal(c.argv[2], "vdc");
	assert_string_equal(cli__opt(&c, "--pool"), "p1");
	assert_string_equal(cli__opt(&c, "--format"), "qcow2");
	assert_true(cli__has(&c, "--readonly"));
	assert_false(c.json);
	/* absent options, and ones the command does not declare */
	char *w2[] = {"dom", "/f.raw", "--json"};
	assert_int_equal(parse(&c, "attach-disk", w2, 3, &err), 0);
	assert_null(cli__opt(&c, "--pool"));
	assert_false(cli__has(&c, "--readonly"));
	assert_null(cli__opt(&c, "--overlay"));
	assert_true(c.json);
	/* a value is taken as it is, even one that looks like an option */
	char *w3[] = {"v", "--pool", "--weird", "n"};
	assert_int_equal(parse(&c, "vol-clone", w3, 4, &err), 0);
	assert_string_equal(cli__opt(&c, "--pool"), "--weird");
	assert_int_equal(c.argc, 2);
	/* "--" alone and "-x" are positionals, as they always were */
	char *w4[] = {"--", "-x"};
	assert_int_equal(parse(&c, "vol-clone", w4, 2, &err), 0);
	assert_string_equal(c.argv[0], "--");
	assert_string_equal(c.argv[1], "-x");
	/* a prefix of a declared option is not that option */
	char *w5[] = {"--po", "p", "v"};
	assert_true(parse(&c, "vol-info", w5, 3, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown option --po"));
}

/* virsh's verbs and options (issue 13 item 13) as virsh spells them */
static void virsh_verbs(void **state)
{
	(void)state;
	struct cli c;
	struct st_err err = {0};
	static const char *const names[] = {"edit", "domstate", "domiflist", "dommemstat", "domuuid", "vcpuinfo",
					    "setmem", "setvcpus", "create", "nodeinfo", "capabilities"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(names); i++)
		assert_non_null(commands__find(names[i]));
	char *st[] = {"dom", "--reason"};
	assert_int_equal(parse(&c, "domstate", st, 2, &err), 0);
	assert_true(cli__has(&c, "--reason"));
	char *sv[] = {"dom", "4", "--config"};
	assert_int_equal(parse(&c, "setvcpus", sv, 3, &err), 0);
	assert_string_equal(c.argv[1], "4");
	assert_true(cli__has(&c, "--config"));
	char *svmax[] = {"dom", "4", "--maximum"};
	assert_true(parse(&c, "setvcpus", svmax, 3, &err) < 0);
	char *sm[] = {"dom", "512M", "--live"};
	assert_int_equal(parse(&c, "setmem", sm, 3, &err), 0);
	char *sd[] = {"dom", "--mode", "acpi"};
	assert_int_equal(parse(&c, "shutdown", sd, 3, &err), 0);
	assert_string_equal(cli__opt(&c, "--mode"), "acpi");
	char *sc[] = {"dom", "--console"};
	assert_int_equal(parse(&c, "start", sc, 2, &err), 0);
	assert_true(cli__has(&c, "--console"));
	/* vol-list POOL and vol-list --pool POOL */
	char *vl[] = {"--pool", "p"}, *vp[] = {"p"};
	assert_int_equal(parse(&c, "vol-list", vl, 2, &err), 0);
	assert_int_equal(c.argc, 0);
	assert_string_equal(cli__opt(&c, "--pool"), "p");
	assert_int_equal(parse(&c, "vol-list", vp, 1, &err), 0);
	assert_int_equal(c.argc, 1);
	char *nl[] = {"--all"};
	assert_int_equal(parse(&c, "net-list", nl, 1, &err), 0);
	char *none[] = {NULL};
	assert_true(parse(&c, "edit", none, 0, &err) < 0);
	assert_string_equal(err.msg, "usage: strata edit NAME");
	assert_true(parse(&c, "nodeinfo", vp, 1, &err) < 0);
}

static void bad_options(void **state)
{
	(void)state;
	struct cli c;
	struct st_err err = {0};
	char *unknown[] = {"--bogus"};
	assert_true(parse(&c, "list", unknown, 1, &err) < 0);
	assert_int_equal(err.errnum, CLI_EUSAGE);
	assert_non_null(strstr(err.msg, "unknown option --bogus"));
	assert_non_null(strstr(err.msg, "usage: strata list"));
	/* an option another command has */
	char *other[] = {"dom", "--pool", "p"};
	assert_true(parse(&c, "start", other, 3, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown option --pool"));
	char *missing[] = {"v", "--pool"};
	assert_true(parse(&c, "vol-info", missing, 2, &err) < 0);
	assert_int_equal(err.errnum, CLI_EUSAGE);
	assert_non_null(strstr(err.msg, "option --pool needs a value"));
	char *twice[] = {"v", "--pool", "a", "--pool", "b"};
	assert_true(parse(&c, "vol-info", twice, 5, &err) < 0);
	assert_non_null(strstr(err.msg, "given twice"));
	/* a flag takes no value: the next word stays a positional */
	char *flag[] = {"dom", "--disable", "extra"};
	assert_true(parse(&c, "autostart", flag, 3, &err) < 0);
	assert_non_null(strstr(err.msg, "usage: strata autostart NAME [--disable]"));
	/* one line, no newline: main prints it after "strata: error: " */
	assert_null(strchr(err.msg, '\n'));
}

static void global_options(void **state)
{
	(void)state;
	struct cli c = {0};
	struct st_err err = {0};
	char *token = NULL;
	int next;
	bool help;
	char *argv[] = {"strata", "--json", "--socket", "/s.sock", "--connect", "h:1", "list", "--all"};
	assert_int_equal(cli__global_options(&c, 8, argv, &next, &help, &token, &err), 0);
	assert_int_equal(next, 6);
	assert_true(c.json);
	assert_false(help);
	assert_string_equal(c.target.unix_path, "/s.sock");
	assert_string_equal(c.target.tcp, "h:1");
	char *h[] = {"strata", "--help"};
	assert_int_equal(cli__global_options(&c, 2, h, &next, &help, &token, &err), 0);
	assert_true(help);
	assert_int_equal(next, 2);
	char *bad[] = {"strata", "--bogus", "list"};
	assert_true(cli__global_options(&c, 3, bad, &next, &help, &token, &err) < 0);
	assert_int_equal(err.errnum, CLI_EUSAGE);
	char *novalue[] = {"strata", "--socket"};
	assert_true(cli__global_options(&c, 2, novalue, &next, &help, &token, &err) < 0);
	assert_non_null(strstr(err.msg, "--socket needs a value"));
	/* the token file's first line, without its newline */
	char path[] = "/tmp/strata-cli-token-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cret\nrest\n", 12), 12);
	close(fd);
	char *tok[] = {"strata", "--token-file", path, "version"};
	assert_int_equal(cli__global_options(&c, 4, tok, &next, &help, &token, &err), 0);
	assert_string_equal(c.target.token, "s3cret");
	unlink(path);
	/* a missing token file fails as an operation (exit 1), not as usage */
	assert_true(cli__global_options(&c, 4, tok, &next, &help, &token, &err) < 0);
	assert_int_not_equal(err.errnum, CLI_EUSAGE);
	free(token);
}

static void escape_and_paths(void **state)
{
	(void)state;
	char *e = cli__escape("a b/c%d_e-f.g~h+i");
	assert_string_equal(e, "a%20b%2Fc%25d_e-f.g~h+i");
	free(e);
	char *p = cli__object_path("domains", "my vm", "/start");
	assert_string_equal(p, "/v1/domains/my%20vm/start");
	free(p);
}

static void sizes(void **state)
{
	(void)state;
	char b[32];
	assert_string_equal(output__size(0, b, sizeof(b)), "0 B");
	assert_string_equal(output__size(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(output__size(1536, b, sizeof(b)), "1.50 KiB");
	assert_string_equal(output__size(8ll << 20, b, sizeof(b)), "8.00 MiB");
	assert_string_equal(output__size(3ll << 50, b, sizeof(b)), "3.00 PiB");
	assert_string_equal(output__size(5000ll << 50, b, sizeof(b)), "5000.00 PiB");
}

static void exit_status(void **state)
{
	(void)state;
	struct st_err err = {0};
	cli__usage_fail(&err, "usage: %s", "x");
	assert_int_equal(cli__report(&err), 2);
	err__fail(&err, 0, "no domain named 'x'");
	assert_int_equal(cli__report(&err), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_lookup),   cmocka_unit_test(table_is_consistent),
		cmocka_unit_test(arg_counts),     cmocka_unit_test(options_anywhere),
		cmocka_unit_test(bad_options),    cmocka_unit_test(global_options),
		cmocka_unit_test(escape_and_paths), cmocka_unit_test(sizes),
		cmocka_unit_test(exit_status),    cmocka_unit_test(virsh_verbs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
