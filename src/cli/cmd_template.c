/* strata's guest template commands: template-list, template-define,
 * template-show, template-delete, template-from-guest (/v1/templates). */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

/* "2 disks (new qcow2 in p, copy of p/base)" and the like, in a few words */
static void describe_disks(json_t *t, char *buf, size_t len)
{
	size_t n = 0, i;
	json_t *d;
	buf[0] = 0;
	json_array_foreach(json_object_get(t, "disks"), i, d) {
		const char *base = output__str(d, "base"), *path = output__str(d, "path");
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s%s%s", i ? ", " : "",
				      *path ? path : *base ? output__str(d, "mode") : "new ",
				      *path ? "" : *base ? " of " : output__str(d, "format"),
				      *path ? "" : *base ? base : "");
		if (n >= len)
			break;
	}
}

static json_t *tpl_row(json_t *t)
{
	char mem[32], disks[128];
	snprintf(mem, sizeof(mem), "%lld MiB", (long long)json_integer_value(json_object_get(t, "memory_mib")));
	describe_disks(t, disks, sizeof(disks));
	return json_pack("[s, s, I, s, s]", output__str(t, "name"), mem,
			 (json_int_t)json_integer_value(json_object_get(t, "vcpus")), disks, output__str(t, "description"));
}

static void print_tpls(json_t *r)
{
	static const char *const h[] = {"Name", "Memory", "vCPUs", "Disks", "Description", NULL};
	output__list(h, r, tpl_row);
}

/* The whole recipe: it is what a user edits and defines again. */
static void print_tpl(json_t *t)
{
	cleanup_free char *text = json_dumps(t, JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%s\n", text ? text : "{}");
}

static int cmd_tpl_list(struct cli *c, struct st_err *err)
{
	return cli__call(c, "GET", "/v1/templates", NULL, print_tpls, err);
}

/* FILE defines a new template; with --update it replaces the recipe of the
 * template the file names. */
static int cmd_tpl_define(struct cli *c, struct st_err *err)
{
	json_t *body;
	if (cli__read_json_file(c->argv[0], &body, err) < 0)
		return -1;
	const char *name = json_string_value(json_object_get(body, "name"));
	int rc;
	if (cli__has(c, "--update") && !name) {
		rc = cli__usage_fail(err, "%s: --update needs the template's \"name\" in the file", c->argv[0]);
	} else if (cli__has(c, "--update")) {
		cleanup_free char *path = cli__object_path("templates", name, "");
		rc = cli__call(c, "PUT", path, body, print_tpl, err);
	} else {
		rc = cli__call(c, "POST", "/v1/templates", body, print_tpl, err);
	}
	json_decref(body);
	return rc;
}

static int cmd_tpl_from_guest(struct cli *c, struct st_err *err)
{
	const char *desc = cli__opt(c, "--description");
	json_t *body = json_pack("{s:s, s:s}", "guest", c->argv[0], "name", c->argv[1]);
	if (desc)
		json_object_set_new(body, "description", json_string(desc));
	int rc = cli__call(c, "POST", "/v1/templates", body, print_tpl, err);
	json_decref(body);
	return rc;
}

static int cmd_simple(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "templates", err);
}

static const struct cli_cmd cmds[] = {
	{.name = "template-list", .run = cmd_tpl_list, .args = "", .help = "the guest templates"},
	{.name = "template-define", .run = cmd_tpl_define, .args = "FILE [--update]", .min_args = 1, .max_args = 1,
	 .help = "defines a guest template from a JSON file (--update: replaces the one it names)", .opts = "--update"},
	{.name = "template-show", .run = cmd_simple, .args = "TEMPLATE", .min_args = 1, .max_args = 1,
	 .help = "a template's recipe as JSON", .method = "GET", .suffix = "", .human = print_tpl},
	{.name = "template-delete", .run = cmd_simple, .args = "TEMPLATE", .min_args = 1, .max_args = 1,
	 .help = "deletes a template (guests made from it stay)", .method = "DELETE", .suffix = ""},
	{.name = "template-from-guest", .run = cmd_tpl_from_guest, .args = "GUEST TEMPLATE [--description TEXT]",
	 .min_args = 2, .max_args = 2, .help = "a new template with a guest's recipe (its volumes as bases to copy)",
	 .opts = "--description="},
};

const struct cli_group cmd_template_group = {"Templates", cmds, ST_ARRAY_SIZE(cmds)};
