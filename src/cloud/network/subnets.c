/* Subnets, IPv4 and IPv6: a cidr, its gateway (the first host address
 * unless given, or none), allocation pools (the cidr's host addresses but
 * the gateway unless given), enable_dhcp, dns_nameservers, and for IPv6
 * Neutron's ipv6_address_mode / ipv6_ra_mode (slaac and dhcpv6-stateless
 * subnets give a port the EUI-64 address of its MAC, dhcpv6-stateful ones
 * an address from the pools, as IPv4 subnets do). */
#include "cloud/network/network_db.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/network/ipaddr.h"

/* The subnet's cidr: network, mask, its first and last host addresses
 * (IPv4's network and broadcast addresses are no hosts; IPv6's subnet-
 * router anycast, the network address, is none either). */
struct cidr {
	struct ipaddr net;
	unsigned plen;
	unsigned __int128 mask, first, last;
};

static int parse_cidr(const char *text, struct cidr *c, struct st_err *err)
{
	if (ipaddr__cidr(text, &c->net, &c->plen, err) < 0)
		return -1;
	c->mask = ipaddr__mask(c->net.version, c->plen);
	unsigned __int128 top = c->net.v | (~c->mask & ipaddr__mask(c->net.version, c->net.version == 4 ? 32 : 128));
	c->first = c->net.v + 1;
	c->last = c->net.version == 4 ? top - 1 : top;
	return 0;
}

static bool host_of(const struct cidr *c, const struct ipaddr *a)
{
	return a->version == c->net.version && (a->v & c->mask) == c->net.v && a->v >= c->first && a->v <= c->last;
}

static void text_of(const struct cidr *c, unsigned __int128 v, char out[INET6_ADDRSTRLEN])
{
	struct ipaddr a = {c->net.version, v};
	ipaddr__text(&a, out);
}

bool subnets__contains(const json_t *subnet, const char *ip)
{
	struct cidr c;
	struct ipaddr a;
	struct st_err ignored = {0};
	return parse_cidr(json_string_value(json_object_get(subnet, "cidr")), &c, &ignored) == 0 &&
	       ipaddr__parse(ip, &a) && host_of(&c, &a);
}

bool subnets__auto_address(const json_t *subnet)
{
	const char *m = json_string_value(json_object_get(subnet, "ipv6_address_mode"));
	return m && (!strcmp(m, "slaac") || !strcmp(m, "dhcpv6-stateless"));
}

struct range {
	unsigned __int128 start, end;
};

/* The pools asked for, or the cidr's host addresses around the gateway. */
static int pools_of(const json_t *body, const struct cidr *c, const unsigned __int128 *gw, json_t **out,
		    struct st_err *err)
{
	json_t *given = json_object_get(body, "allocation_pools");
	unsigned __int128 first = c->first, last = c->last;
	struct range r[64];
	size_t n = 0;
	if (!given || json_is_null(given)) {
		if (gw && *gw > first)
			r[n++] = (struct range){first, *gw - 1};
		if (gw && *gw < last)
			r[n++] = (struct range){*gw + 1, last};
		if (!gw)
			r[n++] = (struct range){first, last};
	} else {
		if (!json_is_array(given) || json_array_size(given) > 64)
			return err__fail_class(err, EINVAL, "Invalid input for allocation_pools. Reason: it is not a "
					       "list of at most 64 {\"start\", \"end\"}.");
		size_t i;
		json_t *p;
		json_array_foreach(given, i, p) {
			const char *s = json_string_value(json_object_get(p, "start"));
			const char *e = json_string_value(json_object_get(p, "end"));
			struct ipaddr a, b;
			if (!json_is_object(p) || json_object_size(p) != 2 || !ipaddr__parse(s, &a) ||
			    !ipaddr__parse(e, &b) || a.version != c->net.version || b.version != c->net.version ||
			    a.v > b.v)
				return err__fail_class(err, EINVAL, "Invalid input for allocation_pools: each is "
						       "{\"start\": IP, \"end\": IP} of the subnet's version with start "
						       "<= end");
			r[n] = (struct range){a.v, b.v};
			if (r[n].start < first || r[n].end > last || (a.v & c->mask) != c->net.v)
				return err__fail_class(err, EINVAL, "The allocation pool %s-%s spans beyond the subnet "
						       "cidr.", s, e);
			if (gw && *gw >= r[n].start && *gw <= r[n].end)
				return err__fail_class(err, EEXIST, "Gateway ip conflicts with allocation pool %s-%s",
						       s, e);
			for (size_t k = 0; k < n; k++)
				if (r[k].start <= r[n].end && r[n].start <= r[k].end)
					return err__fail_class(err, EINVAL, "Found overlapping allocation pools: %s-%s "
							       "and another", s, e);
			n++;
		}
	}
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++) {
		char s[INET6_ADDRSTRLEN], e[INET6_ADDRSTRLEN];
		text_of(c, r[i].start, s);
		text_of(c, r[i].end, e);
		json_array_append_new(list, json_pack("{s:s, s:s}", "start", s, "end", e));
	}
	*out = list;
	return 0;
}

static int gateway_of(const json_t *body, const struct cidr *c, unsigned __int128 *gw, bool *has,
		      struct st_err *err)
{
	json_t *v = json_object_get(body, "gateway_ip");
	struct ipaddr a;
	*has = true;
	if (!v) {
		*gw = c->first;
		return 0;
	}
	if (json_is_null(v)) {
		*has = false;
		return 0;
	}
	if (!ipaddr__parse(json_string_value(v), &a) || a.version != c->net.version)
		return err__fail_class(err, EINVAL, "Invalid input for gateway_ip. Reason: it is not a valid "
				       "IPv%d address.", c->net.version);
	if (!host_of(c, &a))
		return err__fail_class(err, EINVAL, "Invalid input for operation: Gateway IP %s is not a host "
				       "address of the subnet.", json_string_value(v));
	*gw = a.v;
	return 0;
}

static int check_dns(const json_t *body, json_t **out, struct st_err *err)
{
	json_t *v = json_object_get(body, "dns_nameservers");
	struct ipaddr ip;
	if (!v || json_is_null(v)) {
		*out = json_array();
		return 0;
	}
	size_t i;
	json_t *d;
	if (!json_is_array(v))
		return err__fail_class(err, EINVAL, "Invalid input for dns_nameservers: it is not a list");
	json_array_foreach(v, i, d)
		if (!ipaddr__parse(json_string_value(d), &ip))
			return err__fail_class(err, EINVAL, "Invalid input for dns_nameservers: not an IP address");
	*out = json_incref(v);
	return 0;
}

/* Neutron's IPv6 modes: none for IPv4; the two equal when both are given;
 * an automatic (EUI-64) address mode needs a /64. */
static int ipv6_modes(const json_t *body, const struct cidr *c, const char **addr, const char **ra,
		      struct st_err *err)
{
	static const char *const modes[] = {"slaac", "dhcpv6-stateful", "dhcpv6-stateless", NULL};
	const char *keys[] = {"ipv6_address_mode", "ipv6_ra_mode"}, **out[] = {addr, ra};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(body, keys[i]);
		*out[i] = NULL;
		if (!v || json_is_null(v))
			continue;
		size_t k = 0;
		while (json_is_string(v) && modes[k] && strcmp(modes[k], json_string_value(v)))
			k++;
		if (!json_is_string(v) || !modes[k])
			return err__fail_class(err, EINVAL, "Invalid input for %s. Reason: it is not one of slaac, "
					       "dhcpv6-stateful, dhcpv6-stateless.", keys[i]);
		*out[i] = json_string_value(v);
	}
	if ((*addr || *ra) && c->net.version == 4)
		return err__fail_class(err, EINVAL, "Invalid input for operation: ipv6_ra_mode or ipv6_address_mode "
				       "cannot be set when ip_version is 4.");
	if (*addr && *ra && strcmp(*addr, *ra))
		return err__fail_class(err, EINVAL, "Invalid input for operation: ipv6_ra_mode set to '%s' with "
				       "ipv6_address_mode set to '%s' is not valid. If both attributes are set, they must "
				       "be the same value.", *ra, *addr);
	const char *m = *addr ? *addr : *ra;
	if (m && strcmp(m, "dhcpv6-stateful") && c->plen != 64)
		return err__fail_class(err, EINVAL, "Invalid input for operation: Invalid CIDR %s for IPv6 address "
				       "mode. OpenStack uses the EUI-64 address format, which requires the prefix to be "
				       "/64.", json_string_value(json_object_get(body, "cidr")));
	return 0;
}

struct overlap {
	const char *network_id, *cidr;
};

/* Two cidrs overlap when they agree on the shorter prefix. */
static bool cidrs_overlap(const char *a, const char *b)
{
	struct cidr x, y;
	struct st_err ignored = {0};
	if (parse_cidr(a, &x, &ignored) < 0 || parse_cidr(b, &y, &ignored) < 0 || x.net.version != y.net.version)
		return false;
	unsigned __int128 m = x.plen < y.plen ? x.mask : y.mask;
	return (x.net.v & m) == (y.net.v & m);
}

/* Neutron refuses a subnet overlapping another of its network (400). */
static int no_overlap(struct db *db, void *arg, struct st_err *err)
{
	struct overlap *o = arg;
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT body FROM network_subnet WHERE network_id = ?", &o->network_id, 1, &rows, err) < 0)
		return -1;
	for (size_t i = 0; i < rows->nrows; i++) {
		cleanup_json json_t *other = json_loads(db_rows__get(rows, i, 0), 0, NULL);
		const char *cidr = json_string_value(json_object_get(other, "cidr"));
		if (cidr && cidrs_overlap(cidr, o->cidr))
			return err__fail_class(err, EINVAL, "Invalid input for operation: Requested subnet with cidr: "
					       "%s for network: %s overlaps with another subnet.", o->cidr, o->network_id);
	}
	return 0;
}

int subnets__create(struct db *db, const struct network_caller *c, const json_t *body, json_t **out,
		    struct st_err *err)
{
	static const char *const keys[] = {"name", "network_id", "cidr", "ip_version", "gateway_ip",
		"allocation_pools", "enable_dhcp", "dns_nameservers", "host_routes", "description", "project_id",
		"tenant_id", "subnetpool_id", "segment_id", "service_types", "ipv6_address_mode", "ipv6_ra_mode",
		"use_default_subnetpool", NULL};
	if (json_util__check_keys(body, "subnet", keys, err) < 0)
		return err__fail_class(err, EINVAL, "Unrecognized attribute(s): %s", err->msg);
	const char *nid = json_string_value(json_object_get(body, "network_id"));
	const char *cidr = json_string_value(json_object_get(body, "cidr"));
	json_t *ipv = json_object_get(body, "ip_version"), *routes = json_object_get(body, "host_routes");
	if (!nid)
		return err__fail_class(err, EINVAL, "Invalid input for operation: 'network_id' is required");
	if (!cidr)
		return err__fail_class(err, EINVAL, "Bad subnets request: a cidr must be specified (no subnet "
				       "pools here)");
	if (ipv && !(json_is_integer(ipv) && (json_integer_value(ipv) == 4 || json_integer_value(ipv) == 6)))
		return err__fail_class(err, EINVAL, "Invalid input for ip_version. Reason: it is not 4 or 6.");
	if (routes && !json_is_null(routes) && !(json_is_array(routes) && !json_array_size(routes)))
		return err__fail_class(err, EINVAL, "Invalid input for host_routes: not supported here");
	cleanup_json json_t *net = NULL, *pools = NULL, *dns = NULL;
	if (network_db__network(db, nid, &net, err) < 0)
		return -1;
	if (!network_db__sees(c, net))
		return err__fail_class(err, ENOENT, "Network %.64s could not be found.", nid);
	const char *net_owner = json_string_value(json_object_get(net, "project_id"));
	if (!c->admin && strcmp(net_owner, c->project_id))
		return err__fail_class(err, EPERM, "(rule:create_subnet) is disallowed by policy");
	struct cidr cd;
	unsigned __int128 gw = 0;
	const char *addr_mode, *ra_mode;
	bool has_gw, dhcp = true;
	json_t *name = json_object_get(body, "name"), *descr = json_object_get(body, "description");
	json_t *d = json_object_get(body, "enable_dhcp");
	if (d && !json_is_boolean(d))
		return err__fail_class(err, EINVAL, "Invalid input for enable_dhcp: it is not a boolean");
	dhcp = !d || json_is_true(d);
	if ((name && !json_is_null(name) && (!json_is_string(name) || json_string_length(name) > 255)) ||
	    (descr && !json_is_null(descr) && (!json_is_string(descr) || json_string_length(descr) > 255)))
		return err__fail_class(err, EINVAL, "Invalid input for name or description: a string of at most "
				       "255 characters");
	if (parse_cidr(cidr, &cd, err) < 0)
		return -1;
	if (cd.net.version != (ipv ? json_integer_value(ipv) : 4))
		return err__fail_class(err, EINVAL, "Invalid input for operation: cidr %s is not an IPv%d subnet "
				       "(ip_version).", cidr, (int)(ipv ? json_integer_value(ipv) : 4));
	if (ipv6_modes(body, &cd, &addr_mode, &ra_mode, err) < 0 || gateway_of(body, &cd, &gw, &has_gw, err) < 0 ||
	    pools_of(body, &cd, has_gw ? &gw : NULL, &pools, err) < 0 || check_dns(body, &dns, err) < 0)
		return -1;
	char id[37], now[32], at[24], gws[INET6_ADDRSTRLEN];
	if (util__uuid4(id, err) < 0)
		return -1;
	network_db__now(now, at);
	text_of(&cd, gw, gws);
	const char *nm = json_is_string(name) ? json_string_value(name) : "";
	cleanup_json json_t *sub = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:O, s:b, s:O, s:[], s:n, s:n, s:s?, s:s?, s:[], s:[],"
		" s:i, s:s, s:s, s:b}",
		"id", id, "name", nm, "description", json_is_string(descr) ? json_string_value(descr) : "",
		"network_id", nid, "project_id", net_owner, "tenant_id", net_owner, "cidr", cidr, "ip_version", cd.net.version,
		"allocation_pools", pools, "enable_dhcp", dhcp, "dns_nameservers", dns, "host_routes",
		"subnetpool_id", "segment_id", "ipv6_address_mode", addr_mode, "ipv6_ra_mode", ra_mode,
		"service_types", "tags",
		"revision_number", 0, "created_at", now, "updated_at", now, "dns_publish_fixed_ip", false);
	json_object_set_new(sub, "gateway_ip", has_gw ? json_string(gws) : json_null());
	cleanup_free char *text = json_dumps(sub, JSON_COMPACT);
	if (!text)
		return err__fail(err, ENOMEM, "out of memory");
	struct overlap o = {nid, cidr};
	struct insert ins = {NETWORK_SUBNETS, net_owner, "INSERT INTO network_subnet (id, network_id, name,"
			     " project_id, body, created_at) VALUES (?, ?, ?, ?, ?, ?)", {id, nid, nm, net_owner,
			     text, at}, 6, no_overlap, &o};
	if (db__tx(db, network_db__insert_tx, &ins, err) < 0)
		return -1;
	*out = json_incref(sub);
	return 0;
}
