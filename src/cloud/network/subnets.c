/* Subnets: IPv4 only; a cidr, its gateway (the first host address unless
 * given, or none), allocation pools (the cidr's host addresses but the
 * gateway unless given), enable_dhcp, dns_nameservers. */
#include "cloud/network/network_db.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

static void ip_text(uint32_t ip, char out[INET_ADDRSTRLEN])
{
	struct in_addr a = {.s_addr = htonl(ip)};
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

/* "a.b.c.d/len" with no host bits: its network and mask. */
static int parse_cidr(const char *cidr, uint32_t *net, uint32_t *mask, unsigned *plen, struct st_err *err)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr ? cidr : "");
	char *slash = strchr(buf, '/'), *end = NULL;
	if (!slash)
		return err__fail_class(err, EINVAL, "Invalid input for cidr. Reason: '%.64s' is not a valid IP "
				       "subnet.", buf);
	*slash = 0;
	unsigned long l = strtoul(slash + 1, &end, 10);
	if (strchr(buf, ':'))
		return err__fail_class(err, EINVAL, "Invalid input for cidr: IPv6 subnets are not supported here");
	if (parse_ip(buf, net) < 0 || !*(slash + 1) || *end || l < 8 || l > 30)
		return err__fail_class(err, EINVAL, "Invalid input for cidr. Reason: '%.64s' is not a valid IPv4 "
				       "subnet with a prefix length of 8 to 30.", cidr ? cidr : "");
	*plen = (unsigned)l;
	*mask = ~0u << (32 - l);
	if (*net & ~*mask)
		return err__fail_class(err, EINVAL, "Invalid input for cidr: '%.64s' has host bits set", cidr);
	return 0;
}

bool subnets__contains(const json_t *subnet, const char *ip)
{
	uint32_t net, mask, a;
	unsigned plen;
	struct st_err ignored = {0};
	const char *cidr = json_string_value(json_object_get(subnet, "cidr"));
	return parse_cidr(cidr, &net, &mask, &plen, &ignored) == 0 && parse_ip(ip, &a) == 0 &&
	       (a & mask) == net && a != net && a != (net | ~mask);
}

struct range {
	uint32_t start, end;
};

/* The pools asked for, or the cidr's host addresses around the gateway. */
static int pools_of(const json_t *body, uint32_t net, uint32_t mask, const uint32_t *gw, json_t **out,
		    struct st_err *err)
{
	json_t *given = json_object_get(body, "allocation_pools");
	uint32_t first = net + 1, last = (net | ~mask) - 1;
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
			if (!json_is_object(p) || json_object_size(p) != 2 || parse_ip(s, &r[n].start) < 0 ||
			    parse_ip(e, &r[n].end) < 0 || r[n].start > r[n].end)
				return err__fail_class(err, EINVAL, "Invalid input for allocation_pools: each is "
						       "{\"start\": IPv4, \"end\": IPv4} with start <= end");
			if (r[n].start < first || r[n].end > last)
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
		char s[INET_ADDRSTRLEN], e[INET_ADDRSTRLEN];
		ip_text(r[i].start, s);
		ip_text(r[i].end, e);
		json_array_append_new(list, json_pack("{s:s, s:s}", "start", s, "end", e));
	}
	*out = list;
	return 0;
}

static int gateway_of(const json_t *body, uint32_t net, uint32_t mask, uint32_t *gw, bool *has,
		      struct st_err *err)
{
	json_t *v = json_object_get(body, "gateway_ip");
	*has = true;
	if (!v) {
		*gw = net + 1;
		return 0;
	}
	if (json_is_null(v)) {
		*has = false;
		return 0;
	}
	if (parse_ip(json_string_value(v), gw) < 0)
		return err__fail_class(err, EINVAL, "Invalid input for gateway_ip. Reason: it is not a valid "
				       "IPv4 address.");
	if ((*gw & mask) != net || *gw == net || *gw == (net | ~mask))
		return err__fail_class(err, EINVAL, "Invalid input for operation: Gateway IP %s is not a host "
				       "address of the subnet.", json_string_value(v));
	return 0;
}

static int check_dns(const json_t *body, json_t **out, struct st_err *err)
{
	json_t *v = json_object_get(body, "dns_nameservers");
	uint32_t ip;
	if (!v || json_is_null(v)) {
		*out = json_array();
		return 0;
	}
	size_t i;
	json_t *d;
	if (!json_is_array(v))
		return err__fail_class(err, EINVAL, "Invalid input for dns_nameservers: it is not a list");
	json_array_foreach(v, i, d)
		if (parse_ip(json_string_value(d), &ip) < 0)
			return err__fail_class(err, EINVAL, "Invalid input for dns_nameservers: not an IPv4 address");
	*out = json_incref(v);
	return 0;
}

struct overlap {
	const char *network_id, *cidr;
};

/* Two cidrs overlap when they agree on the shorter prefix. */
static bool cidrs_overlap(const char *a, const char *b)
{
	uint32_t na = 0, nb = 0, ma = 0, mb = 0;
	unsigned pa = 0, pb = 0;
	struct st_err ignored = {0};
	if (parse_cidr(a, &na, &ma, &pa, &ignored) < 0 || parse_cidr(b, &nb, &mb, &pb, &ignored) < 0)
		return false;
	uint32_t m = pa < pb ? ma : mb;
	return (na & m) == (nb & m);
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
	if (ipv && !(json_is_integer(ipv) && json_integer_value(ipv) == 4))
		return err__fail_class(err, EINVAL, "Invalid input for ip_version: only 4 is supported here");
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
	uint32_t base, mask, gw = 0;
	unsigned plen;
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
	if (parse_cidr(cidr, &base, &mask, &plen, err) < 0 || gateway_of(body, base, mask, &gw, &has_gw, err) < 0 ||
	    pools_of(body, base, mask, has_gw ? &gw : NULL, &pools, err) < 0 || check_dns(body, &dns, err) < 0)
		return -1;
	char id[37], now[32], at[24], gws[INET_ADDRSTRLEN];
	if (util__uuid4(id, err) < 0)
		return -1;
	long long t = (long long)time(NULL);
	network_db__isotime(t, now);
	snprintf(at, sizeof(at), "%lld", t);
	ip_text(gw, gws);
	const char *nm = json_is_string(name) ? json_string_value(name) : "";
	cleanup_json json_t *sub = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:O, s:b, s:O, s:[], s:n, s:n, s:n, s:n, s:[], s:[],"
		" s:i, s:s, s:s, s:b}",
		"id", id, "name", nm, "description", json_is_string(descr) ? json_string_value(descr) : "",
		"network_id", nid, "project_id", net_owner, "tenant_id", net_owner, "cidr", cidr, "ip_version", 4,
		"allocation_pools", pools, "enable_dhcp", dhcp, "dns_nameservers", dns, "host_routes",
		"subnetpool_id", "segment_id", "ipv6_address_mode", "ipv6_ra_mode", "service_types", "tags",
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
