/* strata's commands on the host itself: version, audit, event. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static void print_version(json_t *r)
{
	printf("stratad %s (schema %lld), %lld domains, %lld active; you are uid %lld with %s access\n",
	       json_string_value(json_object_get(r, "version")),
	       (long long)json_integer_value(json_object_get(r, "schema")),
	       (long long)json_integer_value(json_object_get(r, "domains")),
	       (long long)json_integer_value(json_object_get(r, "active")),
	       (long long)json_integer_value(json_object_get(r, "uid")),
	       json_is_true(json_object_get(r, "write_access")) ? "full" : "read-only");
}

static json_t *audit_row(json_t *e)
{
	char ts[32], uid[16], st[8];
	output__int(e, "time", ts, sizeof(ts));
	output__int(e, "uid", uid, sizeof(uid));
	output__int(e, "status", st, sizeof(st));
	return json_pack("[s, s, s, s, s]", ts, uid,
		json_string_value(json_object_get(e, "method")), json_string_value(json_object_get(e, "path")), st);
}

static void print_audit(json_t *r)
{
	static const char *const h[] = {"Time", "Uid", "Method", "Path", "Status", NULL};
	output__list(h, r, audit_row);
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
		char when[32];
		printf("%s: event '%s' for %s %s: %s\n", output__time(ts, when, sizeof(when)), json_string_value(json_object_get(e, "event")),
		       json_string_value(json_object_get(e, "object")), json_string_value(json_object_get(e, "name")),
		       json_string_value(json_object_get(e, "reason")));
	}
	fflush(stdout);
}

static int cmd_event(struct cli *c, struct st_err *err)
{
	const char *dom = cli__opt(c, "--domain"), *count = cli__opt(c, "--count"), *timeout = cli__opt(c, "--timeout");
	uint64_t max = 0, secs = 0;
	if ((count && util__parse_u64(count, 1u << 30, &max, err) < 0) ||
	    (timeout && util__parse_u64(timeout, 1u << 30, &secs, err) < 0))
		return -1;
	cleanup_free char *path = NULL, *e = dom ? cli__escape(dom) : NULL;
	if (asprintf(&path, "/v1/events%s%s", dom ? "?domain=" : "", dom ? e : "") < 0)
		return err__fail(err, ENOMEM, "event");
	cleanup_close int fd = http_client__open_stream(&c->target, path, NULL, err);
	if (fd < 0)
		return -1;
	uint64_t deadline = secs ? util__now_ns() + secs * 1000000000ull : 0, seen = 0;
	char buf[65536];
	size_t have = 0;
	for (;;) {
		int wait_ms = -1;
		if (deadline) {
			uint64_t now = util__now_ns();
			if (now >= deadline)
				return 0;
			wait_ms = (int)((deadline - now) / 1000000) + 1;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, wait_ms) == 0)
			return 0;
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			return err__fail(err, 0, "stratad closed the event stream");
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

static void print_nodeinfo(json_t *r)
{
	printf("%-20s %s\n", "CPU model:", output__str(r, "cpu_model"));
	static const struct {
		const char *label, *key, *unit;
	} f[] = {{"CPU(s):", "cpus", ""}, {"CPU frequency:", "mhz", " MHz"}, {"CPU socket(s):", "sockets", ""},
		 {"Core(s) per socket:", "cores_per_socket", ""}, {"Thread(s) per core:", "threads_per_core", ""},
		 {"NUMA cell(s):", "numa_cells", ""}, {"Memory size:", "memory_kib", " KiB"}};
	for (size_t i = 0; i < ST_ARRAY_SIZE(f); i++)
		printf("%-20s %lld%s\n", f[i].label, (long long)json_integer_value(json_object_get(r, f[i].key)), f[i].unit);
	printf("\n");
}

static int cmd_nodeinfo(struct cli *c, struct st_err *err)
{
	return cli__call(c, "GET", "/v1/host/node", NULL, print_nodeinfo, err);
}

static int cmd_capabilities(struct cli *c, struct st_err *err)
{
	return cli__print_body(c, "/v1/host/capabilities", err);
}

static int cmd_version(struct cli *c, struct st_err *err)
{
	return cli__call(c, "GET", "/v1/host", NULL, print_version, err);
}

static int cmd_audit(struct cli *c, struct st_err *err)
{
	const char *limit = cli__opt(c, "--limit");
	uint64_t n = 50;
	if (limit && util__parse_u64(limit, INT32_MAX, &n, err) < 0)
		return err__prefix(err, "--limit");
	char path[64];
	snprintf(path, sizeof(path), "/v1/audit?limit=%llu", (unsigned long long)n);
	return cli__call(c, "GET", path, NULL, print_audit, err);
}

static const struct cli_cmd cmds[] = {
	{.name = "nodeinfo", .run = cmd_nodeinfo, .args = "", .help = "the host's CPUs, topology and memory"},
	{.name = "capabilities", .run = cmd_capabilities, .args = "",
	 .help = "what the host offers guests, as libvirt's capabilities XML"},
	{.name = "version", .run = cmd_version, .args = "", .help = "stratad's version, its domains, your access"},
	{.name = "audit", .run = cmd_audit, .args = "[--limit N]", .help = "the last N writes to the API (full access)",
	 .opts = "--limit="},
	{.name = "event", .run = cmd_event, .args = "[--domain NAME] [--count N] [--timeout S]",
	 .help = "follows the event stream (N events, or S seconds)", .opts = "--domain= --count= --timeout= --loop --all"},
};

const struct cli_group cmd_host_group = {"Host", cmds, ST_ARRAY_SIZE(cmds)};
