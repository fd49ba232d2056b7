/* Hot disks: a domain's disks changed while it is defined, or while it runs
 * (strata-vm's disk-attach and disk-detach, ACPI PCI hotplug in the guest). */
#include "host/domain_disks.h"
#include "common/cleanup.h"
#include "host/domain_vmargs.h"
#include "host/domains.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/helper.h"
#include "host/image_cache.h"
#include "host/store.h"
#include "host/vmproc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *disk_by_target(const struct dom *d, const char *target, size_t *index)
{
	size_t i;
	json_t *disk;
	json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
		if (!strcmp(json_string_value(json_object_get(disk, "target")), target)) {
			if (index)
				*index = i;
			return disk;
		}
	}
	return NULL;
}

/* The definition with disks replaced, stored first, then kept in memory. */
static int dom__store_disks(struct host *h, struct dom *d, json_t *disks, struct st_err *err)
{
	json_t *def = json_deep_copy(d->def);
	if (!def || json_object_set(def, "disks", disks) < 0) {
		json_decref(def);
		return err__fail(err, ENOMEM, "domain definition");
	}
	return domains__store_def(h, d, def, err);
}

/* One control command whose only argument is a device name. */
static int dom__control_device(const char *ctl, const char *cmd, json_t *name, struct st_err *err)
{
	json_t *args = json_pack("{s:O}", "device", name);
	int rc = args ? vmproc__control_args(ctl, cmd, args, NULL, err) : err__fail(err, ENOMEM, "%s", cmd);
	json_decref(args);
	return rc;
}

/* The running guest's device for a disk target (its id; a VMM started
 * before disks had ids has the target as serial): 1 and *dev (in *devs, to
 * be freed), 0 when it has none, -1 when it cannot be asked. */
static int running_device(const char *ctl, const char *target, json_t **devs, json_t **dev, struct st_err *err)
{
	if (vmproc__control(ctl, "query-devices", devs, err) < 0)
		return -1;
	size_t i;
	json_array_foreach(json_object_get(*devs, "devices"), i, *dev) {
		const char *type = json_string_value(json_object_get(*dev, "type"));
		const char *id = json_string_value(json_object_get(*dev, "id"));
		if (!id)
			id = json_string_value(json_object_get(*dev, "serial"));
		if (type && id && !strcmp(type, "virtio-blk") && !strcmp(id, target))
			return 1;
	}
	*dev = NULL;
	return 0;
}

static int dom__attach_live(const char *ctl, const struct dom *d, const json_t *disk, json_t **ret,
			    struct st_err *err)
{
	const char *target = json_string_value(json_object_get(disk, "target"));
	json_t *devs = NULL, *dev;
	int found = running_device(ctl, target, &devs, &dev, err);
	json_decref(devs);
	if (found < 0)
		return -1;
	if (found) /* detached from the definition, not yet ejected by the guest */
		return err__fail_class(err, EBUSY, "disk %s of '%s' is still being detached", target, d->name);
	cleanup_free char *spec = domain_vmargs__disk_spec(disk);
	json_t *args = spec ? json_pack("{s:s}", "disk", spec) : NULL;
	int rc = args ? vmproc__control_args(ctl, "disk-attach", args, ret, err) : err__fail(err, ENOMEM, "attach");
	json_decref(args);
	if (rc < 0 && args)
		return err__class(err, EINVAL, err__prefix(err, "attach %s to '%s'", target, d->name));
	return rc;
}

/* The live half of an attach, without the host lock (domains__op_begin):
 * 0 with *ret when the guest got the disk. A run that ended meanwhile is no
 * error: the disk is in the definition for the next start. */
static int attach_live(struct host *h, struct dom *d, const json_t *disk, json_t **ret, struct st_err *err)
{
	struct dom_op op;
	if (domains__op_begin(h, d, "attaching a disk", &op, err) < 0)
		return -1;
	int rc = dom__attach_live(op.ctl, d, disk, ret, err);
	domains__op_end(h, &op, NULL);
	return rc;
}

int domain_disks__attach(struct host *h, struct dom *d, const json_t *in, json_t **out, struct st_err *err)
{
	if (domains__check_idle(d, false, err) < 0)
		return -1;
	json_t *disks = json_object_get(d->def, "disks");
	if (json_array_size(disks) >= DOMDEF_DISKS_MAX)
		return err__fail_class(err, EBUSY, "domain '%s' has %d disks already, the most it can have", d->name,
				  DOMDEF_DISKS_MAX);
	char dflt[4] = "vda";
	while (dflt[2] < 'z' && disk_by_target(d, dflt, NULL))
		dflt[2]++;
	json_t *disk;
	if (domdef__check_disk(in, dflt, domains__resolve_volume, h, &disk, err) < 0) {
		err->errnum = err->errnum == ENOENT ? ENOENT : EINVAL;
		return -1;
	}
	const char *target = json_string_value(json_object_get(disk, "target"));
	const char *path = json_string_value(json_object_get(disk, "path"));
	int rc = 0;
	if (disk_by_target(d, target, NULL))
		rc = err__fail_class(err, EEXIST, "domain '%s' already has a disk %s", d->name, target);
	else if (access(path, json_is_true(json_object_get(disk, "readonly")) ? R_OK : R_OK | W_OK) < 0)
		rc = err__fail_class(err, EINVAL, "disk %s: %s: %s", target, path, strerror(errno));
	json_t *ret = NULL;
	cleanup_free char *ctl = domains__run_file(h, d, "ctl");
	if (rc == 0 && !ctl)
		rc = err__fail(err, ENOMEM, "attach");
	/* a running guest gets the disk now: a cached base under it is checked as a start's would be */
	if (rc == 0 && d->state != DOM_SHUTOFF &&
	    image_cache__check_disk(h, path, json_string_value(json_object_get(disk, "format")), false, err) < 0)
		rc = err__prefix(err, "disk %s", target);
	if (rc == 0 && d->state != DOM_SHUTOFF)
		rc = attach_live(h, d, disk, &ret, err);
	json_t *list = rc == 0 ? (disks ? json_copy(disks) : json_array()) : NULL;
	if (rc == 0 && (!list || json_array_append(list, disk) < 0))
		rc = err__fail(err, ENOMEM, "attach");
	if (rc == 0 && dom__store_disks(h, d, list, err) < 0) {
		rc = -1;
		if (ret) /* the guest has it: take it back out rather than run it undefined */
			dom__control_device(ctl, "disk-detach", json_object_get(ret, "device"), NULL);
	}
	json_decref(list);
	if (rc == 0) {
		char why[96];
		snprintf(why, sizeof(why), "%s %s", target, ret ? "attached to the running guest" : "added");
		events__emit("disk-attached", "domain", d->name, d->uuid, why);
		/* a copy: the stored definition shares disk, and "device" is no field of it */
		*out = json_deep_copy(disk);
		if (ret && *out)
			json_object_set(*out, "device", json_object_get(ret, "device"));
	}
	json_decref(ret);
	json_decref(disk);
	return rc;
}

/* The live half of a detach, without the host lock: asks the guest to eject
 * the disk; *live says it had it. */
static int detach_live(struct host *h, struct dom *d, const char *target, bool *live, struct st_err *err)
{
	struct dom_op op;
	if (domains__op_begin(h, d, "detaching a disk", &op, err) < 0)
		return -1;
	json_t *devs = NULL, *dev = NULL;
	int found = running_device(op.ctl, target, &devs, &dev, err);
	int rc = found < 0 ? -1 : 0;
	if (found > 0 && json_is_true(json_object_get(dev, "unplug_pending")))
		rc = err__fail_class(err, EBUSY, "disk %s of '%s' is being detached already", target, d->name);
	else if (found > 0 && dom__control_device(op.ctl, "disk-detach", json_object_get(dev, "name"), err) < 0)
		rc = err__class(err, EBUSY, err__prefix(err, "detach %s from '%s'", target, d->name));
	*live = found > 0;
	json_decref(devs);
	domains__op_end(h, &op, NULL);
	return rc;
}

int domain_disks__detach(struct host *h, struct dom *d, const char *target, struct st_err *err)
{
	size_t index;
	if (domains__check_idle(d, false, err) < 0)
		return -1;
	if (!disk_by_target(d, target, NULL))
		return err__fail_class(err, ENOENT, "domain '%s' has no disk %s", d->name, target);
	bool live = false;
	if (d->state != DOM_SHUTOFF && detach_live(h, d, target, &live, err) < 0)
		return -1;
	/* looked up again: the index is the definition's as it is now */
	if (!disk_by_target(d, target, &index))
		return err__fail_class(err, ENOENT, "domain '%s' has no disk %s", d->name, target);
	json_t *list = json_copy(json_object_get(d->def, "disks"));
	if (!list || json_array_remove(list, index) < 0) {
		json_decref(list);
		return err__fail(err, ENOMEM, "detach");
	}
	int rc = dom__store_disks(h, d, list, err);
	json_decref(list);
	if (rc == 0)
		events__emit(live ? "disk-detach-requested" : "disk-detached", "domain", d->name, d->uuid, target);
	return rc;
}
