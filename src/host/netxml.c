#include "host/netxml.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "host/xmldoc.h"

static void set_text(json_t *obj, const char *key, char *value)
{
	if (value)
		json_object_set_new(obj, key, json_string(value));
	xmlFree(value);
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* The children of n must all be in known; the first other one is refused. */
static int only_children(const xmlNode *n, const char *where, const char *const *known, const char *why,
			 struct st_err *err)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !xmldoc__in((const char *)c->name, known))
			return xmldoc__unsupported(c, where, why, err);
	return 0;
}

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (xmldoc__is(c, name))
			return c;
	return NULL;
}

/* <forward mode>: nat, route, bridge; none is an isolated network. */
static int net_forward(const xmlNode *f, json_t *out, struct st_err *err)
{
	static const char *const modes[][2] = {{"nat", "nat"}, {"route", "routed"}, {"bridge", "bridge"}};
	if (!f) {
		json_object_set_new(out, "mode", json_string("isolated"));
		return 0;
	}
	if (xmldoc__check(f, "<network>", (const char *const[]){"mode", NULL}, NULL, err) < 0 ||
	    only_children(f, "<network><forward>", NULL, "no NAT ranges or forward devices", err) < 0)
		return -1;
	char *mode = xmldoc__attr(f, "mode");
	const char *m = NULL;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]) && !m; i++)
		if (!strcmp(mode ? mode : "nat", modes[i][0]))
			m = modes[i][1];
	if (!m)
		err__fail(err, 0, "<network><forward mode='%.20s'> is not supported (nat, route or bridge)", mode);
	else
		json_object_set_new(out, "mode", json_string(m));
	xmlFree(mode);
	return m ? 0 : -1;
}

static int prefix_of(const char *netmask, unsigned *prefix, struct st_err *err)
{
	struct in_addr a;
	if (inet_pton(AF_INET, netmask, &a) != 1)
		return err__fail(err, 0, "<network><ip netmask='%.20s'> is not an IPv4 netmask", netmask);
	uint32_t m = ntohl(a.s_addr);
	unsigned p = (unsigned)__builtin_popcount(m);
	if (p && m != ~0u << (32 - p))
		return err__fail(err, 0, "<network><ip netmask='%.20s'> is not a contiguous netmask", netmask);
	*prefix = p;
	return 0;
}

/* <host mac ip [name]/>: a DHCP host reservation ("hosts" of the define,
 * network_hosts.h checks the values). libvirt's IPv6 <host id=> has no
 * place here: networks are IPv4. */
static int dhcp_host(const xmlNode *n, const char *where, json_t **out, struct st_err *err)
{
	if (xmldoc__check(n, where, (const char *const[]){"mac", "ip", "name", NULL}, NULL, err) < 0 ||
	    only_children(n, "<network><ip><dhcp><host>", NULL, NULL, err) < 0)
		return -1;
	char *mac = xmldoc__attr(n, "mac"), *ip = xmldoc__attr(n, "ip"), *name = xmldoc__attr(n, "name");
	int rc = 0;
	if (!mac || !ip)
		rc = err__fail(err, 0, "%s<host> needs a mac and an ip (a reservation gives a MAC its address)", where);
	else
		*out = json_pack("{s:s, s:s, s:s*}", "mac", mac, "ip", ip, "name", name);
	xmlFree(mac), xmlFree(ip), xmlFree(name);
	return rc;
}

int netxml__dhcp_host_import(const char *xml, size_t len, json_t **out, struct st_err *err)
{
	xmlDoc *doc;
	if (xmldoc__read(xml, len, "host", &doc, err) < 0)
		return -1;
	int rc = dhcp_host(xmlDocGetRootElement(doc), "", out, err);
	xmlFreeDoc(doc);
	return rc;
}

static int net_dhcp(const xmlNode *dhcp, json_t *out, struct st_err *err)
{
	static const char *const W = "<network><ip><dhcp>";
	if (xmldoc__check(dhcp, "<network><ip>", NULL, (const char *const[]){"host", NULL}, err) < 0 ||
	    only_children(dhcp, W, (const char *const[]){"range", "host", NULL}, "only one <range>", err) < 0)
		return -1;
	for (const xmlNode *c = dhcp->children; c; c = c->next) {
		json_t *host = NULL;
		if (!xmldoc__is(c, "host"))
			continue;
		if (dhcp_host(c, W, &host, err) < 0)
			return -1;
		if (!json_object_get(out, "hosts"))
			json_object_set_new(out, "hosts", json_array());
		json_array_append_new(json_object_get(out, "hosts"), host);
	}
	const xmlNode *r = child(dhcp, "range");
	if (!r)
		return 0;
	if (xmldoc__check(r, W, (const char *const[]){"start", "end", NULL}, NULL, err) < 0 ||
	    only_children(r, "<network><ip><dhcp><range>", NULL, NULL, err) < 0)
		return -1;
	struct in_addr a;
	for (int i = 0; i < 2; i++)
		if (!xmldoc__attr_in(r, i ? "end" : "start", NULL)) {
			char *v = xmldoc__attr(r, i ? "end" : "start");
			bool ok = inet_pton(AF_INET, v, &a) == 1;
			if (!ok)
				err__fail(err, 0, "%s<range %s='%.40s'> is not an IPv4 address", W, i ? "end" : "start", v);
			xmlFree(v);
			if (!ok)
				return -1;
		}
	json_t *o = json_object();
	set_text(o, "start", xmldoc__attr(r, "start"));
	set_text(o, "end", xmldoc__attr(r, "end"));
	json_object_set_new(out, "dhcp", o);
	return 0;
}

static int net_ip(const xmlNode *ip, json_t *out, struct st_err *err)
{
	if (xmldoc__check(ip, "<network>", (const char *const[]){"address", "netmask", "prefix", "family", NULL}, NULL,
			  err) < 0 ||
	    only_children(ip, "<network><ip>", (const char *const[]){"dhcp", NULL}, NULL, err) < 0)
		return -1;
	if (!xmldoc__attr_in(ip, "family", (const char *const[]){"ipv4", NULL}))
		return err__fail(err, 0, "<network><ip family='ipv6'> is not supported: networks are IPv4");
	char *addr = xmldoc__attr(ip, "address"), *mask = xmldoc__attr(ip, "netmask"), *pfx = xmldoc__attr(ip, "prefix");
	unsigned prefix = 24;
	int rc = 0;
	struct in_addr a;
	char tail;
	if (!addr)
		rc = err__fail(err, 0, "<network><ip> needs an address");
	else if (inet_pton(AF_INET, addr, &a) != 1)
		rc = err__fail(err, 0, "<network><ip address='%.40s'> is not an IPv4 address", addr);
	else if (mask && pfx)
		rc = err__fail(err, 0, "<network><ip> has both a netmask and a prefix");
	else if (mask)
		rc = prefix_of(mask, &prefix, err);
	else if (pfx && (sscanf(pfx, "%2u%c", &prefix, &tail) != 1 || prefix > 32))
		rc = err__fail(err, 0, "<network><ip prefix='%.10s'> is not 0..32", pfx);
	if (rc == 0) {
		char cidr[80];
		snprintf(cidr, sizeof(cidr), "%.60s/%u", addr, prefix);
		json_object_set_new(out, "ip", json_string(cidr));
		const xmlNode *dhcp = child(ip, "dhcp");
		rc = dhcp ? net_dhcp(dhcp, out, err) : 0;
	}
	xmlFree(addr), xmlFree(mask), xmlFree(pfx);
	return rc;
}

/* uuid: stratad names networks only; mac: the bridge's own address (guests
 * learn the gateway's by ARP); stp/delay: a host-only bridge has no loops. */
int netxml__network_import(const char *xml, size_t len, json_t **out, struct st_err *err)
{
	static const char *const known[] = {"name", "uuid", "forward", "bridge", "mac", "ip", NULL};
	xmlDoc *doc;
	if (xmldoc__read(xml, len, "network", &doc, err) < 0)
		return -1;
	const xmlNode *root = xmlDocGetRootElement(doc);
	json_t *o = json_object();
	int rc = xmldoc__check(root, "", NULL, NULL, err) < 0 || only_children(root, "<network>", known, NULL, err) < 0
			 ? -1
			 : net_forward(child(root, "forward"), o, err);
	const xmlNode *br = child(root, "bridge"), *name = child(root, "name"), *ip = child(root, "ip");
	if (rc == 0 && name)
		set_text(o, "name", xmldoc__text(name));
	if (rc == 0 && br) {
		rc = xmldoc__check(br, "<network>", (const char *const[]){"name", "stp", "delay", NULL}, NULL, err);
		set_text(o, "bridge", xmldoc__attr(br, "name"));
	}
	if (rc == 0 && child(root, "mac"))
		rc = xmldoc__check(child(root, "mac"), "<network>", (const char *const[]){"address", NULL}, NULL, err);
	if (rc == 0 && ip)
		rc = net_ip(ip, o, err);
	xmlFreeDoc(doc);
	if (rc < 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

char *netxml__network_export(const json_t *info)
{
	static const char *const modes[][2] = {{"nat", "nat"}, {"routed", "route"}, {"bridge", "bridge"}};
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *net = xmlNewNode(NULL, (const xmlChar *)"network");
	xmlDocSetRootElement(doc, net);
	if (str(info, "name"))
		xmldoc__add(net, "name", str(info, "name"), NULL);
	const char *mode = str(info, "mode");
	for (size_t i = 0; mode && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(mode, modes[i][0]))
			xmldoc__add(net, "forward", NULL, "mode", modes[i][1], NULL);
	if (str(info, "bridge"))
		xmldoc__add(net, "bridge", NULL, "name", str(info, "bridge"), NULL);
	const char *cidr = str(info, "ip");
	if (cidr) {
		char addr[64];
		snprintf(addr, sizeof(addr), "%.*s", (int)strcspn(cidr, "/"), cidr);
		const char *slash = strchr(cidr, '/');
		xmlNode *ip = xmldoc__add(net, "ip", NULL, "address", addr, "prefix", slash ? slash + 1 : "24", NULL);
		json_t *dhcp = json_object_get(info, "dhcp"), *hosts = json_object_get(info, "hosts"), *h;
		xmlNode *d = dhcp || json_array_size(hosts) ? xmldoc__add(ip, "dhcp", NULL, NULL) : NULL;
		if (dhcp)
			xmldoc__add(d, "range", NULL, "start", str(dhcp, "start"), "end", str(dhcp, "end"), NULL);
		size_t i;
		json_array_foreach(hosts, i, h)
			xmldoc__add(d, "host", NULL, "mac", str(h, "mac"), "ip", str(h, "ip"), "name", str(h, "name"),
				    NULL);
	}
	return xmldoc__dump(doc);
}

/* <pool type='dir'> with <target><path>, or type='logical' naming its
 * volume group in <source><name>. Dropped: uuid, the sizes (libvirt's own
 * report, ignored on define too), a logical pool's source device and
 * format (used only to create the group; stratad uses an existing one)
 * and the target's permissions (stratad sets its own). */
static int pool_source(const xmlNode *src, bool logical, json_t *o, struct st_err *err)
{
	static const char *const W = "<pool><source>";
	if (!src)
		return 0;
	if (xmldoc__check(src, "<pool>", NULL, (const char *const[]){"device", NULL}, err) < 0 ||
	    only_children(src, W, logical ? (const char *const[]){"name", "device", "format", NULL} : NULL,
			  logical ? NULL : "a dir pool has no source", err) < 0)
		return -1;
	for (const xmlNode *c = src->children; c; c = c->next) {
		if (xmldoc__is(c, "name") && xmldoc__check(c, W, NULL, NULL, err) < 0)
			return -1;
		if (xmldoc__is(c, "device") && xmldoc__check(c, W, (const char *const[]){"path", NULL}, NULL, err) < 0)
			return -1;
		if (xmldoc__is(c, "format") &&
		    (xmldoc__check(c, W, (const char *const[]){"type", NULL}, NULL, err) < 0 ||
		     !xmldoc__attr_in(c, "type", (const char *const[]){"lvm2", "auto", NULL})))
			return err__fail(err, 0, "<pool><source><format> is not supported: lvm2 only");
	}
	if (child(src, "name"))
		set_text(o, "vg", xmldoc__text(child(src, "name")));
	return 0;
}

static int pool_target(const xmlNode *t, bool logical, json_t *o, struct st_err *err)
{
	static const char *const W = "<pool><target>";
	if (!t)
		return 0;
	if (xmldoc__check(t, "<pool>", NULL, NULL, err) < 0 ||
	    only_children(t, W, (const char *const[]){"path", "permissions", NULL}, NULL, err) < 0)
		return -1;
	const xmlNode *p = child(t, "path");
	if (!p)
		return 0;
	char *path = xmldoc__text(p);
	int rc = 0;
	if (logical) { /* only what the group's name gives */
		const char *vg = str(o, "vg");
		if (!vg || strncmp(path, "/dev/", 5) || strcmp(path + 5, vg))
			rc = err__fail(err, 0, "<pool><target><path>%.60s</path> is not supported: a logical pool is "
				       "/dev/VG for its <source><name>", path);
		xmlFree(path);
	} else {
		set_text(o, "path", path);
	}
	return rc;
}

int netxml__pool_import(const char *xml, size_t len, json_t **out, struct st_err *err)
{
	static const char *const known[] = {"name",   "uuid",	   "capacity", "allocation",
					    "available", "source", "target",   NULL};
	xmlDoc *doc;
	if (xmldoc__read(xml, len, "pool", &doc, err) < 0)
		return -1;
	const xmlNode *root = xmlDocGetRootElement(doc);
	json_t *o = json_object();
	char *type = xmldoc__attr(root, "type");
	bool logical = type && !strcmp(type, "logical");
	int rc = xmldoc__check(root, "", (const char *const[]){"type", NULL}, NULL, err);
	if (rc == 0 && !logical && (!type || strcmp(type, "dir")))
		rc = err__fail(err, 0, "<pool type='%.20s'> is not supported (dir or logical)", type ? type : "");
	xmlFree(type);
	if (rc == 0)
		rc = only_children(root, "<pool>", known, NULL, err);
	json_object_set_new(o, "type", json_string(logical ? "logical" : "dir"));
	if (rc == 0 && child(root, "name"))
		set_text(o, "name", xmldoc__text(child(root, "name")));
	if (rc == 0)
		rc = pool_source(child(root, "source"), logical, o, err);
	if (rc == 0)
		rc = pool_target(child(root, "target"), logical, o, err);
	if (rc == 0 && !json_object_get(o, logical ? "vg" : "path"))
		rc = err__fail(err, 0, logical ? "<pool type='logical'> needs <source><name> (its volume group)"
					       : "<pool type='dir'> needs <target><path>");
	xmlFreeDoc(doc);
	if (rc < 0) {
		json_decref(o);
		return -1;
	}
	*out = o;
	return 0;
}

char *netxml__pool_export(const json_t *info)
{
	bool logical = !strcmp(str(info, "type") ? str(info, "type") : "", "logical");
	xmlDoc *doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNode *pool = xmlNewNode(NULL, (const xmlChar *)"pool");
	xmlDocSetRootElement(doc, pool);
	xmlNewProp(pool, (const xmlChar *)"type", (const xmlChar *)(logical ? "logical" : "dir"));
	if (str(info, "name"))
		xmldoc__add(pool, "name", str(info, "name"), NULL);
	if (logical) {
		xmlNode *src = xmldoc__add(pool, "source", NULL, NULL);
		xmldoc__add(src, "name", str(info, "vg"), NULL);
		xmldoc__add(src, "format", NULL, "type", "lvm2", NULL);
	}
	xmldoc__add(xmldoc__add(pool, "target", NULL, NULL), "path", str(info, "path"), NULL);
	return xmldoc__dump(doc);
}
