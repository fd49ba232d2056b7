/* strata's domain lifecycle commands: list, define, start ... console. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static const char *state_label(const char *s)
{
	return !strcmp(s, "shutoff") ? "shut off" : s;
}

static json_t *domain_row(json_t *d)
{
	char pid[16] = "-";
	if (json_is_integer(json_object_get(d, "pid")))
		output__int(d, "pid", pid, sizeof(pid));
	return json_pack("[s, s, s, s]", pid, json_string_value(json_object_get(d, "name")),
		state_label(json_string_value(json_object_get(d, "state"))),
		json_is_true(json_object_get(d, "autostart")) ? "yes" : "no");
}

static void print_list(json_t *r)
{
	static const char *const h[] = {"Pid", "Name", "State", "Autostart", NULL};
	output__list(h, r, domain_row);
}

static void print_info(json_t *r)
{
	json_t *def = json_object_get(r, "definition"), *os = json_object_get(def, "os");
	printf("%-16s %s\n", "Name:", json_string_value(json_object_get(r, "name")));
	printf("%-16s %s\n", "UUID:", json_string_value(json_object_get(r, "uuid")));
	printf("%-16s %s%s\n", "State:", state_label(json_string_value(json_object_get(r, "state"))),
	       json_is_true(json_object_get(r, "shutting_down")) ? " (shutting down)" : "");
	if (json_is_integer(json_object_get(r, "pid")))
		printf("%-16s %lld\n", "Pid:", (long long)json_integer_value(json_object_get(r, "pid")));
	printf("%-16s %lld\n", "CPU(s):", (long long)json_integer_value(json_object_get(def, "vcpus")));
	printf("%-16s %lld MiB\n", "Memory:", (long long)json_integer_value(json_object_get(def, "memory_mib")));
	printf("%-16s %s\n", "Kernel:", json_string_value(json_object_get(os, "kernel")));
	printf("%-16s %s\n", "Autostart:", json_is_true(json_object_get(r, "autostart")) ? "enable" : "disable");
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(def, "disks"), i, x)
		printf("%-16s %s %s (%s%s)\n", i ? "" : "Disks:", json_string_value(json_object_get(x, "target")),
		       json_string_value(json_object_get(x, "path")), json_string_value(json_object_get(x, "format")),
		       json_is_true(json_object_get(x, "readonly")) ? ", read-only" : "");
	json_array_foreach(json_object_get(def, "interfaces"), i, x)
		printf("%-16s %s %s %s\n", i ? "" : "Interfaces:", json_string_value(json_object_get(x, "type")),
		       json_string_value(json_object_get(x, "source")), json_string_value(json_object_get(x, "mac")));
	size_t nic = 0;
	json_array_foreach(json_object_get(r, "devices"), i, x) {
		json_t *st = json_object_get(x, "stats");
		if (!json_object_get(x, "tap"))
			continue;
		printf("%-16s %s: rx %lld, tx %lld frames\n", nic++ ? "" : "Taps:", json_string_value(json_object_get(x, "tap")),
		       (long long)json_integer_value(json_object_get(st, "rx_frames")),
		       (long long)json_integer_value(json_object_get(st, "tx_frames")));
	}
	const char *last = json_string_value(json_object_get(r, "last_stop_reason"));
	if (last && *last)
		printf("%-16s %s\n", "Last stop:", last);
}

static json_t *interface_row(json_t *x)
{
	const char *tap = json_string_value(json_object_get(x, "tap"));
	const char *ip = json_string_value(json_object_get(x, "ip"));
	return json_pack("[s, s, s, s]", tap ? tap : "-",
				      json_string_value(json_object_get(x, "mac")),
				      json_string_value(json_object_get(x, "source")), ip ? ip : "-");
}

static void print_ifaddr(json_t *r)
{
	static const char *const h[] = {"Tap", "MAC address", "Source", "IPv4 address", NULL};
	output__list(h, r, interface_row);
}

static void print_done(const char *what, json_t *r)
{
	printf("Domain '%s' %s\n", json_string_value(json_object_get(r, "name")), what);
}

static void print_started(json_t *r) { print_done("started", r); }
static void print_destroyed(json_t *r) { print_done("destroyed", r); }
static void print_rebooted(json_t *r) { print_done("is being rebooted", r); }
static void print_suspended(json_t *r) { print_done("suspended", r); }
static void print_resumed(json_t *r) { print_done("resumed", r); }
static void print_shutdown(json_t *r) { print_done("is being shutdown", r); }
static void print_autostart(json_t *r)
{
	print_done(json_is_true(json_object_get(r, "autostart")) ? "marked as autostarted" : "unmarked as autostarted",
		   r);
}

static void print_undefined(json_t *r)
{
	printf("Domain '%s' has been undefined\n", json_string_value(json_object_get(r, "undefined")));
}

static int cmd_define(struct cli *c, struct st_err *err)
{
	cleanup_free char *text = NULL;
	size_t len;
	if (util__read_file(c->argv[0], 1 << 20, &text, &len, err) < 0)
		return -1;
	const char *p = text;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	bool xml = *p == '<';
	struct http_client_resp r = {0};
	if (http_client__request(&c->target, "POST", "/v1/domains", xml ? "application/xml" : "application/json", text,
				 len, &r, err) < 0)
		return -1;
	cleanup_free char *body = r.body;
	if (r.status >= 300)
		return cli__reply_fail(body, r.len, "define failed", err);
	json_t *j = json_loadb(body, r.len, 0, NULL);
	if (c->json) {
		char *t = json_dumps(j, JSON_INDENT(2));
		puts(t);
		free(t);
	} else {
		printf("Domain '%s' defined from %s\n", json_string_value(json_object_get(j, "name")), c->argv[0]);
	}
	json_decref(j);
	return 0;
}

static int cmd_dumpxml(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "/xml");
	return cli__print_body(c, path, err);
}

static int cmd_console(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "/console");
	/* through the API (unix socket or TCP alike): the connection becomes the console */
	cleanup_close int fd = http_client__open_stream(&c->target, path, "strata-console", err);
	if (fd < 0)
		return -1;
	bool tty = isatty(STDIN_FILENO);
	struct termios saved, raw;
	if (tty && tcgetattr(STDIN_FILENO, &saved) == 0) {
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		fprintf(stderr, "Connected to domain '%s'\r\nEscape character is ^] (Ctrl + ])\r\n", c->argv[0]);
	} else {
		tty = false;
	}
	/* Detaching closes only our end of the socket: the guest runs on and
	 * strata-vm keeps the output history for the next attach. */
	struct pollfd p[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
	char buf[4096];
	bool in_open = true;
	for (;;) {
		/* without a terminal, the session ends once stdin has ended and
		 * the guest has been quiet for half a second */
		int rc = poll(p, 2, in_open ? -1 : 500);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0)
			break;
		if (p[1].revents) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0 || util__write_all(STDOUT_FILENO, buf, (size_t)n, NULL) < 0)
				break;
		}
		if (in_open && p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				p[0].fd = -1;
				continue;
			}
			if (tty && memchr(buf, 0x1d, (size_t)n))
				break;
			if (util__write_all(fd, buf, (size_t)n, NULL) < 0)
				break;
		}
	}
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
		fprintf(stderr, "\n");
	}
	return 0;
}

static int cmd_list(struct cli *c, struct st_err *err)
{
	bool all = cli__has(c, "--all"), autostart = cli__has(c, "--autostart"), no_autostart = cli__has(c, "--no-autostart");
	const char *state = cli__opt(c, "--state"), *name = cli__opt(c, "--name");
	if (!state && !all)
		state = "active"; /* like virsh: only running guests unless --all */
	cleanup_free char *es = state ? cli__escape(state) : NULL, *en = name ? cli__escape(name) : NULL;
	char path[512];
	snprintf(path, sizeof(path), "/v1/domains?x=1%s%s%s%s%s", es ? "&state=" : "", es ? es : "", en ? "&name=" : "",
		 en ? en : "", autostart ? "&autostart=1" : no_autostart ? "&autostart=0" : "");
	return cli__call(c, "GET", path, NULL, print_list, err);
}

/* start NAME [--console]: attaches to the console once the guest runs */
static int cmd_start(struct cli *c, struct st_err *err)
{
	bool console = cli__has(c, "--console");
	if (cli__call_object(c, "domains", err) < 0)
		return -1;
	fflush(stdout);
	return console ? cmd_console(c, err) : 0;
}

static int cmd_shutdown(struct cli *c, struct st_err *err)
{
	const char *timeout = cli__opt(c, "--timeout"), *mode = cli__opt(c, "--mode");
	/* virsh's default and ours: the ACPI power button */
	if (mode && strcmp(mode, "acpi"))
		return cli__usage_fail(err, "shutdown mode '%s' is not supported (acpi: the guest's power button)", mode);
	bool wait = cli__has(c, "--wait");
	cleanup_free char *base = cli__object_path("domains", c->argv[0], "/shutdown");
	cleanup_free char *info = cli__object_path("domains", c->argv[0], "");
	if (!base || !info)
		return err__fail(err, ENOMEM, "shutdown");
	cleanup_free char *tq = timeout ? cli__escape(timeout) : NULL;
	char path[600];
	snprintf(path, sizeof(path), "%s%s%s", base, tq ? "?timeout=" : "", tq ? tq : "");
	if (cli__call(c, "POST", path, NULL, wait ? NULL : print_shutdown, err) < 0)
		return -1;
	while (wait) {
		json_t *r;
		if (http_client__json(&c->target, "GET", info, NULL, &r, err) < 0)
			return -1;
		bool off = !strcmp(json_string_value(json_object_get(r, "state")), "shutoff");
		json_decref(r);
		if (off) {
			if (!c->json)
				printf("Domain '%s' is shut off\n", c->argv[0]);
			break;
		}
		usleep(100000);
	}
	return 0;
}

static int cmd_undefine(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], cli__has(c, "--remove-all-storage") ? "?volumes=1" : "");
	return cli__call(c, "DELETE", path, NULL, print_undefined, err);
}

static int cmd_autostart(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "/autostart");
	json_t *body = json_pack("{s:b}", "autostart", !cli__has(c, "--disable"));
	int rc = cli__call(c, "PUT", path, body, print_autostart, err);
	json_decref(body);
	return rc;
}

/* the commands that are one request on /v1/domains/NAME... */
static int cmd_simple(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "domains", err);
}

static const struct cli_cmd cmds[] = {
	{.name = "list", .run = cmd_list, .args = "[--all] [--state running|paused|shutoff] [--autostart] [--name GLOB]",
	 .help = "the running domains, or all, or those in a state", .opts = "--all --state= --autostart --no-autostart --name="},
	{.name = "define", .run = cmd_define, .args = "FILE", .min_args = 1, .max_args = 1,
	 .help = "defines a domain from a JSON or libvirt XML file"},
	{.name = "undefine", .run = cmd_undefine, .args = "NAME [--remove-all-storage]", .min_args = 1, .max_args = 1,
	 .help = "removes a domain's definition (and its pool volumes)", .opts = "--remove-all-storage"},
	{.name = "start", .run = cmd_start, .args = "NAME [--console]", .min_args = 1, .max_args = 1,
	 .help = "starts a domain (and attaches to its console)", .opts = "--console", .method = "POST",
	 .suffix = "/start", .human = print_started},
	{.name = "shutdown", .run = cmd_shutdown, .args = "NAME [--mode acpi] [--timeout S] [--wait]", .min_args = 1,
	 .max_args = 1, .help = "asks the guest to power off (ACPI), destroys it after S seconds",
	 .opts = "--timeout= --wait --mode="},
	{.name = "destroy", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1, .help = "stops a domain at once",
	 .method = "POST", .suffix = "/destroy", .human = print_destroyed},
	{.name = "reboot", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1, .help = "reboots a domain",
	 .method = "POST", .suffix = "/reboot", .human = print_rebooted},
	{.name = "suspend", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1, .help = "pauses a domain's vCPUs",
	 .method = "POST", .suffix = "/suspend", .human = print_suspended},
	{.name = "resume", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1, .help = "resumes a paused domain",
	 .method = "POST", .suffix = "/resume", .human = print_resumed},
	{.name = "dominfo", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's state, definition and devices", .method = "GET", .suffix = "", .human = print_info},
	{.name = "domifaddr", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's NICs with their taps and leased addresses", .method = "GET", .suffix = "/interfaces",
	 .human = print_ifaddr},
	{.name = "dumpxml", .run = cmd_dumpxml, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's definition as libvirt XML"},
	{.name = "console", .run = cmd_console, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "attaches to a domain's serial console (^] detaches)"},
	{.name = "autostart", .run = cmd_autostart, .args = "NAME [--disable]", .min_args = 1, .max_args = 1,
	 .help = "starts the domain with stratad (or not)", .opts = "--disable"},
};

const struct cli_group cmd_domain_group = {"Domains", cmds, ST_ARRAY_SIZE(cmds)};
