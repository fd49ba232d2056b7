#include "host/domxml.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/tree.h>

#include "common/util.h"
#include "host/xmldoc.h"

#define MIB (1ull << 20)

static void set_text(json_t *obj, const char *key, char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
	xmlFree(value);
}

/* The element's text is value: one line naming it when not. */
static int text_is(const xmlNode *n, const char *where, const char *value, const char *why, struct st_err *err)
{
	char *t = xmldoc__text(n);
	bool ok = t && !strcmp(t, value);
	if (!ok)
		err__fail(err, 0, "%s<%s>%.40s</%s> is not supported: %s", where, n->name, t ? t : "", n->name, why);
	xmlFree(t);
	return ok ? 0 : -1;
}

static int attr_is(const xmlNode *n, const char *where, const char *name, const char *const *values,
		   const char *why, struct st_err *err)
{
	if (xmldoc__attr_in(n, name, values))
		return 0;
	char *v = xmldoc__attr(n, name);
	err__fail(err, 0, "%s<%s %s='%.40s'> is not supported: %s", where, n->name, name, v, why);
	xmlFree(v);
	return -1;
}

static int parse_count(const xmlNode *n, const char *where, unsigned long long *out, struct st_err *err)
{
	char *t = xmldoc__text(n);
	char *s = t ? t : (char *)"";
	s += strspn(s, " \t\r\n");
	size_t len = strlen(s);
	while (len && strchr(" \t\r\n", s[len - 1]))
		s[--len] = 0;
	uint64_t v;
	int rc = util__parse_u64(s, ULLONG_MAX >> 10, &v, err);
	xmlFree(t);
	if (rc < 0)
		return err__prefix(err, "%s<%s>", where, n->name);
	*out = v;
	return 0;
}

/* libvirt's units (default KiB); the size in bytes, or fails. */
static int parse_size(const xmlNode *n, const char *where, unsigned long long *bytes, struct st_err *err)
{
	static const struct {
		const char *name;
		unsigned long long mult;
	} units[] = {{"b", 1},		   {"bytes", 1},	   {"KB", 1000},	  {"k", 1 << 10},
		     {"KiB", 1 << 10},	   {"MB", 1000000},	   {"M", 1 << 20},	  {"MiB", 1 << 20},
		     {"GB", 1000000000ull}, {"G", 1ull << 30},	   {"GiB", 1ull << 30},	  {"TB", 1000000000000ull},
		     {"T", 1ull << 40},	   {"TiB", 1ull << 40}};
	unsigned long long v;
	if (xmldoc__check(n, where, (const char *const[]){"unit", NULL}, NULL, err) < 0 ||
	    parse_count(n, where, &v, err) < 0)
		return -1;
	char *unit = xmldoc__attr(n, "unit");
	unsigned long long mult = 0;
	for (size_t i = 0; i < ST_ARRAY_SIZE(units) && !mult; i++)
		if (!strcmp(unit ? unit : "KiB", units[i].name))
			mult = units[i].mult;
	if (!mult) {
		err__fail(err, 0, "%s<%s unit='%.20s'>: unknown unit", where, n->name, unit);
		xmlFree(unit);
		return -1;
	}
	xmlFree(unit);
	if (__builtin_mul_overflow(v, mult, bytes))
		return err__fail(err, 0, "%s<%s> is too large", where, n->name);
	return 0;
}

static int parse_vcpu(const xmlNode *n, json_t *out, struct st_err *err)
{
	unsigned long long v;
	uint64_t cur;
	if (xmldoc__check(n, "<domain>", (const char *const[]){"placement", "cpuset", "current", NULL}, NULL, err) < 0 ||
	    parse_count(n, "<domain>", &v, err) < 0)
		return -1;
	char *current = xmldoc__attr(n, "current");
	int rc = 0;
	if (current && (util__parse_u64(current, ULLONG_MAX, &cur, err) < 0 || cur != v))
		rc = err__fail(err, 0, "<vcpu current='%.20s'> is not supported: a guest starts with all of its vcpus",
			       current);
	xmlFree(current);
	if (rc == 0)
		json_object_set_new(out, "vcpus", json_integer((json_int_t)ST_MIN(v, 1ull << 31)));
	return rc;
}

static int parse_os(const xmlNode *os, json_t *out, struct st_err *err)
{
	static const char *const W = "<os>";
	json_t *o = json_object();
	json_object_set_new(out, "os", o);
	if (xmldoc__check(os, "<domain>", NULL, (const char *const[]){"boot", NULL}, err) < 0)
		return -1;
	for (const xmlNode *c = os->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		int rc = 0;
		if (xmldoc__is(c, "type")) {
			rc = xmldoc__check(c, W, (const char *const[]){"arch", "machine", NULL}, NULL, err);
			if (rc == 0)
				rc = attr_is(c, W, "arch", (const char *const[]){"x86_64", NULL},
					     "stratad runs x86_64 guests only", err);
			if (rc == 0)
				rc = text_is(c, W, "hvm", "stratad runs hardware-virtualized guests (hvm)", err);
		} else if (xmldoc__is(c, "kernel") || xmldoc__is(c, "initrd") || xmldoc__is(c, "cmdline")) {
			rc = xmldoc__check(c, W, NULL, NULL, err);
			set_text(o, (const char *)c->name, xmldoc__text(c));
		} else if (xmldoc__is(c, "boot")) { /* the kernel is booted directly: no boot order */
			rc = xmldoc__check(c, W, (const char *const[]){"dev", NULL}, NULL, err);
		} else if (xmldoc__is(c, "bootmenu")) {
			rc = xmldoc__check(c, W, (const char *const[]){"enable", "timeout", NULL}, NULL, err);
		} else {
			rc = xmldoc__unsupported(c, W, NULL, err);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* strata-vm's machine has ACPI tables, a local APIC and long mode (PAE);
 * any other feature would change what the guest sees. */
static int parse_features(const xmlNode *f, struct st_err *err)
{
	static const char *const have[] = {"acpi", "apic", "pae", NULL};
	if (xmldoc__check(f, "<domain>", NULL, NULL, err) < 0)
		return -1;
	for (const xmlNode *c = f->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!xmldoc__in((const char *)c->name, have))
			return xmldoc__unsupported(c, "<features>", "the machine has acpi, apic and pae only", err);
		if (xmldoc__check(c, "<features>", NULL, NULL, err) < 0 || c->children)
			return c->children ? xmldoc__unsupported(c->children, "<features>", NULL, err) : -1;
	}
	return 0;
}

/* The guest gets the host's CPU (what KVM supports), with one socket of
 * as many cores as vcpus: host-passthrough without a topology. */
static int parse_cpu(const xmlNode *cpu, struct st_err *err)
{
	if (xmldoc__check(cpu, "<domain>", (const char *const[]){"mode", "check", "migratable", NULL}, NULL, err) < 0)
		return -1;
	for (const xmlNode *c = cpu->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE)
			return xmldoc__unsupported(c, "<cpu>", "the guest's CPU is the host's (host-passthrough)", err);
	char *mode = xmldoc__attr(cpu, "mode");
	bool ok = mode && !strcmp(mode, "host-passthrough");
	if (!ok)
		err__fail(err, 0, "<cpu mode='%.40s'> is not supported: the guest's CPU is the host's (host-passthrough)",
			  mode ? mode : "custom");
	xmlFree(mode);
	return ok ? 0 : -1;
}

/* The RTC runs in UTC; there is an RTC and a PIT but no HPET. */
static int parse_clock(const xmlNode *clock, struct st_err *err)
{
	static const char *const W = "<clock>";
	if (xmldoc__check(clock, "<domain>", (const char *const[]){"offset", NULL}, (const char *const[]){"timer", NULL},
			  err) < 0 ||
	    attr_is(clock, "<domain>", "offset", (const char *const[]){"utc", NULL}, "the guest's clock is UTC", err) < 0)
		return -1;
	for (const xmlNode *c = clock->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!xmldoc__is(c, "timer"))
			return xmldoc__unsupported(c, W, NULL, err);
		if (xmldoc__check(c, W, (const char *const[]){"name", "tickpolicy", "present", NULL}, NULL, err) < 0)
			return -1;
		char *name = xmldoc__attr(c, "name"), *present = xmldoc__attr(c, "present");
		bool have = name && (!strcmp(name, "rtc") || !strcmp(name, "pit"));
		bool ok = have ? !present || !strcmp(present, "yes")
			       : name && !strcmp(name, "hpet") && present && !strcmp(present, "no");
		if (!ok)
			err__fail(err, 0, "<clock><timer name='%.20s'%s%.5s%s> is not supported: the guest has an RTC "
				  "and a PIT, no other timer", name ? name : "", present ? " present='" : "",
				  present ? present : "", present ? "'" : "");
		xmlFree(name);
		xmlFree(present);
		if (!ok)
			return -1;
	}
	return 0;
}

/* No suspend to RAM or disk: only their absence can be kept. */
static int parse_pm(const xmlNode *pm, struct st_err *err)
{
	if (xmldoc__check(pm, "<domain>", NULL, NULL, err) < 0)
		return -1;
	for (const xmlNode *c = pm->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!xmldoc__is(c, "suspend-to-mem") && !xmldoc__is(c, "suspend-to-disk"))
			return xmldoc__unsupported(c, "<pm>", NULL, err);
		if (xmldoc__check(c, "<pm>", (const char *const[]){"enabled", NULL}, NULL, err) < 0 ||
		    attr_is(c, "<pm>", "enabled", (const char *const[]){"no", NULL}, "guests cannot suspend", err) < 0)
			return -1;
	}
	return 0;
}

static int parse_disk_source(const xmlNode *c, const char *type, json_t *o, struct st_err *err)
{
	static const char *const W = "<disk>";
	for (const xmlNode *s = c->children; s; s = s->next)
		if (s->type == XML_ELEMENT_NODE)
			return xmldoc__unsupported(s, "<disk><source>", NULL, err);
	if (!strcmp(type, "volume")) {
		if (xmldoc__check(c, W, (const char *const[]){"pool", "volume", NULL}, NULL, err) < 0)
			return -1;
		set_text(o, "pool", xmldoc__attr(c, "pool"));
		set_text(o, "volume", xmldoc__attr(c, "volume"));
	} else {
		const char *key = !strcmp(type, "block") ? "dev" : "file";
		if (xmldoc__check(c, W, (const char *const[]){key, NULL}, NULL, err) < 0)
			return -1;
		set_text(o, "path", xmldoc__attr(c, key));
	}
	return 0;
}

/* The driver: raw or qcow2 through the host's page cache with flushes
 * honoured (cache='writeback'), I/O in threads or io_uring (host side). */
static int parse_disk_driver(const xmlNode *c, json_t *o, struct st_err *err)
{
	static const char *const W = "<disk>";
	if (xmldoc__check(c, W, (const char *const[]){"name", "type", "cache", "io", NULL}, NULL, err) < 0 ||
	    attr_is(c, W, "name", (const char *const[]){"qemu", NULL}, "stratad's disks are qemu-format images", err) ||
	    attr_is(c, W, "type", (const char *const[]){"raw", "qcow2", NULL}, "images are raw or qcow2", err) < 0 ||
	    attr_is(c, W, "cache", (const char *const[]){"writeback", NULL},
		    "disks go through the host's page cache and honour flushes (cache='writeback')", err) < 0 ||
	    attr_is(c, W, "io", (const char *const[]){"threads", "io_uring", NULL}, "I/O is threads or io_uring", err))
		return -1;
	if (c->children)
		return xmldoc__unsupported(c, W, "no child elements", err);
	set_text(o, "format", xmldoc__attr(c, "type"));
	return 0;
}

static int parse_disk(const xmlNode *d, json_t *disks, struct st_err *err)
{
	static const char *const W = "<disk>";
	if (xmldoc__check(d, "<devices>", (const char *const[]){"type", "device", NULL}, NULL, err) < 0 ||
	    attr_is(d, "<devices>", "device", (const char *const[]){"disk", NULL}, "only device='disk'", err) < 0 ||
	    attr_is(d, "<devices>", "type", (const char *const[]){"file", "block", "volume", NULL},
		    "disks are files, block devices or pool volumes", err) < 0)
		return -1;
	char *t = xmldoc__attr(d, "type");
	char type[8];
	snprintf(type, sizeof(type), "%s", t ? t : "file");
	xmlFree(t);
	json_t *o = json_object();
	json_array_append_new(disks, o);
	char *serial = NULL;
	int rc = 0;
	for (const xmlNode *c = d->children; c && rc == 0; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmldoc__is(c, "driver")) {
			rc = parse_disk_driver(c, o, err);
		} else if (xmldoc__is(c, "source")) {
			rc = parse_disk_source(c, type, o, err);
		} else if (xmldoc__is(c, "target")) {
			rc = xmldoc__check(c, W, (const char *const[]){"dev", "bus", NULL}, NULL, err) < 0 ||
					     attr_is(c, W, "bus", (const char *const[]){"virtio", NULL}, "disks are virtio", err) < 0
				     ? -1
				     : 0;
			set_text(o, "target", xmldoc__attr(c, "dev"));
			set_text(o, "bus", xmldoc__attr(c, "bus"));
		} else if (xmldoc__is(c, "readonly")) {
			rc = xmldoc__check(c, W, NULL, NULL, err);
			json_object_set_new(o, "readonly", json_true());
		} else if (xmldoc__is(c, "serial")) {
			rc = xmldoc__check(c, W, NULL, NULL, err);
			serial = xmldoc__text(c);
		} else if (xmldoc__is(c, "backingStore")) { /* libvirt's "none": the image's own chain is used */
			rc = c->children || c->properties ? xmldoc__unsupported(c, W, "the chain is the image's own", err)
							  : 0;
		} else if (!xmldoc__is(c, "alias") && !xmldoc__is(c, "address") && !xmldoc__is(c, "boot")) {
			rc = xmldoc__unsupported(c, W, NULL, err);
		}
	}
	/* what the guest reads (domdef checks it); absent, the target */
	if (rc == 0 && serial)
		json_object_set_new(o, "serial", json_string(serial));
	if (rc == 0 && !json_object_get(o, "path") && !json_object_get(o, "volume"))
		rc = err__fail(err, 0, "<disk><source> is required");
	xmlFree(serial);
	return rc;
}

static int parse_interface(const xmlNode *n, json_t *nics, struct st_err *err)
{
	static const char *const W = "<interface>";
	char *type = xmldoc__attr(n, "type");
	int rc = xmldoc__check(n, "<devices>", (const char *const[]){"type", NULL}, NULL, err);
	if (rc == 0 && type && !strcmp(type, "user"))
		rc = err__fail(err, 0, "<interface type='user'> is not supported: stratad has no user-mode "
			       "networking; use type='network' with a nat network (net-define) or type='bridge'");
	else if (rc == 0 && !xmldoc__attr_in(n, "type", (const char *const[]){"network", "bridge", "direct", NULL}))
		rc = err__fail(err, 0, "<interface type='%.20s'> is not supported (network, bridge or direct)", type);
	else if (rc == 0 && !type)
		rc = err__fail(err, 0, "<interface> needs a type (network, bridge or direct)");
	if (rc < 0) {
		xmlFree(type);
		return -1;
	}
	json_t *o = json_object();
	json_array_append_new(nics, o);
	const char *key = !strcmp(type, "network") ? "network" : !strcmp(type, "bridge") ? "bridge" : "dev";
	set_text(o, "type", type);
	for (const xmlNode *c = n->children; c && rc == 0; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (xmldoc__is(c, "source")) {
			bool direct = !strcmp(key, "dev");
			rc = xmldoc__check(c, W, (const char *const[]){key, direct ? "mode" : NULL, NULL}, NULL, err);
			if (rc == 0 && direct)
				rc = attr_is(c, W, "mode", (const char *const[]){"bridge", NULL},
					     "a direct interface is a macvtap in bridge mode", err);
			if (rc == 0 && c->children)
				rc = xmldoc__unsupported(c, W, "no child elements", err);
			set_text(o, "source", xmldoc__attr(c, key));
		} else if (xmldoc__is(c, "mac")) {
			rc = xmldoc__check(c, W, (const char *const[]){"address", NULL}, NULL, err);
			set_text(o, "mac", xmldoc__attr(c, "address"));
		} else if (xmldoc__is(c, "model")) {
			rc = xmldoc__check(c, W, (const char *const[]){"type", NULL}, NULL, err) < 0 ||
					     attr_is(c, W, "type", (const char *const[]){"virtio", NULL}, "NICs are virtio", err) < 0
				     ? -1
				     : 0;
			set_text(o, "model", xmldoc__attr(c, "type"));
		} else if (!xmldoc__is(c, "alias") && !xmldoc__is(c, "address") && !xmldoc__is(c, "target")) {
			rc = xmldoc__unsupported(c, W, NULL, err);
		}
	}
	if (rc == 0 && !json_object_get(o, "source"))
		rc = err__fail(err, 0, "<interface type='%s'><source %s=...> is required", json_string_value(json_object_get(o, "type")), key);
	return rc;
}

/* One serial port (port 0) on a pty, which is also the console. */
static int parse_chardev(const xmlNode *n, unsigned *seen, struct st_err *err)
{
	const char *W = xmldoc__is(n, "serial") ? "<serial>" : "<console>";
	unsigned bit = xmldoc__is(n, "serial") ? 1 : 2;
	if (*seen & bit)
		return xmldoc__unsupported(n, "<devices>", "a guest has one serial port, which is its console", err);
	*seen |= bit;
	if (xmldoc__check(n, "<devices>", (const char *const[]){"type", NULL}, NULL, err) < 0 ||
	    attr_is(n, "<devices>", "type", (const char *const[]){"pty", NULL}, "the console is a pty", err) < 0)
		return -1;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || xmldoc__is(c, "alias"))
			continue;
		if (!xmldoc__is(c, "target"))
			return xmldoc__unsupported(c, W, NULL, err);
		const char *kind = bit == 1 ? "isa-serial" : "serial";
		if (xmldoc__check(c, W, (const char *const[]){"type", "port", NULL}, NULL, err) < 0 ||
		    attr_is(c, W, "type", (const char *const[]){kind, NULL}, "the port is an ISA 16550", err) < 0 ||
		    attr_is(c, W, "port", (const char *const[]){"0", NULL}, "one serial port (0)", err) < 0)
			return -1;
		for (const xmlNode *m = c->children; m; m = m->next) {
			if (m->type != XML_ELEMENT_NODE)
				continue;
			if (!xmldoc__is(m, "model") ||
			    xmldoc__check(m, "<target>", (const char *const[]){"name", NULL}, NULL, err) < 0 ||
			    attr_is(m, "<target>", "name", (const char *const[]){"isa-serial", NULL}, "an ISA 16550", err) < 0)
				return xmldoc__is(m, "model") ? -1 : xmldoc__unsupported(m, "<target>", NULL, err);
		}
	}
	return 0;
}

/* <memballoon model='virtio'> (libvirt's default, also when absent) or
 * model='none': strata-vm's --balloon or not. Its PCI address is stratad's
 * to choose; statistics periods, autodeflate and free page reporting are
 * not to be had. */
static int parse_memballoon(const xmlNode *c, json_t *out, struct st_err *err)
{
	static const char *const W = "<memballoon>";
	if (xmldoc__check(c, "<devices>", (const char *const[]){"model", NULL}, NULL, err) < 0 ||
	    attr_is(c, "<devices>", "model", (const char *const[]){"virtio", "none", NULL},
		    "a virtio balloon or none", err) < 0)
		return -1;
	char *model = xmldoc__attr(c, "model");
	if (!model)
		return err__fail(err, 0, "<memballoon> needs model='virtio' or model='none'");
	bool none = !strcmp(model, "none");
	xmlFree(model);
	for (const xmlNode *m = c->children; m; m = m->next)
		if (m->type == XML_ELEMENT_NODE && !xmldoc__is(m, "alias") && !xmldoc__is(m, "address"))
			return xmldoc__unsupported(m, W, NULL, err);
	if (none)
		json_object_set_new(out, "balloon", json_false());
	return 0;
}

/* What a guest loses nothing by: the host-side emulator path, controllers
 * (the machine's are fixed), a display, input devices and video (the
 * console is the serial port) and libvirt's "no audio". */
static int parse_dropped_device(const xmlNode *c, struct st_err *err)
{
	static const char *const dropped[] = {"emulator", "controller", "input", "graphics", "video", NULL};
	if (xmldoc__is(c, "audio")) {
		if (xmldoc__check(c, "<devices>", (const char *const[]){"id", "type", NULL}, NULL, err) < 0)
			return -1;
		char *type = xmldoc__attr(c, "type");
		bool none = type && !strcmp(type, "none");
		if (!none)
			err__fail(err, 0, "<devices><audio type='%.20s'> is not supported: guests have no sound",
				  type ? type : "");
		xmlFree(type);
		for (const xmlNode *a = c->children; a && none; a = a->next)
			if (a->type == XML_ELEMENT_NODE)
				return xmldoc__unsupported(a, "<audio>", NULL, err);
		return none ? 0 : -1;
	}
	if (!xmldoc__in((const char *)c->name, dropped))
		return xmldoc__unsupported(c, "<devices>", NULL, err);
	return 0;
}

static int parse_devices(const xmlNode *devs, json_t *out, struct st_err *err)
{
	static const char *const repeatable[] = {"disk",  "interface", "controller", "input", "graphics",
						 "video", "serial",    "console",    "audio", NULL};
	json_t *disks = json_array(), *nics = json_array();
	json_object_set_new(out, "disks", disks);
	json_object_set_new(out, "interfaces", nics);
	if (xmldoc__check(devs, "<domain>", NULL, repeatable, err) < 0)
		return -1;
	unsigned chardevs = 0;
	for (const xmlNode *c = devs->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		int rc;
		if (xmldoc__is(c, "disk"))
			rc = parse_disk(c, disks, err);
		else if (xmldoc__is(c, "interface"))
			rc = parse_interface(c, nics, err);
		else if (xmldoc__is(c, "serial") || xmldoc__is(c, "console"))
			rc = parse_chardev(c, &chardevs, err);
		else if (xmldoc__is(c, "memballoon"))
			rc = parse_memballoon(c, out, err);
		else
			rc = parse_dropped_device(c, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* <memory> in whole MiB (what strata-vm gives), <currentMemory> the same:
 * a guest starts with all its memory. */
static int set_memory(const xmlNode *mem, const xmlNode *cur, json_t *out, struct st_err *err)
{
	unsigned long long bytes, cbytes;
	if (!mem)
		return err__fail(err, 0, "<domain><memory> is required");
	if (parse_size(mem, "<domain>", &bytes, err) < 0 || (cur && parse_size(cur, "<domain>", &cbytes, err) < 0))
		return -1;
	if (bytes % MIB)
		return err__fail(err, 0, "<memory> of %llu KiB is not supported: guests have whole MiB", bytes >> 10);
	if (cur && cbytes != bytes)
		return err__fail(err, 0, "<currentMemory> of %llu KiB is not supported: a guest starts with all of its "
			       "<memory> (%llu KiB)", cbytes >> 10, bytes >> 10);
	json_object_set_new(out, "memory_mib", json_integer((json_int_t)ST_MIN(bytes / MIB, 1ull << 40)));
	return 0;
}

static int parse_domain_child(const xmlNode *c, json_t *out, struct st_err *err)
{
	static const char *const dropped[] = {"title", "description", "metadata", "resource", "seclabel", NULL};
	if (xmldoc__is(c, "name") || xmldoc__is(c, "uuid") || xmldoc__is(c, "on_reboot") || xmldoc__is(c, "on_crash")) {
		if (xmldoc__check(c, "<domain>", NULL, NULL, err) < 0)
			return -1;
		set_text(out, xmldoc__is(c, "uuid") ? "uuid" : (const char *)c->name, xmldoc__text(c));
		return 0;
	}
	if (xmldoc__is(c, "memory") || xmldoc__is(c, "currentMemory"))
		return 0; /* set_memory, once both are known */
	if (xmldoc__is(c, "vcpu"))
		return parse_vcpu(c, out, err);
	if (xmldoc__is(c, "os"))
		return parse_os(c, out, err);
	if (xmldoc__is(c, "features"))
		return parse_features(c, err);
	if (xmldoc__is(c, "cpu"))
		return parse_cpu(c, err);
	if (xmldoc__is(c, "clock"))
		return parse_clock(c, err);
	if (xmldoc__is(c, "pm"))
		return parse_pm(c, err);
	if (xmldoc__is(c, "on_poweroff"))
		return xmldoc__check(c, "<domain>", NULL, NULL, err) < 0 ||
				       text_is(c, "<domain>", "destroy", "a guest that powers off is shut off", err) < 0
			       ? -1
			       : 0;
	if (xmldoc__is(c, "devices"))
		return parse_devices(c, out, err);
	if (xmldoc__in((const char *)c->name, dropped))
		return 0;
	return xmldoc__unsupported(c, "<domain>", NULL, err);
}

static int parse_domain(const xmlNode *root, json_t *out, struct st_err *err)
{
	if (xmldoc__check(root, "", (const char *const[]){"type", "id", NULL}, (const char *const[]){"seclabel", NULL},
			  err) < 0 ||
	    attr_is(root, "", "type", (const char *const[]){"kvm", "qemu", NULL}, "stratad runs KVM guests", err) < 0)
		return -1;
	const xmlNode *mem = NULL, *cur = NULL;
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (c->ns && c->ns != root->ns)
			return err__fail(err, 0, "<domain><%s:%s> is not supported (another namespace)",
					 c->ns->prefix ? (const char *)c->ns->prefix : "", c->name);
		if (xmldoc__is(c, "memory"))
			mem = c;
		if (xmldoc__is(c, "currentMemory"))
			cur = c;
		if (parse_domain_child(c, out, err) < 0)
			return -1;
	}
	return set_memory(mem, cur, out, err);
}

int domxml__import(const char *xml, size_t len, json_t **out, struct st_err *err)
{
	xmlDoc *doc;
	if (xmldoc__read(xml, len, "domain", &doc, err) < 0)
		return -1;
	json_t *o = json_object();
	int rc = parse_domain(xmlDocGetRootElement(doc), o, err);
	xmlFreeDoc(doc);
	if (rc < 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void export_disk(xmlNode *devs, const json_t *d)
{
	struct stat sb;
	const char *path = str(d, "path");
	bool vol = str(d, "pool") != NULL, block = !vol && path && stat(path, &sb) == 0 && S_ISBLK(sb.st_mode);
	xmlNode *disk = xmldoc__add(devs, "disk", NULL, "type", vol ? "volume" : block ? "block" : "file", "device",
				    "disk", NULL);
	xmldoc__add(disk, "driver", NULL, "name", "qemu", "type", str(d, "format"), NULL);
	if (vol)
		xmldoc__add(disk, "source", NULL, "pool", str(d, "pool"), "volume", str(d, "volume"), NULL);
	else
		xmldoc__add(disk, "source", NULL, block ? "dev" : "file", path, NULL);
	xmldoc__add(disk, "target", NULL, "dev", str(d, "target"), "bus", "virtio", NULL);
	if (json_is_true(json_object_get(d, "readonly")))
		xmldoc__add(disk, "readonly", NULL, NULL);
	xmldoc__add(disk, "serial", str(d, "serial") ? str(d, "serial") : str(d, "target"), NULL);
}

static void export_nic(xmlNode *devs, const json_t *d)
{
	const char *type = str(d, "type");
	bool direct = !strcmp(type, "direct");
	xmlNode *nic = xmldoc__add(devs, "interface", NULL, "type", type, NULL);
	xmldoc__add(nic, "mac", NULL, "address", str(d, "mac"), NULL);
	const char *key = !strcmp(type, "network") ? "network" : !strcmp(type, "bridge") ? "bridge" : "dev";
	xmldoc__add(nic, "source", NULL, key, str(d, "source"), "mode", direct ? "bridge" : NULL, NULL);
	xmldoc__add(nic, "model", NULL, "type", "virtio", NULL);
}

char *domxml__export(const json_t *def)
{
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *dom = xmlNewNode(NULL, (const xmlChar *)"domain");
	xmlDocSetRootElement(doc, dom);
	xmlNewProp(dom, (const xmlChar *)"type", (const xmlChar *)"kvm");
	char mem[32], vcpus[32];
	snprintf(mem, sizeof(mem), "%lld", (long long)json_integer_value(json_object_get(def, "memory_mib")) * 1024);
	snprintf(vcpus, sizeof(vcpus), "%lld", (long long)json_integer_value(json_object_get(def, "vcpus")));
	xmldoc__add(dom, "name", str(def, "name"), NULL);
	xmldoc__add(dom, "uuid", str(def, "uuid"), NULL);
	xmldoc__add(dom, "memory", mem, "unit", "KiB", NULL);
	xmldoc__add(dom, "currentMemory", mem, "unit", "KiB", NULL);
	xmldoc__add(dom, "vcpu", vcpus, "placement", "static", NULL);
	xmlNode *os = xmldoc__add(dom, "os", NULL, NULL);
	xmldoc__add(os, "type", "hvm", "arch", "x86_64", NULL);
	json_t *jos = json_object_get(def, "os");
	xmldoc__add(os, "kernel", str(jos, "kernel"), NULL);
	if (str(jos, "initrd"))
		xmldoc__add(os, "initrd", str(jos, "initrd"), NULL);
	xmldoc__add(os, "cmdline", str(jos, "cmdline"), NULL);
	xmldoc__add(dom, "cpu", NULL, "mode", "host-passthrough", NULL);
	xmldoc__add(dom, "clock", NULL, "offset", "utc", NULL);
	xmldoc__add(dom, "on_poweroff", "destroy", NULL);
	xmldoc__add(dom, "on_reboot", str(def, "on_reboot"), NULL);
	xmldoc__add(dom, "on_crash", str(def, "on_crash"), NULL);
	xmlNode *devs = xmldoc__add(dom, "devices", NULL, NULL);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(def, "disks"), i, d)
		export_disk(devs, d);
	json_array_foreach(json_object_get(def, "interfaces"), i, d)
		export_nic(devs, d);
	xmldoc__add(xmldoc__add(devs, "serial", NULL, "type", "pty", NULL), "target", NULL, "port", "0", NULL);
	xmldoc__add(xmldoc__add(devs, "console", NULL, "type", "pty", NULL), "target", NULL, "type", "serial", "port",
		    "0", NULL);
	xmldoc__add(devs, "memballoon", NULL, "model", json_is_false(json_object_get(def, "balloon")) ? "none" : "virtio",
		    NULL);
	return xmldoc__dump(doc);
}
