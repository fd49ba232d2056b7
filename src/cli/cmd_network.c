/* strata's network commands: net-list, net-define, net-undefine,
 * net-start, net-destroy, net-info, net-autostart, net-dhcp-leases, the
 * DHCP host reservations (net-dhcp-host-add/-remove/-list, and virsh's
 * net-update NET add|delete ip-dhcp-host XML). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static json_t *net_row(json_t *n)
{
	return json_pack("[s, s, s, s]", output__str(n, "name"),
		json_is_true(json_object_get(n, "active")) ? "active" : "inactive",
		json_integer_value(json_object_get(n, "autostart")) || json_is_true(json_object_get(n, "autostart"))
			? "yes" : "no", "yes");
}

static void print_nets(json_t *r)
{
	static const char *const h[] = {"Name", "State", "Autostart", "Persistent", NULL};
	output__list(h, r, net_row);
}

static void print_net(json_t *n)
{
	static const struct output_field f[] = {
		{"Name:", "name", OUTPUT_STR, 0},
		{"Mode:", "mode", OUTPUT_STR, 0},
		{"Bridge:", "bridge", OUTPUT_STR, 0},
		{"Address:", "ip", OUTPUT_STR, 0},
		{"Active:", "active", OUTPUT_YESNO, 0},
		{0}};
	output__fields(n, 12, f);
}

static json_t *leases_row(json_t *l)
{
	/* dnsmasq writes the expiry as seconds since the epoch, 0 for never */
	char exp[32] = "never";
	time_t t = (time_t)json_integer_value(json_object_get(l, "expiry"));
	if (t)
		output__time(t, exp, sizeof(exp));
	return json_pack("[s, s, s, s]", exp, output__str(l, "mac"), output__str(l, "ip"), output__str(l, "hostname"));
}

static void print_leases(json_t *r)
{
	static const char *const h[] = {"Expiry", "MAC address", "IP address", "Hostname", NULL};
	output__list(h, r, leases_row);
}

/* like virsh: the active networks, unless --all or --inactive */
static int cmd_net_list(struct cli *c, struct st_err *err)
{
	return cli__list_active(c, "/v1/networks", print_nets, err);
}

static int cmd_net_define(struct cli *c, struct st_err *err)
{
	return cli__define_file(c, "/v1/networks", print_net, err);
}

static int cmd_net_dumpxml(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("networks", c->argv[0], "/xml");
	return cli__print_body(c, path, err);
}

static int cmd_net_autostart(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("networks", c->argv[0], "/autostart");
	json_t *body = json_pack("{s:b}", "autostart", !cli__has(c, "--disable"));
	int rc = cli__call(c, "PUT", path, body, print_net, err);
	json_decref(body);
	return rc;
}

static json_t *host_row(json_t *h)
{
	return json_pack("[s, s, s]", output__str(h, "mac"), output__str(h, "ip"), output__str(h, "name"));
}

static void print_hosts(json_t *r)
{
	static const char *const h[] = {"MAC address", "IP address", "Hostname", NULL};
	output__list(h, r, host_row);
}

static void print_host(json_t *h)
{
	printf("Reserved %s for %s%s%s\n", output__str(h, "ip"), output__str(h, "mac"),
	       json_object_get(h, "name") ? " as " : "", json_object_get(h, "name") ? output__str(h, "name") : "");
}

static void print_deleted(json_t *r)
{
	printf("Removed the reservation of %s\n", output__str(r, "deleted"));
}

static int cmd_host_add(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("networks", c->argv[0], "/hosts");
	json_t *body = json_pack("{s:s, s:s}", "mac", c->argv[1], "ip", c->argv[2]);
	if (c->argc > 3)
		json_object_set_new(body, "name", json_string(c->argv[3]));
	int rc = cli__call(c, "POST", path, body, print_host, err);
	json_decref(body);
	return rc;
}

static int cmd_host_remove(struct cli *c, struct st_err *err)
{
	cleanup_free char *mac = cli__escape(c->argv[1]);
	cleanup_free char *suffix = NULL;
	if (!mac || asprintf(&suffix, "/hosts/%s", mac) < 0)
		return err__fail(err, ENOMEM, "out of memory");
	cleanup_free char *path = cli__object_path("networks", c->argv[0], suffix);
	return cli__call(c, "DELETE", path, NULL, print_deleted, err);
}

/* virsh net-update NET COMMAND SECTION XML: XML is the element itself or
 * a file holding it; --config, --live and --current are what stratad does
 * anyway (a reservation is live and persistent at once). */
static int cmd_net_update(struct cli *c, struct st_err *err)
{
	cleanup_free char *text = NULL;
	const char *xml = c->argv[3];
	size_t len;
	if (xml[strspn(xml, " \t\r\n")] != '<') {
		if (util__read_file(xml, 1 << 16, &text, &len, err) < 0)
			return -1;
		xml = text;
	}
	cleanup_free char *path = cli__object_path("networks", c->argv[0], "/update");
	json_t *body = json_pack("{s:s, s:s, s:s}", "command", c->argv[1], "section", c->argv[2], "xml", xml);
	int rc = cli__call(c, "POST", path, body, strcmp(c->argv[1], "delete") ? print_host : print_deleted, err);
	json_decref(body);
	return rc;
}

/* the commands that are one request on /v1/networks/NAME... */
static int cmd_simple(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "networks", err);
}

static const struct cli_cmd cmds[] = {
	{.name = "net-list", .run = cmd_net_list, .args = "[--all | --inactive]",
	 .help = "the active networks, or all, or the inactive ones", .opts = "--all --inactive"},
	{.name = "net-define", .run = cmd_net_define, .args = "FILE", .min_args = 1, .max_args = 1,
	 .help = "defines a network from libvirt network XML or JSON"},
	{.name = "net-dumpxml", .run = cmd_net_dumpxml, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "prints a network as libvirt network XML"},
	{.name = "net-undefine", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "removes a network's definition", .method = "DELETE", .suffix = ""},
	{.name = "net-start", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "creates the network's bridge (and NAT, DHCP)", .method = "POST", .suffix = "/start", .human = print_net},
	{.name = "net-destroy", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "takes the network down", .method = "POST", .suffix = "/stop", .human = print_net},
	{.name = "net-info", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "a network's mode, bridge, address and state", .method = "GET", .suffix = "", .human = print_net},
	{.name = "net-autostart", .run = cmd_net_autostart, .args = "NET [--disable]", .min_args = 1, .max_args = 1,
	 .help = "starts the network with stratad (or not)", .opts = "--disable"},
	{.name = "net-dhcp-leases", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "the addresses the network's dnsmasq leased", .method = "GET", .suffix = "/leases",
	 .human = print_leases},
	{.name = "net-dhcp-host-list", .run = cmd_simple, .args = "NET", .min_args = 1, .max_args = 1,
	 .help = "the network's DHCP host reservations", .method = "GET", .suffix = "/hosts", .human = print_hosts},
	{.name = "net-dhcp-host-add", .run = cmd_host_add, .args = "NET MAC IP [NAME]", .min_args = 3, .max_args = 4,
	 .help = "reserves IP for MAC on the network's DHCP server"},
	{.name = "net-dhcp-host-remove", .run = cmd_host_remove, .args = "NET MAC", .min_args = 2, .max_args = 2,
	 .help = "removes MAC's DHCP host reservation"},
	{.name = "net-update", .run = cmd_net_update, .args = "NET add|delete ip-dhcp-host XML [--config] [--live]",
	 .min_args = 4, .max_args = 4, .opts = "--config --live --current",
	 .help = "adds or deletes a <host mac= ip= name=/> reservation (XML or a file of it), as virsh's"},
};

const struct cli_group cmd_network_group = {"Networks", cmds, ST_ARRAY_SIZE(cmds)};
