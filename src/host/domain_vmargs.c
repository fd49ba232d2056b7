#include "host/domain_vmargs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"
#include "host/domains.h"

/* The target is the disk's id in the VMM (query-devices): that is how a
 * running disk is found again; the serial the guest reads is the target
 * unless the definition gives one. */
char *domain_vmargs__disk_spec(const json_t *disk)
{
	const char *target = json_string_value(json_object_get(disk, "target"));
	const char *serial = json_string_value(json_object_get(disk, "serial"));
	char *spec;
	if (asprintf(&spec, "%s,format=%s,id=%s,serial=%s%s", json_string_value(json_object_get(disk, "path")),
		     json_string_value(json_object_get(disk, "format")), target, serial ? serial : target,
		     json_is_true(json_object_get(disk, "readonly")) ? ",ro" : "") < 0)
		return NULL;
	return spec;
}

void domain_vmargs__free(struct domain_vmargs *a)
{
	for (size_t i = 0; i < a->nown; i++)
		free(a->owned[i]);
	a->nown = 0;
}

static int vmargs_oom(struct domain_vmargs *a, struct st_err *err)
{
	domain_vmargs__free(a);
	return err__fail(err, ENOMEM, "the VMM's arguments");
}

int domain_vmargs__build(struct host *h, const struct dom *d, struct domain_vmargs *a, struct st_err *err)
{
	json_t *os = json_object_get(d->def, "os");
	size_t n = 0;
	a->nown = 0;
	snprintf(a->cpus, sizeof(a->cpus), "%lld", (long long)json_integer_value(json_object_get(d->def, "vcpus")));
	snprintf(a->mem, sizeof(a->mem), "%lldM", (long long)json_integer_value(json_object_get(d->def, "memory_mib")));
	domains__run_path(h, d, "console", a->control, sizeof(a->control));
	snprintf(a->console, sizeof(a->console), "socket:%s", a->control);
	domains__run_path(h, d, "ctl", a->control, sizeof(a->control));
	domains__run_path(h, d, "exit", a->exit, sizeof(a->exit));
	snprintf(a->log, sizeof(a->log), "%s/%s.log", h->log_dir, d->name);
	const char *fixed[] = {h->vm_binary, "--cmdline", json_string_value(json_object_get(os, "cmdline")),
			       "--cpus", a->cpus, "--memory", a->mem, "--console", a->console, "--control", a->control,
			       "--kernel", json_string_value(json_object_get(os, "kernel"))};
	for (size_t i = 0; i < ST_ARRAY_SIZE(fixed); i++)
		a->argv[n++] = fixed[i];
	/* libvirt's default memballoon (setmem and dommemstat go through it)
	 * unless the definition has none */
	if (!json_is_false(json_object_get(d->def, "balloon")))
		a->argv[n++] = "--balloon";
	if (json_object_get(os, "initrd")) {
		a->argv[n++] = "--initrd";
		a->argv[n++] = json_string_value(json_object_get(os, "initrd"));
	}
	/* the format is always explicit: a raw disk is never probed, so a guest
	 * that writes a qcow2 header cannot make its disk point elsewhere */
	size_t i;
	json_t *disk, *nic;
	json_array_foreach(json_object_get(d->def, "disks"), i, disk) {
		if (a->nown == ST_ARRAY_SIZE(a->owned) || !(a->owned[a->nown] = domain_vmargs__disk_spec(disk)))
			return vmargs_oom(a, err);
		a->argv[n++] = "--disk";
		a->argv[n++] = a->owned[a->nown++];
	}
	/* NIC i is the fd the keeper puts at 3 + i */
	json_array_foreach(json_object_get(d->def, "interfaces"), i, nic) {
		if (a->nown == ST_ARRAY_SIZE(a->owned) ||
		    asprintf(&a->owned[a->nown], "fd=%zu,mac=%s", 3 + i, json_string_value(json_object_get(nic, "mac"))) < 0)
			return vmargs_oom(a, err);
		a->argv[n++] = "--net";
		a->argv[n++] = a->owned[a->nown++];
	}
	a->argv[n] = NULL;
	return 0;
}

