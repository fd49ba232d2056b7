#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *state_label(const char *s)
{
	return !strcmp(s, "shutoff") ? "shut off" : s;
}

static void print_list(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *d;
	json_array_foreach(r, i, d) {
		char pid[16] = "-";
		if (json_is_integer(json_object_get(d, "pid")))
			snprintf(pid, sizeof(pid), "%lld", (long long)json_integer_value(json_object_get(d, "pid")));
		json_array_append_new(rows, json_pack("[s, s, s, s]", pid, json_string_value(json_object_get(d, "name")),
			state_label(json_string_value(json_object_get(d, "state"))),
			json_is_true(json_object_get(d, "autostart")) ? "yes" : "no"));
	}
	static const char *const h[] = {"Pid", "Name", "State", "Autostart", NULL};
	cli__table(h, rows);
	json_decref(rows);
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

static void print_ifaddr(json_t *r)
{
	json_t *rows = json_array();
	size_t i;
	json_t *x;
	json_array_foreach(r, i, x) {
		const char *tap = json_string_value(json_object_get(x, "tap"));
		const char *ip = json_string_value(json_object_get(x, "ip"));
		json_array_append_new(rows, json_pack("[s, s, s, s]", tap ? tap : "-",
						      json_string_value(json_object_get(x, "mac")),
						      json_string_value(json_object_get(x, "source")), ip ? ip : "-"));
	}
	static const char *const h[] = {"Tap", "MAC address", "Source", "IPv4 address", NULL};
	cli__table(h, rows);
	json_decref(rows);
}

/* virsh domblklist: the definition's disks, and while the domain runs the
 * VMM's device for each (found by its serial, the target), or a disk the
 * guest has not yet ejected after a detach. */
static void print_blklist(json_t *r)
{
	json_t *rows = json_array(), *devs = json_object_get(r, "devices");
	size_t i, j;
	json_t *disk, *dev;
	json_array_foreach(json_object_get(json_object_get(r, "definition"), "disks"), i, disk) {
		const char *target = json_string_value(json_object_get(disk, "target"));
		const char *name = json_is_array(devs) ? "(not in the guest)" : "-";
		json_array_foreach(devs, j, dev) {
			const char *serial = json_string_value(json_object_get(dev, "serial"));
			if (serial && target && !strcmp(serial, target))
				name = json_string_value(json_object_get(dev, "name"));
		}
		json_array_append_new(rows, json_pack("[s, s, s, s, s]", target,
						      json_string_value(json_object_get(disk, "path")),
						      json_string_value(json_object_get(disk, "format")),
						      json_is_true(json_object_get(disk, "readonly")) ? "ro" : "rw", name));
	}
	json_array_foreach(devs, j, dev) { /* detached from the definition, not yet ejected */
		if (json_is_true(json_object_get(dev, "unplug_pending")))
			json_array_append_new(rows, json_pack("[s, s, s, s, s]",
							      json_string_value(json_object_get(dev, "serial")),
							      json_string_value(json_object_get(dev, "path")), "-", "-",
							      "(being ejected)"));
	}
	static const char *const h[] = {"Target", "Source", "Format", "Mode", "Device", NULL};
	cli__table(h, rows);
	json_decref(rows);
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

static char *dom_path(const char *name, const char *suffix)
{
	cleanup_free char *e = cli__escape(name);
	char *p;
	if (!e || asprintf(&p, "/v1/domains/%s%s", e, suffix) < 0)
		return NULL;
	return p;
}

static int cmd_define(struct cli *c, struct st_err *err)
{
	if (cli__positionals(c, 1, 1, "strata define FILE", err) < 0)
		return -1;
	cleanup_free char *text = NULL;
	size_t len;
	if (st_read_file(c->argv[0], 1 << 20, &text, &len, err) < 0)
		return -1;
	const char *p = text;
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	bool xml = *p == '<';
	struct http_resp r = {0};
	if (http__request(&c->target, "POST", "/v1/domains", xml ? "application/xml" : "application/json", text, len,
			  &r, err) < 0)
		return -1;
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	free(r.body);
	int rc = 0;
	if (r.status >= 300) {
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		rc = st_fail(err, 0, "%s", msg ? msg : "define failed");
	} else if (c->json) {
		char *t = json_dumps(j, JSON_INDENT(2));
		puts(t);
		free(t);
	} else {
		printf("Domain '%s' defined from %s\n", json_string_value(json_object_get(j, "name")), c->argv[0]);
	}
	json_decref(j);
	return rc;
}

static int cmd_dumpxml(struct cli *c, struct st_err *err)
{
	if (cli__positionals(c, 1, 1, "strata dumpxml NAME", err) < 0)
		return -1;
	cleanup_free char *path = dom_path(c->argv[0], "/xml");
	struct http_resp r = {0};
	if (http__request(&c->target, "GET", path, NULL, NULL, 0, &r, err) < 0)
		return -1;
	int rc = 0;
	if (r.status >= 300) {
		json_t *j = json_loadb(r.body, r.len, 0, NULL);
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		rc = st_fail(err, 0, "%s", msg ? msg : "dumpxml failed");
		json_decref(j);
	} else {
		fwrite(r.body, 1, r.len, stdout);
	}
	free(r.body);
	return rc;
}

/* One event, human-readable: time, object, name, event, reason. */
static void print_event(json_t *e, bool as_json)
{
	if (as_json) {
		char *t = json_dumps(e, JSON_COMPACT);
		puts(t);
		free(t);
	} else {
		time_t ts = (time_t)json_real_value(json_object_get(e, "time"));
		struct tm tm;
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&ts, &tm));
		printf("%s: event '%s' for %s %s: %s\n", when, json_string_value(json_object_get(e, "event")),
		       json_string_value(json_object_get(e, "object")), json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "reason")));
	}
	fflush(stdout);
}

static int cmd_event(struct cli *c, struct st_err *err)
{
	const char *dom = cli__flag(c, "--domain", true), *count = cli__flag(c, "--count", true),
		   *timeout = cli__flag(c, "--timeout", true);
	cli__flag(c, "--loop", false);
	cli__flag(c, "--all", false);
	if (cli__positionals(c, 0, 0, "strata event [--domain NAME] [--count N] [--timeout S]", err) < 0)
		return -1;
	uint64_t max = 0, secs = 0;
	if ((count && st_parse_u64(count, 1u << 30, &max, err) < 0) ||
	    (timeout && st_parse_u64(timeout, 1u << 30, &secs, err) < 0))
		return -1;
	cleanup_free char *path = NULL, *e = dom ? cli__escape(dom) : NULL;
	if (asprintf(&path, "/v1/events%s%s", dom ? "?domain=" : "", dom ? e : "") < 0)
		return st_fail(err, ENOMEM, "event");
	cleanup_close int fd = http__open_stream(&c->target, path, NULL, err);
	if (fd < 0)
		return -1;
	uint64_t deadline = secs ? st_now_ns() + secs * 1000000000ull : 0, seen = 0;
	char buf[65536];
	size_t have = 0;
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = st_now_ns();
			if (now >= deadline)
				return 0;
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, wait_ms) == 0)
			return 0;
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return st_fail(err, 0, "stratad closed the event stream");
		have += (size_t)n;
		buf[have] = 0;
		char *line, *start = buf;
		while ((line = strchr(start, '\n'))) {
			*line = 0;
			if (!strncmp(start, "data: ", 6)) {
				json_t *ev = json_loads(start + 6, 0, NULL);
				if (ev) {
					print_event(ev, c->json);
					json_decref(ev);
					if (max && ++seen >= max)
						return 0;
				}
			}
			start = line + 1;
		}
		have -= (size_t)(start - buf);
		memmove(buf, start, have);
		if (have == sizeof(buf) - 1)
			have = 0;
	}
}

static int cmd_console(struct cli *c, struct st_err *err)
{
	if (cli__positionals(c, 1, 1, "strata console NAME", err) < 0)
		return -1;
	cleanup_free char *path = dom_path(c->argv[0], "/console");
	/* through the API (unix socket or TCP alike): the connection becomes the console */
	cleanup_close int fd = http__open_stream(&c->target, path, "strata-console", err);
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
			if (n <= 0 || st_write_all(STDOUT_FILENO, buf, (size_t)n, NULL) < 0)
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
			if (st_write_all(fd, buf, (size_t)n, NULL) < 0)
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
	bool all = cli__flag(c, "--all", false) != NULL;
	const char *state = cli__flag(c, "--state", true), *name = cli__flag(c, "--name", true);
	bool autostart = cli__flag(c, "--autostart", false) != NULL;
	bool no_autostart = cli__flag(c, "--no-autostart", false) != NULL;
	if (cli__positionals(c, 0, 0, "strata list [--all] [--state S] [--autostart] [--name GLOB]", err) < 0)
		return -1;
	if (!state && !all)
		state = "active"; /* like virsh: only running guests unless --all */
	cleanup_free char *es = state ? cli__escape(state) : NULL, *en = name ? cli__escape(name) : NULL;
	char path[512];
	snprintf(path, sizeof(path), "/v1/domains?x=1%s%s%s%s%s", es ? "&state=" : "", es ? es : "", en ? "&name=" : "",
		 en ? en : "", autostart ? "&autostart=1" : no_autostart ? "&autostart=0" : "");
	return cli__call(c, "GET", path, NULL, print_list, err);
}

static int cmd_shutdown(struct cli *c, struct st_err *err)
{
	const char *timeout = cli__flag(c, "--timeout", true);
	bool wait = cli__flag(c, "--wait", false) != NULL;
	if (cli__positionals(c, 1, 1, "strata shutdown NAME [--timeout S] [--wait]", err) < 0)
		return -1;
	cleanup_free char *base = dom_path(c->argv[0], "/shutdown"), *info = dom_path(c->argv[0], "");
	cleanup_free char *tq = timeout ? cli__escape(timeout) : NULL;
	char path[600];
	snprintf(path, sizeof(path), "%s%s%s", base, tq ? "?timeout=" : "", tq ? tq : "");
	if (cli__call(c, "POST", path, NULL, wait ? NULL : print_shutdown, err) < 0)
		return -1;
	while (wait) {
		json_t *r;
		if (http__json(&c->target, "GET", info, NULL, &r, err) < 0)
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

static void print_disk_attached(json_t *r)
{
	printf("Disk %s attached%s (%s)\n", json_string_value(json_object_get(r, "target")),
	       json_object_get(r, "device") ? " to the running guest" : "", json_string_value(json_object_get(r, "path")));
}

static void print_disk_detached(json_t *r)
{
	printf("Disk detached from domain '%s'%s\n", json_string_value(json_object_get(r, "name")),
	       strcmp(json_string_value(json_object_get(r, "state")), "shutoff") ? "; the guest ejects it" : "");
}

/* virsh attach-disk: SOURCE is a file, or a volume of --pool. */
static int cmd_attach_disk(struct cli *c, struct st_err *err)
{
	static const char usage[] =
		"strata attach-disk NAME SOURCE [TARGET] [--pool POOL] [--format raw|qcow2] [--readonly]";
	const char *pool = cli__flag(c, "--pool", true), *format = cli__flag(c, "--format", true);
	bool ro = cli__flag(c, "--readonly", false) != NULL;
	if (cli__positionals(c, 2, 3, usage, err) < 0)
		return -1;
	json_t *body = pool ? json_pack("{s:s, s:s}", "pool", pool, "volume", c->argv[1])
			    : json_pack("{s:s}", "path", c->argv[1]);
	if (c->argc > 2)
		json_object_set_new(body, "target", json_string(c->argv[2]));
	if (format)
		json_object_set_new(body, "format", json_string(format));
	if (ro)
		json_object_set_new(body, "readonly", json_true());
	cleanup_free char *path = dom_path(c->argv[0], "/disks");
	int rc = cli__call(c, "POST", path, body, print_disk_attached, err);
	json_decref(body);
	return rc;
}

static int cmd_detach_disk(struct cli *c, struct st_err *err)
{
	if (cli__positionals(c, 2, 2, "strata detach-disk NAME TARGET", err) < 0)
		return -1;
	cleanup_free char *target = cli__escape(c->argv[1]);
	cleanup_free char *suffix = NULL;
	if (!target || asprintf(&suffix, "/disks/%s", target) < 0)
		return st_fail(err, ENOMEM, "detach-disk");
	cleanup_free char *path = dom_path(c->argv[0], suffix);
	return cli__call(c, "DELETE", path, NULL, print_disk_detached, err);
}

int cli__domain_command(struct cli *c, const char *cmd, struct st_err *err)
{
	static const struct {
		const char *cmd, *method, *suffix;
		void (*human)(json_t *);
	} simple[] = {
		{"start", "POST", "/start", print_started},       {"destroy", "POST", "/destroy", print_destroyed},
		{"reboot", "POST", "/reboot", print_rebooted},    {"suspend", "POST", "/suspend", print_suspended},
		{"resume", "POST", "/resume", print_resumed},     {"dominfo", "GET", "", print_info},
		{"domifaddr", "GET", "/interfaces", print_ifaddr}, {"domblklist", "GET", "", print_blklist},
	};
	for (size_t i = 0; i < ST_ARRAY_SIZE(simple); i++) {
		if (strcmp(cmd, simple[i].cmd))
			continue;
		char usage[64];
		snprintf(usage, sizeof(usage), "strata %s NAME", cmd);
		if (cli__positionals(c, 1, 1, usage, err) < 0)
			return -1;
		cleanup_free char *path = dom_path(c->argv[0], simple[i].suffix);
		return cli__call(c, simple[i].method, path, NULL, simple[i].human, err);
	}
	if (!strcmp(cmd, "list"))
		return cmd_list(c, err);
	if (!strcmp(cmd, "define"))
		return cmd_define(c, err);
	if (!strcmp(cmd, "dumpxml"))
		return cmd_dumpxml(c, err);
	if (!strcmp(cmd, "event"))
		return cmd_event(c, err);
	if (!strcmp(cmd, "console"))
		return cmd_console(c, err);
	if (!strcmp(cmd, "shutdown"))
		return cmd_shutdown(c, err);
	if (!strcmp(cmd, "attach-disk"))
		return cmd_attach_disk(c, err);
	if (!strcmp(cmd, "detach-disk"))
		return cmd_detach_disk(c, err);
	if (!strcmp(cmd, "undefine")) {
		bool vols = cli__flag(c, "--remove-all-storage", false) != NULL;
		if (cli__positionals(c, 1, 1, "strata undefine NAME [--remove-all-storage]", err) < 0)
			return -1;
		cleanup_free char *path = dom_path(c->argv[0], vols ? "?volumes=1" : "");
		return cli__call(c, "DELETE", path, NULL, print_undefined, err);
	}
	if (!strcmp(cmd, "autostart")) {
		bool off = cli__flag(c, "--disable", false) != NULL;
		if (cli__positionals(c, 1, 1, "strata autostart NAME [--disable]", err) < 0)
			return -1;
		cleanup_free char *path = dom_path(c->argv[0], "/autostart");
		json_t *body = json_pack("{s:b}", "autostart", !off);
		int rc = cli__call(c, "PUT", path, body, print_autostart, err);
		json_decref(body);
		return rc;
	}
	return cli__usage_fail(err, "unknown command '%s' (see strata --help)", cmd);
}
