#include "host/domxml.h"
#include "common/util.h"

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* Text content, attribute: malloc'd by libxml; xmlFree() them. Wrapped so
 * the callers read as plain C strings. */
static char *text_of(const xmlNode *n)
{
	return (char *)xmlNodeGetContent(n);
}

static char *attr(const xmlNode *n, const char *name)
{
	return (char *)xmlGetProp(n, (const xmlChar *)name);
}

static void set_text(json_t *obj, const char *key, char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
	xmlFree(value);
}

static int parse_count(const xmlNode *n, const char *what, unsigned long long *out, struct st_err *err)
{
	char *t = text_of(n);
	char *s = t;
	while (s && (*s == ' ' || *s == '\n' || *s == '\t'))
		s++;
	uint64_t v;
	int rc = util__parse_u64(s ? s : "", ULLONG_MAX >> 10, &v, err);
	xmlFree(t);
	if (rc < 0)
		return err__prefix(err, "<%s>", what);
	*out = v;
	return 0;
}

static int memory_mib(const xmlNode *n, json_t *out, struct st_err *err)
{
	unsigned long long v;
	if (parse_count(n, "memory", &v, err) < 0)
		return -1;
	char *unit = attr(n, "unit");
	static const struct {
		const char *name;
		unsigned shift; /* to KiB: positive multiplies */
		int dir;
	} units[] = {{"b", 10, -1}, {"bytes", 10, -1}, {"KiB", 0, 0}, {"k", 0, 0}, {"MiB", 10, 1},
		     {"M", 10, 1},  {"GiB", 20, 1},     {"G", 20, 1},   {"TiB", 30, 1}};
	int found = -1;
	for (size_t i = 0; i < ST_ARRAY_SIZE(units) && found < 0; i++)
		if (!unit || !strcmp(unit, units[i].name))
			found = unit ? (int)i : 2;
	if (found < 0) {
		err__fail(err, 0, "<memory unit='%s'>: unknown unit", unit);
		xmlFree(unit);
		return -1;
	}
	xmlFree(unit);
	unsigned long long kib = units[found].dir < 0 ? v >> 10 : v << units[found].shift;
	if (units[found].dir > 0 && (kib >> units[found].shift) != v)
		return err__fail(err, 0, "<memory> is too large");
	json_object_set_new(out, "memory_mib", json_integer((json_int_t)(kib >> 10)));
	return 0;
}

static int parse_os(const xmlNode *os, json_t *out, struct st_err *err)
{
	json_t *o = json_object();
	json_object_set_new(out, "os", o);
	for (const xmlNode *c = os->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "kernel"))
			set_text(o, "kernel", text_of(c));
		else if (is(c, "initrd"))
			set_text(o, "initrd", text_of(c));
		else if (is(c, "cmdline"))
			set_text(o, "cmdline", text_of(c));
		else if (!is(c, "type") && !is(c, "boot") && !is(c, "bootmenu") && !is(c, "smbios"))
			return err__fail(err, 0, "<os><%s> is not supported", c->name);
	}
	return 0;
}

static int parse_disk(const xmlNode *d, json_t *disks, struct st_err *err)
{
	char *device = attr(d, "device");
	bool plain = !device || !strcmp(device, "disk");
	xmlFree(device);
	if (!plain)
		return err__fail(err, 0, "<disk device=...>: only device='disk' is supported");
	json_t *o = json_object();
	json_array_append_new(disks, o);
	for (const xmlNode *c = d->children; c; c = c->next) {
		if (is(c, "driver")) {
			set_text(o, "format", attr(c, "type"));
		} else if (is(c, "source")) {
			set_text(o, "path", attr(c, "file"));
			set_text(o, "path", attr(c, "dev"));
			set_text(o, "pool", attr(c, "pool"));
			set_text(o, "volume", attr(c, "volume"));
		} else if (is(c, "target")) {
			set_text(o, "target", attr(c, "dev"));
			set_text(o, "bus", attr(c, "bus"));
		} else if (is(c, "readonly")) {
			json_object_set_new(o, "readonly", json_true());
		} else if (c->type == XML_ELEMENT_NODE && !is(c, "alias") && !is(c, "address") && !is(c, "serial")) {
			return err__fail(err, 0, "<disk><%s> is not supported", c->name);
		}
	}
	return 0;
}

static int parse_interface(const xmlNode *n, json_t *nics, struct st_err *err)
{
	char *type = attr(n, "type");
	json_t *o = json_object();
	json_array_append_new(nics, o);
	set_text(o, "type", type);
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (is(c, "source")) {
			set_text(o, "source", attr(c, "network"));
			set_text(o, "source", attr(c, "bridge"));
			set_text(o, "source", attr(c, "dev"));
		} else if (is(c, "mac")) {
			set_text(o, "mac", attr(c, "address"));
		} else if (is(c, "model")) {
			set_text(o, "model", attr(c, "type"));
		} else if (c->type == XML_ELEMENT_NODE && !is(c, "alias") && !is(c, "address") && !is(c, "target")) {
			return err__fail(err, 0, "<interface><%s> is not supported", c->name);
		}
	}
	return 0;
}

static int parse_devices(const xmlNode *devs, json_t *out, struct st_err *err)
{
	static const char *const dropped[] = {"emulator", "serial", "console", "controller", "input", "graphics",
					      "video", "memballoon", "rng", "channel", NULL};
	json_t *disks = json_array(), *nics = json_array();
	json_object_set_new(out, "disks", disks);
	json_object_set_new(out, "interfaces", nics);
	for (const xmlNode *c = devs->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "disk")) {
			if (parse_disk(c, disks, err) < 0)
				return -1;
		} else if (is(c, "interface")) {
			if (parse_interface(c, nics, err) < 0)
				return -1;
		} else {
			bool ok = false;
			for (int i = 0; dropped[i] && !ok; i++)
				ok = is(c, dropped[i]);
			if (!ok)
				return err__fail(err, 0, "<devices><%s> is not supported", c->name);
		}
	}
	return 0;
}

static int parse_domain(const xmlNode *root, json_t *out, struct st_err *err)
{
	static const char *const dropped[] = {"currentMemory", "features", "clock", "cpu", "on_poweroff", "pm",
					      "title", "description", "metadata", "resource", NULL};
	if (!is(root, "domain"))
		return err__fail(err, 0, "the document's root is <%s>, not <domain>", root->name);
	for (const xmlNode *c = root->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		int rc = 0;
		unsigned long long v;
		if (is(c, "name")) {
			set_text(out, "name", text_of(c));
		} else if (is(c, "uuid")) {
			set_text(out, "uuid", text_of(c));
		} else if (is(c, "memory")) {
			rc = memory_mib(c, out, err);
		} else if (is(c, "vcpu")) {
			rc = parse_count(c, "vcpu", &v, err);
			if (rc == 0)
				json_object_set_new(out, "vcpus", json_integer((json_int_t)ST_MIN(v, 1ull << 31)));
		} else if (is(c, "os")) {
			rc = parse_os(c, out, err);
		} else if (is(c, "on_reboot")) {
			set_text(out, "on_reboot", text_of(c));
		} else if (is(c, "on_crash")) {
			set_text(out, "on_crash", text_of(c));
		} else if (is(c, "devices")) {
			rc = parse_devices(c, out, err);
		} else {
			bool ok = false;
			for (int i = 0; dropped[i] && !ok; i++)
				ok = is(c, dropped[i]);
			if (!ok)
				rc = err__fail(err, 0, "<domain><%s> is not supported", c->name);
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void silent_errors(void *ctx, const char *msg, ...)
{
	(void)ctx, (void)msg;
}

/* libxml2 goes on after an error and reports what follows from it; the
 * first error is the cause, so that one is kept. */
static void keep_first_error(void *first, xmlErrorPtr e)
{
	xmlError *keep = first;
	if (keep->code == XML_ERR_OK && e && e->level >= XML_ERR_ERROR)
		xmlCopyError(e, keep);
}

/* A definition never needs a DTD: an entity can grow a 1 MiB body into
 * gigabytes (inside attributes too, where libxml2 expands them whatever the
 * options), and an external one names a host file or a URL. So a DOCTYPE
 * with an external identifier and any entity declaration stop the parse at
 * once, before anything is expanded; a bare <!DOCTYPE domain> is harmless. */
struct xml_guard {
	char refused[160];
};

static void refuse(xmlParserCtxtPtr c, const char *what, const xmlChar *name)
{
	struct xml_guard *g = c->_private;
	if (!g->refused[0])
		snprintf(g->refused, sizeof(g->refused), "%s%s%s are not accepted (no DTD, no entities)", what,
			 name ? " " : "", name ? (const char *)name : "");
	xmlStopParser(c);
}

static void guard_subset(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	if (external_id || system_id)
		refuse(ctx, "DOCTYPEs with an external DTD like", name);
	else
		xmlSAX2InternalSubset(ctx, name, external_id, system_id);
}

static void guard_entity(void *ctx, const xmlChar *name, int type, const xmlChar *public_id, const xmlChar *system_id,
			 xmlChar *content)
{
	(void)type, (void)public_id, (void)system_id, (void)content;
	refuse(ctx, "entity declarations like", name);
}

/* libxml2 calls this at the end of every DOCTYPE; only one naming a DTD is refused */
static void guard_external(void *ctx, const xmlChar *name, const xmlChar *external_id, const xmlChar *system_id)
{
	if (external_id || system_id)
		refuse(ctx, "DOCTYPEs with an external DTD like", name);
}

static xmlDoc *read_guarded(const char *xml, size_t len, struct xml_guard *g)
{
	xmlParserCtxtPtr c = xmlNewParserCtxt();
	if (!c)
		return NULL;
	c->sax->internalSubset = guard_subset;
	c->sax->externalSubset = guard_external;
	c->sax->entityDecl = guard_entity;
	c->_private = g;
	/* NONET: never fetch; no NOENT, DTDLOAD, DTDATTR, XINCLUDE, HUGE: nothing
	 * is substituted, loaded or included, and libxml2's own limits stay */
	xmlDoc *doc = xmlCtxtReadMemory(c, xml, (int)len, "domain.xml", NULL,
					XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (g->refused[0] && doc) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	xmlFreeParserCtxt(c);
	return doc;
}

int domxml__import(const char *xml, size_t len, json_t **out, struct st_err *err)
{
	if (len > INT_MAX)
		return err__fail(err, 0, "XML document too large");
	xmlSetGenericErrorFunc(NULL, silent_errors);
	xmlError first = {0};
	struct xml_guard guard = {0};
	xmlSetStructuredErrorFunc(&first, keep_first_error);
	xmlDoc *doc = read_guarded(xml, len, &guard);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (guard.refused[0]) {
		xmlResetError(&first);
		return err__fail(err, 0, "invalid XML: %s", guard.refused);
	}
	if (!doc) {
		const xmlError *e = first.code != XML_ERR_OK ? &first : xmlGetLastError();
		char msg[200] = "not well-formed";
		if (e && e->message) {
			snprintf(msg, sizeof(msg), "%s", e->message);
			msg[strcspn(msg, "\n")] = 0;
		}
		int line = e ? e->line : 0;
		xmlResetError(&first);
		return err__fail(err, 0, "invalid XML (line %d): %s", line, msg);
	}
	xmlResetError(&first);
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

char *domxml__export(const json_t *def)
{
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *dom = xmlNewNode(NULL, (const xmlChar *)"domain");
	xmlDocSetRootElement(doc, dom);
	xmlNewProp(dom, (const xmlChar *)"type", (const xmlChar *)"kvm");
	char buf[64];
	xmlNewTextChild(dom, NULL, (const xmlChar *)"name", (const xmlChar *)str(def, "name"));
	xmlNewTextChild(dom, NULL, (const xmlChar *)"uuid", (const xmlChar *)str(def, "uuid"));
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(json_object_get(def, "memory_mib")));
	xmlNode *mem = xmlNewTextChild(dom, NULL, (const xmlChar *)"memory", (const xmlChar *)buf);
	xmlNewProp(mem, (const xmlChar *)"unit", (const xmlChar *)"MiB");
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(json_object_get(def, "vcpus")));
	xmlNewTextChild(dom, NULL, (const xmlChar *)"vcpu", (const xmlChar *)buf);
	xmlNode *os = xmlNewChild(dom, NULL, (const xmlChar *)"os", NULL);
	xmlNewTextChild(os, NULL, (const xmlChar *)"type", (const xmlChar *)"hvm");
	json_t *jos = json_object_get(def, "os");
	xmlNewTextChild(os, NULL, (const xmlChar *)"kernel", (const xmlChar *)str(jos, "kernel"));
	if (str(jos, "initrd"))
		xmlNewTextChild(os, NULL, (const xmlChar *)"initrd", (const xmlChar *)str(jos, "initrd"));
	xmlNewTextChild(os, NULL, (const xmlChar *)"cmdline", (const xmlChar *)str(jos, "cmdline"));
	xmlNewTextChild(dom, NULL, (const xmlChar *)"on_reboot", (const xmlChar *)str(def, "on_reboot"));
	xmlNewTextChild(dom, NULL, (const xmlChar *)"on_crash", (const xmlChar *)str(def, "on_crash"));
	xmlNode *devs = xmlNewChild(dom, NULL, (const xmlChar *)"devices", NULL);
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(def, "disks"), i, d) {
		bool vol = str(d, "pool") != NULL;
		xmlNode *disk = xmlNewChild(devs, NULL, (const xmlChar *)"disk", NULL);
		xmlNewProp(disk, (const xmlChar *)"type", (const xmlChar *)(vol ? "volume" : "file"));
		xmlNewProp(disk, (const xmlChar *)"device", (const xmlChar *)"disk");
		xmlNode *drv = xmlNewChild(disk, NULL, (const xmlChar *)"driver", NULL);
		xmlNewProp(drv, (const xmlChar *)"name", (const xmlChar *)"qemu");
		xmlNewProp(drv, (const xmlChar *)"type", (const xmlChar *)str(d, "format"));
		xmlNode *src = xmlNewChild(disk, NULL, (const xmlChar *)"source", NULL);
		if (vol) {
			xmlNewProp(src, (const xmlChar *)"pool", (const xmlChar *)str(d, "pool"));
			xmlNewProp(src, (const xmlChar *)"volume", (const xmlChar *)str(d, "volume"));
		} else {
			xmlNewProp(src, (const xmlChar *)"file", (const xmlChar *)str(d, "path"));
		}
		xmlNode *tgt = xmlNewChild(disk, NULL, (const xmlChar *)"target", NULL);
		xmlNewProp(tgt, (const xmlChar *)"dev", (const xmlChar *)str(d, "target"));
		xmlNewProp(tgt, (const xmlChar *)"bus", (const xmlChar *)"virtio");
		if (json_is_true(json_object_get(d, "readonly")))
			xmlNewChild(disk, NULL, (const xmlChar *)"readonly", NULL);
	}
	json_array_foreach(json_object_get(def, "interfaces"), i, d) {
		const char *type = str(d, "type");
		xmlNode *nic = xmlNewChild(devs, NULL, (const xmlChar *)"interface", NULL);
		xmlNewProp(nic, (const xmlChar *)"type", (const xmlChar *)type);
		xmlNode *mac = xmlNewChild(nic, NULL, (const xmlChar *)"mac", NULL);
		xmlNewProp(mac, (const xmlChar *)"address", (const xmlChar *)str(d, "mac"));
		xmlNode *src = xmlNewChild(nic, NULL, (const xmlChar *)"source", NULL);
		const char *attr_name = !strcmp(type, "network") ? "network" : !strcmp(type, "bridge") ? "bridge" : "dev";
		xmlNewProp(src, (const xmlChar *)attr_name, (const xmlChar *)str(d, "source"));
		if (!strcmp(type, "direct"))
			xmlNewProp(src, (const xmlChar *)"mode", (const xmlChar *)"bridge");
		xmlNode *model = xmlNewChild(nic, NULL, (const xmlChar *)"model", NULL);
		xmlNewProp(model, (const xmlChar *)"type", (const xmlChar *)"virtio");
	}
	xmlNode *serial = xmlNewChild(devs, NULL, (const xmlChar *)"serial", NULL);
	xmlNewProp(serial, (const xmlChar *)"type", (const xmlChar *)"pty");
	xmlNode *tgt = xmlNewChild(serial, NULL, (const xmlChar *)"target", NULL);
	xmlNewProp(tgt, (const xmlChar *)"port", (const xmlChar *)"0");
	xmlNode *console = xmlNewChild(devs, NULL, (const xmlChar *)"console", NULL);
	xmlNewProp(console, (const xmlChar *)"type", (const xmlChar *)"pty");
	xmlChar *mem_out = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem_out, &size, "UTF-8", 1);
	xmlFreeDoc(doc);
	char *text = mem_out ? strndup((const char *)mem_out, (size_t)size) : NULL;
	xmlFree(mem_out);
	return text;
}
