/* strata's domain monitoring commands, virsh's names and columns: domstate,
 * domuuid, domiflist, dommemstat, vcpuinfo. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

static const char *state_label(const char *s)
{
	return s && !strcmp(s, "shutoff") ? "shut off" : s ? s : "";
}

static void print_state(json_t *r)
{
	printf("%s\n\n", state_label(output__str(r, "state")));
}

/* virsh's reasons: a running guest was booted, a paused one paused by the user */
static void print_state_reason(json_t *r)
{
	const char *s = output__str(r, "state"), *last = output__str(r, "last_stop_reason");
	const char *why = !strcmp(s, "running") ? "booted" : !strcmp(s, "paused") ? "user" : *last ? last : "unknown";
	printf("%s (%s)\n\n", state_label(s), why);
}

static int cmd_domstate(struct cli *c, struct st_err *err)
{
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "");
	return cli__call(c, "GET", path, NULL, cli__has(c, "--reason") ? print_state_reason : print_state, err);
}

static void print_uuid(json_t *r)
{
	printf("%s\n\n", output__str(r, "uuid"));
}

static json_t *iface_row(json_t *x)
{
	const char *tap = output__str(x, "tap"), *model = output__str(x, "model");
	return json_pack("[s, s, s, s, s]", *tap ? tap : "-", output__str(x, "type"), output__str(x, "source"),
			 *model ? model : "virtio", output__str(x, "mac"));
}

static void print_iflist(json_t *r)
{
	static const char *const h[] = {"Interface", "Type", "Source", "Model", "MAC", NULL};
	output__list(h, r, iface_row);
}

/* "name value" lines, virsh's order */
static void print_memstat(json_t *r)
{
	static const char *const order[] = {"actual", "swap_in", "swap_out", "major_fault", "minor_fault", "unused",
					    "available", "usable", "disk_caches", "hugetlb_pgalloc", "hugetlb_pgfail",
					    "rss"};
	for (size_t i = 0; i < ST_ARRAY_SIZE(order); i++)
		if (json_is_integer(json_object_get(r, order[i])))
			printf("%s %lld\n", order[i], (long long)json_integer_value(json_object_get(r, order[i])));
	printf("\n");
}

static void print_vcpus(json_t *r)
{
	size_t i;
	json_t *v;
	json_array_foreach(r, i, v) {
		bool live = json_is_integer(json_object_get(v, "cpu"));
		char cpu[16] = "N/A", t[32] = "N/A";
		if (live) {
			output__int(v, "cpu", cpu, sizeof(cpu));
			snprintf(t, sizeof(t), "%.1fs", (double)json_integer_value(json_object_get(v, "cpu_time_ns")) / 1e9);
		}
		printf("%-15s %lld\n", "VCPU:", (long long)json_integer_value(json_object_get(v, "vcpu")));
		printf("%-15s %s\n", "CPU:", cpu);
		printf("%-15s %s\n", "State:", live ? output__str(v, "state") : "N/A");
		printf("%-15s %s\n", "CPU time:", t);
		printf("%-15s %s\n\n", "CPU Affinity:", output__str(v, "affinity"));
	}
}

/* the commands that are one request on /v1/domains/NAME... */
static int cmd_simple(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "domains", err);
}

static const struct cli_cmd cmds[] = {
	{.name = "domstate", .run = cmd_domstate, .args = "NAME [--reason]", .min_args = 1, .max_args = 1,
	 .help = "a domain's state (running, paused, shut off)", .opts = "--reason"},
	{.name = "domuuid", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's UUID", .method = "GET", .suffix = "", .human = print_uuid},
	{.name = "domiflist", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's NICs: tap, type, source, model, MAC", .opts = "--inactive", .method = "GET",
	 .suffix = "/interfaces", .human = print_iflist},
	{.name = "dommemstat", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a running domain's memory figures from its balloon, in KiB", .opts = "--live --current",
	 .method = "GET", .suffix = "/memstats", .human = print_memstat},
	{.name = "vcpuinfo", .run = cmd_simple, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "each vCPU: its host CPU, state, CPU time and affinity", .opts = "--pretty", .method = "GET",
	 .suffix = "/vcpus", .human = print_vcpus},
};

const struct cli_group cmd_domstat_group = {"Domain monitoring", cmds, ST_ARRAY_SIZE(cmds)};
