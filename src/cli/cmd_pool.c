/* strata's storage pool commands: pool-list, pool-define(-as), pool-info,
 * pool-undefine, pool-start, pool-destroy, pool-build, pool-autostart. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static const char *yes_no(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key)) ? "yes" : "no";
}

static json_t *pool_row(json_t *p)
{
	return json_pack("[s, s, s]", output__str(p, "name"), output__str(p, "state"), yes_no(p, "autostart"));
}

static json_t *pool_details_row(json_t *p)
{
	char cap[32] = "-", alloc[32] = "-", avail[32] = "-";
	if (json_is_true(json_object_get(p, "active"))) {
		output__size_of(p, "capacity", cap, sizeof(cap));
		output__size_of(p, "allocation", alloc, sizeof(alloc));
		output__size_of(p, "available", avail, sizeof(avail));
	}
	return json_pack("[s, s, s, s, s, s, s]", output__str(p, "name"), output__str(p, "state"),
			 yes_no(p, "autostart"), "yes", cap, alloc, avail);
}

/* virsh's columns */
static void print_pools(json_t *r)
{
	static const char *const h[] = {"Name", "State", "Autostart", NULL};
	output__list(h, r, pool_row);
}

static void print_pools_details(json_t *r)
{
	static const char *const h[] = {"Name", "State", "Autostart", "Persistent", "Capacity", "Allocation",
					"Available", NULL};
	output__list(h, r, pool_details_row);
}

static void print_pool(json_t *p)
{
	static const struct output_field f[] = {
		{"Name:", "name", OUTPUT_STR, 0},
		{"State:", "state", OUTPUT_STR, 0},
		{"Autostart:", "autostart", OUTPUT_YESNO, 0},
		{"Path:", "path", OUTPUT_STR, 0},
		{"Capacity:", "capacity", OUTPUT_SIZE, 0},
		{"Allocation:", "allocation", OUTPUT_SIZE, 0},
		{"Available:", "available", OUTPUT_SIZE, 0},
		{"Volumes:", "volumes", OUTPUT_INT, 0},
		{0}};
	output__fields(p, 14, f);
}

/* like virsh: the active pools, unless --all or --inactive */
static int cmd_pool_list(struct cli *c, struct st_err *err)
{
	return cli__list_active(c, "/v1/pools", cli__has(c, "--details") ? print_pools_details : print_pools, err);
}

static void print_pool_done(const char *what, json_t *p)
{
	printf("Pool %s %s\n", output__str(p, "name"), what);
}

static void print_started(json_t *p) { print_pool_done("started", p); }
static void print_destroyed(json_t *p) { print_pool_done("destroyed", p); }
static void print_built(json_t *p) { print_pool_done("built", p); }

static int cmd_pool_simple(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "pools", err);
}

/* pool-start POOL [--build]: builds first when asked */
static int cmd_pool_start(struct cli *c, struct st_err *err)
{
	cleanup_free char *build = cli__object_path("pools", c->argv[0], "/build");
	if (cli__has(c, "--build") && cli__call(c, "POST", build, NULL, NULL, err) < 0)
		return -1;
	return cli__call_object(c, "pools", err);
}

static int cmd_pool_autostart(struct cli *c, struct st_err *err)
{
	bool on = !cli__has(c, "--disable");
	cleanup_free char *path = cli__object_path("pools", c->argv[0], "/autostart");
	json_t *body = json_pack("{s:b}", "autostart", on);
	int rc = cli__call(c, "PUT", path, body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Pool %s %s\n", c->argv[0], on ? "marked as autostarted" : "unmarked as autostarted");
	return rc;
}

static int cmd_pool_define_as(struct cli *c, struct st_err *err)
{
	/* the third argument of a logical pool is its volume group */
	json_t *body = json_pack("{s:s, s:s, s:s}", "name", c->argv[0], "type", c->argv[1],
				 strcmp(c->argv[1], "logical") ? "path" : "vg", c->argv[2]);
	int rc = cli__call(c, "POST", "/v1/pools", body, NULL, err);
	json_decref(body);
	if (rc == 0 && !c->json)
		printf("Pool %s defined\n", c->argv[0]);
	return rc;
}

static int cmd_pool_define(struct cli *c, struct st_err *err)
{
	return cli__define_file(c, "/v1/pools", print_pool, err);
}

static int cmd_pool_dumpxml(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("pools", c->argv[0], "/xml");
	return cli__print_body(c, path, err);
}

static int cmd_pool_info(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "pools", err);
}

static int cmd_pool_undefine(struct cli *c, struct st_err *err)
{
	int rc = cli__call_object(c, "pools", err);
	if (rc == 0 && !c->json)
		printf("Pool %s has been undefined\n", c->argv[0]);
	return rc;
}

static const struct cli_cmd cmds[] = {
	{.name = "pool-list", .run = cmd_pool_list, .args = "[--all | --inactive] [--details]",
	 .help = "the active storage pools, or all, or the inactive ones", .opts = "--all --inactive --details"},
	{.name = "pool-start", .run = cmd_pool_start, .args = "POOL [--build]", .min_args = 1, .max_args = 1,
	 .help = "makes a pool's volumes usable (--build: its storage first)", .opts = "--build", .method = "POST",
	 .suffix = "/start", .human = print_started},
	{.name = "pool-destroy", .run = cmd_pool_simple, .args = "POOL", .min_args = 1, .max_args = 1,
	 .help = "makes a pool inactive (its storage stays)", .method = "POST", .suffix = "/stop",
	 .human = print_destroyed},
	{.name = "pool-build", .run = cmd_pool_simple, .args = "POOL", .min_args = 1, .max_args = 1,
	 .help = "makes a pool's storage (a dir pool's directory)", .method = "POST", .suffix = "/build",
	 .human = print_built},
	{.name = "pool-autostart", .run = cmd_pool_autostart, .args = "POOL [--disable]", .min_args = 1, .max_args = 1,
	 .help = "makes the pool active when stratad starts (or not)", .opts = "--disable"},
	{.name = "pool-define", .run = cmd_pool_define, .args = "FILE", .min_args = 1, .max_args = 1,
	 .help = "defines a pool from libvirt pool XML or JSON"},
	{.name = "pool-dumpxml", .run = cmd_pool_dumpxml, .args = "POOL", .min_args = 1, .max_args = 1,
	 .help = "prints a pool as libvirt pool XML"},
	{.name = "pool-define-as", .run = cmd_pool_define_as, .args = "NAME dir PATH | NAME logical VG",
	 .min_args = 3, .max_args = 3, .help = "defines a directory pool or an LVM volume group's pool"},
	{.name = "pool-info", .run = cmd_pool_info, .args = "POOL", .min_args = 1, .max_args = 1,
	 .help = "a pool's path, capacity and volume count", .method = "GET", .suffix = "", .human = print_pool},
	{.name = "pool-undefine", .run = cmd_pool_undefine, .args = "POOL", .min_args = 1, .max_args = 1,
	 .help = "removes a pool's definition", .method = "DELETE", .suffix = ""},
};

const struct cli_group cmd_pool_group = {"Storage pools", cmds, ST_ARRAY_SIZE(cmds)};
