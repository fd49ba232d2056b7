/* strata's commands on a domain's disks: attach-disk, detach-disk,
 * domblklist (virsh's). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "cli/output.h"

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
	output__table(h, rows);
	json_decref(rows);
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
	const char *pool = cli__opt(c, "--pool"), *format = cli__opt(c, "--format");
	bool ro = cli__has(c, "--readonly");
	json_t *body = pool ? json_pack("{s:s, s:s}", "pool", pool, "volume", c->argv[1])
			    : json_pack("{s:s}", "path", c->argv[1]);
	if (c->argc > 2)
		json_object_set_new(body, "target", json_string(c->argv[2]));
	if (format)
		json_object_set_new(body, "format", json_string(format));
	if (ro)
		json_object_set_new(body, "readonly", json_true());
	cleanup_free char *path = cli__object_path("domains", c->argv[0], "/disks");
	int rc = cli__call(c, "POST", path, body, print_disk_attached, err);
	json_decref(body);
	return rc;
}

static int cmd_detach_disk(struct cli *c, struct st_err *err)
{
	cleanup_free char *target = cli__escape(c->argv[1]);
	cleanup_free char *suffix = NULL;
	if (!target || asprintf(&suffix, "/disks/%s", target) < 0)
		return err__fail(err, ENOMEM, "detach-disk");
	cleanup_free char *path = cli__object_path("domains", c->argv[0], suffix);
	return cli__call(c, "DELETE", path, NULL, print_disk_detached, err);
}

static int cmd_domblklist(struct cli *c, struct st_err *err)
{
	return cli__call_object(c, "domains", err);
}

static const struct cli_cmd cmds[] = {
	{.name = "attach-disk", .run = cmd_attach_disk,
	 .args = "NAME SOURCE [TARGET] [--pool POOL] [--format raw|qcow2] [--readonly]", .min_args = 2, .max_args = 3,
	 .help = "adds a file or a --pool volume as a disk, to the running guest too",
	 .opts = "--pool= --format= --readonly"},
	{.name = "detach-disk", .run = cmd_detach_disk, .args = "NAME TARGET", .min_args = 2, .max_args = 2,
	 .help = "removes a disk; a running guest is asked to eject it"},
	{.name = "domblklist", .run = cmd_domblklist, .args = "NAME", .min_args = 1, .max_args = 1,
	 .help = "a domain's disks and, while it runs, their devices", .method = "GET", .suffix = "",
	 .human = print_blklist},
};

const struct cli_group cmd_disk_group = {"Domain disks", cmds, ST_ARRAY_SIZE(cmds)};
