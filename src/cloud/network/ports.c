/* Ports: a MAC (Neutron's fa:16:3e base unless given) and fixed IPs chosen
 * here, in one transaction that locks the network's subnets first, so two
 * ports never get one address (network_ip's primary key would refuse the
 * second anyway). Servers' NICs are ports made (or bound) for the server
 * and deleted (or unbound) with it. */
#include "cloud/network/network_db.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/network/ipaddr.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* What one port's transaction makes. */
struct alloc {
	const char *network_id, *device_id;
	json_t *port;          /* the view without fixed_ips; id and mac_address set */
	const json_t *want;    /* fixed_ips asked for, or NULL */
	const char *fixed_ip;  /* a server NIC's address asked for, or NULL */
	int nic_index, auto_delete;
};

static int cmp_addr(const void *a, const void *b)
{
	unsigned __int128 x = *(const unsigned __int128 *)a, y = *(const unsigned __int128 *)b;
	return x < y ? -1 : x > y;
}

static unsigned __int128 addr_of(const char *s)
{
	struct ipaddr a = {0};
	ipaddr__parse(s, &a);
	return a.v;
}

/* The subnet's addresses in use, sorted. */
static int used_ips(struct db *db, const char *subnet, unsigned __int128 **out, size_t *n, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT ip_address FROM network_ip WHERE subnet_id = ?", &subnet, 1, &rows, err) < 0)
		return -1;
	unsigned __int128 *v = calloc(rows->nrows + 1, sizeof(*v));
	if (!v)
		return err__fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < rows->nrows; i++)
		v[i] = addr_of(db_rows__get(rows, i, 0));
	qsort(v, rows->nrows, sizeof(*v), cmp_addr);
	*out = v;
	*n = rows->nrows;
	return 0;
}

static bool in_set(const unsigned __int128 *v, size_t n, unsigned __int128 ip)
{
	return bsearch(&ip, v, n, sizeof(*v), cmp_addr) != NULL;
}

static int subnet_version(const json_t *subnet)
{
	return (int)json_integer_value(json_object_get(subnet, "ip_version"));
}

/* The first free address of the subnet's pools (1), or none (0). */
static int first_free(struct db *db, const json_t *subnet, char out[INET6_ADDRSTRLEN], struct st_err *err)
{
	cleanup_free unsigned __int128 *used = NULL;
	size_t n;
	if (used_ips(db, str(subnet, "id"), &used, &n, err) < 0)
		return -1;
	const char *gws = str(subnet, "gateway_ip");
	unsigned __int128 gw = gws ? addr_of(gws) : 0;
	size_t i;
	json_t *pool;
	json_array_foreach(json_object_get(subnet, "allocation_pools"), i, pool) {
		unsigned __int128 a = addr_of(str(pool, "start")), b = addr_of(str(pool, "end"));
		/* at most n + 2 steps: every address skipped is held or the gateway */
		for (unsigned __int128 ip = a; ip <= b && ip >= a; ip++) {
			if (in_set(used, n, ip) || (gws && ip == gw))
				continue;
			struct ipaddr x = {subnet_version(subnet), ip};
			ipaddr__text(&x, out);
			return 1;
		}
	}
	return 0;
}

/* A given address: inside the subnet, not its gateway, not held. */
static int take_given(struct db *db, const json_t *subnet, const char *ip, struct st_err *err)
{
	if (!subnets__contains(subnet, ip))
		return err__fail_class(err, EINVAL, "IP address %.64s is not a valid IP for the specified subnet.", ip);
	if (str(subnet, "gateway_ip") && addr_of(str(subnet, "gateway_ip")) == addr_of(ip))
		return err__fail_class(err, EEXIST, "IP address %s is the gateway of subnet %s.", ip, str(subnet, "id"));
	cleanup_free unsigned __int128 *used = NULL;
	size_t n;
	if (used_ips(db, str(subnet, "id"), &used, &n, err) < 0)
		return -1;
	if (in_set(used, n, addr_of(ip)))
		return err__fail_class(err, EEXIST, "IP address %s already allocated in subnet %s", ip,
				       str(subnet, "id"));
	return 0;
}

/* An automatic-address (SLAAC) subnet's address for the port: its MAC's EUI-64. */
static int take_auto(struct db *db, const struct alloc *a, const json_t *subnet, json_t *ips, struct st_err *err)
{
	struct ipaddr net, ip;
	unsigned plen;
	char text[INET6_ADDRSTRLEN];
	if (ipaddr__cidr(str(subnet, "cidr"), &net, &plen, err) < 0)
		return -1;
	ipaddr__eui64(&net, str(a->port, "mac_address"), &ip);
	ipaddr__text(&ip, text);
	if (take_given(db, subnet, text, err) < 0)
		return -1;
	json_array_append_new(ips, json_pack("{s:s, s:s}", "subnet_id", str(subnet, "id"), "ip_address", text));
	return 0;
}

static const json_t *subnet_by_id(const json_t *subnets, const char *id)
{
	size_t i;
	json_t *s;
	json_array_foreach(subnets, i, s)
		if (id && !strcmp(str(s, "id"), id))
			return s;
	return NULL;
}

/* The fixed IPs asked for: an address, or the first free (the EUI-64 on an
 * automatic-address subnet) of a subnet. */
static int choose_wanted(struct db *db, struct alloc *a, const json_t *subnets, json_t *ips, struct st_err *err)
{
	char ip[INET6_ADDRSTRLEN];
	size_t i;
	json_t *w;
	json_array_foreach(a->want, i, w) {
		const char *sid = str(w, "subnet_id"), *want = str(w, "ip_address");
		const json_t *sub = sid ? subnet_by_id(subnets, sid) : NULL;
		for (size_t k = 0; !sub && !sid && want && k < json_array_size(subnets); k++)
			if (subnets__contains(json_array_get(subnets, k), want))
				sub = json_array_get(subnets, k);
		if (!sub)
			return err__fail_class(err, EINVAL, "Invalid input for operation: no subnet of network %s for "
					       "fixed IP %zu.", a->network_id, i);
		if (subnets__auto_address(sub) && want)
			return err__fail_class(err, EINVAL, "Invalid input for operation: IPv6 address %s can not be "
					       "directly assigned to a port on subnet %s since the subnet is configured for "
					       "automatic addresses", want, str(sub, "id"));
		if (subnets__auto_address(sub)) {
			if (take_auto(db, a, sub, ips, err) < 0)
				return -1;
			continue;
		}
		if (want && take_given(db, sub, want, err) < 0)
			return -1;
		int got = want ? 1 : first_free(db, sub, ip, err);
		if (got < 0)
			return -1;
		if (!got)
			return err__fail_class(err, ENOSPC, "No more IP addresses available on network %s.",
					       a->network_id);
		json_array_append_new(ips, json_pack("{s:s, s:s}", "subnet_id", str(sub, "id"), "ip_address",
						     want ? want : ip));
	}
	return 0;
}

/* The fixed IPs: those asked for, else as Neutron: one from the first
 * IPv4 subnet with room, one from the first stateful IPv6 subnet with
 * room, and the EUI-64 of every automatic-address subnet. */
static int choose_ips(struct db *db, struct alloc *a, const json_t *subnets, json_t *ips, struct st_err *err)
{
	char ip[INET6_ADDRSTRLEN];
	if (a->want)
		return choose_wanted(db, a, subnets, ips, err);
	bool had[2] = {false, false}, got[2] = {false, false};
	size_t i;
	json_t *sub;
	json_array_foreach(subnets, i, sub) {
		int v6 = subnet_version(sub) == 6;
		if (subnets__auto_address(sub)) {
			if (take_auto(db, a, sub, ips, err) < 0)
				return -1;
			continue;
		}
		had[v6] = true;
		if (got[v6])
			continue;
		int rc = first_free(db, sub, ip, err);
		if (rc < 0)
			return -1;
		if (rc) {
			got[v6] = true;
			json_array_append_new(ips, json_pack("{s:s, s:s}", "subnet_id", str(sub, "id"), "ip_address", ip));
		}
	}
	if ((had[0] && !got[0]) || (had[1] && !got[1]))
		return err__fail_class(err, ENOSPC, "No more IP addresses available on network %s.", a->network_id);
	return 0;
}

/* The network's subnets, locked: ports of one network choose addresses one at a time. */
static int locked_subnets(struct db *db, const char *network_id, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query_for_update(db, "SELECT body FROM network_subnet WHERE network_id = ? ORDER BY created_at, id",
				 &network_id, 1, &rows, err) < 0)
		return -1;
	*out = json_array();
	for (size_t i = 0; i < rows->nrows; i++)
		json_array_append_new(*out, json_loads(db_rows__get(rows, i, 0), 0, NULL));
	return 0;
}

static int insert_ips(struct db *db, const json_t *ips, const char *port_id, struct st_err *err)
{
	size_t i;
	json_t *f;
	json_array_foreach(ips, i, f) {
		const char *q[] = {str(f, "subnet_id"), str(f, "ip_address"), port_id};
		if (db__exec(db, "INSERT INTO network_ip (subnet_id, ip_address, port_id) VALUES (?, ?, ?)", q, 3,
			     err) < 0) {
			if (err->errnum == EEXIST)
				err__fail_class(err, EEXIST, "IP address %s already allocated in subnet %s", q[1], q[0]);
			return -1;
		}
	}
	return 0;
}

static int alloc_tx(struct db *db, void *arg, struct st_err *err)
{
	struct alloc *a = arg;
	cleanup_rows struct db_rows *macs = NULL;
	const char *mac = str(a->port, "mac_address");
	cleanup_json json_t *subnets = NULL;
	if (locked_subnets(db, a->network_id, &subnets, err) < 0 ||
	    db__query(db, "SELECT id FROM network_port WHERE mac_address = ?", &mac, 1, &macs, err) < 0)
		return -1;
	if (macs->nrows)
		return err__fail_class(err, EEXIST, "Unable to complete operation for network %s. The mac address "
				       "%s is in use.", a->network_id, mac);
	if (network_db__quota_claim(db, str(a->port, "project_id"), NETWORK_PORTS, err) < 0)
		return -1;
	json_t *ips = json_array();
	json_object_set_new(a->port, "fixed_ips", ips);
	if (choose_ips(db, a, subnets, ips, err) < 0)
		return -1;
	cleanup_free char *text = json_dumps(a->port, JSON_COMPACT);
	char shown[32], at[24], idx[16];
	network_db__now(shown, at);
	snprintf(idx, sizeof(idx), "%d", a->nic_index);
	const char *p[] = {str(a->port, "id"), a->network_id, str(a->port, "project_id"), a->device_id, idx,
			   a->auto_delete ? "1" : "0", mac, text, at};
	if (!text)
		return err__fail(err, ENOMEM, "out of memory");
	if (db__exec(db, "INSERT INTO network_port (id, network_id, project_id, device_id, nic_index, auto_delete,"
		     " mac_address, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", p, ST_ARRAY_SIZE(p), err) < 0)
		return -1;
	if (insert_ips(db, ips, str(a->port, "id"), err) < 0)
		return -1;
	return 0;
}

static void random_mac(char out[18])
{
	unsigned char r[3] = {0};
	RAND_bytes(r, sizeof(r));
	snprintf(out, 18, "fa:16:3e:%02x:%02x:%02x", r[0], r[1], r[2]);
}

/* The port's view before its addresses are chosen. */
static json_t *new_port(const char *id, const char *network_id, const char *project, const char *mac,
			const char *name, const char *device_id, const char *device_owner)
{
	char now[32];
	network_db__isotime((long long)time(NULL), now);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:[], s:[], s:[], s:b,"
			 " s:s, s:s, s:s, s:{}, s:{}, s:s, s:[], s:s, s:n, s:n, s:s, s:b, s:i, s:[], s:s, s:s}",
			 "id", id, "name", name, "description", "", "network_id", network_id, "project_id", project,
			 "tenant_id", project, "mac_address", mac, "device_id", device_id, "device_owner",
			 device_owner, "admin_state_up", true, "status", *device_id ? "ACTIVE" : "DOWN",
			 "allowed_address_pairs", "extra_dhcp_opts", "security_groups", "port_security_enabled",
			 true, "binding:host_id", "", "binding:vif_type", "unbound", "binding:vnic_type", "normal",
			 "binding:profile", "binding:vif_details", "dns_name", "", "dns_assignment", "dns_domain", "",
			 "qos_policy_id", "data_plane_status", "ip_allocation", "immediate",
			 "propagate_uplink_status", false, "revision_number", 1, "tags", "created_at", now,
			 "updated_at", now);
}

/* A port on a network the caller sees, in one transaction; *out its view. */
static int make_port(struct db *db, const struct network_caller *c, struct alloc *a, const char *project,
		     const char *mac, const char *name, const char *owner, json_t **out, struct st_err *err)
{
	cleanup_json json_t *net = NULL;
	if (network_db__network(db, a->network_id, &net, err) < 0)
		return -1;
	if (!network_db__sees(c, net))
		return err__fail_class(err, ENOENT, "Network %.64s could not be found.", a->network_id);
	char id[37], gen[18];
	if (util__uuid4(id, err) < 0)
		return -1;
	if (!mac)
		random_mac(gen);
	a->port = new_port(id, a->network_id, project, mac ? mac : gen, name, a->device_id, owner);
	if (!a->port)
		return err__fail(err, ENOMEM, "out of memory");
	if (db__tx(db, alloc_tx, a, err) < 0) {
		json_decref(a->port);
		return -1;
	}
	*out = a->port;
	return 0;
}

static int check_fixed(const json_t *fixed, struct st_err *err)
{
	if (fixed && !json_is_array(fixed))
		return err__fail_class(err, EINVAL, "Invalid input for fixed_ips: it is not a list");
	size_t i;
	json_t *f;
	json_array_foreach(fixed, i, f) {
		const char *ip = str(f, "ip_address");
		struct ipaddr a;
		if (!json_is_object(f) || (!ip && !str(f, "subnet_id")) || (ip && !ipaddr__parse(ip, &a)))
			return err__fail_class(err, EINVAL, "Invalid input for fixed_ips: each is {\"subnet_id\"} "
					       "and/or {\"ip_address\": IP}");
	}
	return 0;
}

int ports__create(struct db *db, const struct network_caller *c, const json_t *body, json_t **out,
		  struct st_err *err)
{
	static const char *const keys[] = {"name", "network_id", "description", "admin_state_up", "mac_address",
		"fixed_ips", "device_id", "device_owner", "project_id", "tenant_id", "security_groups",
		"port_security_enabled", "binding:host_id", "binding:vnic_type", "binding:profile", "dns_name",
		"allowed_address_pairs", "extra_dhcp_opts", NULL};
	if (json_util__check_keys(body, "port", keys, err) < 0)
		return err__fail_class(err, EINVAL, "Unrecognized attribute(s): %s", err->msg);
	const char *nid = str(body, "network_id"), *mac = str(body, "mac_address");
	const char *name = str(body, "name"), *dev = str(body, "device_id"), *owner = str(body, "device_owner");
	const char *p = str(body, "project_id") ? str(body, "project_id") : str(body, "tenant_id");
	json_t *fixed = json_object_get(body, "fixed_ips");
	if (!nid)
		return err__fail_class(err, EINVAL, "Invalid input for operation: 'network_id' is required");
	if (json_object_get(body, "mac_address") && !util__mac_unicast(mac))
		return err__fail_class(err, EINVAL, "Invalid input for mac_address. Reason: '%.32s' is not a valid "
				       "unicast MAC address.", mac ? mac : "");
	if (p && strcmp(p, c->project_id) && !c->admin)
		return err__fail_class(err, EPERM, "Specifying 'project_id' or 'tenant_id' other than the "
				       "authenticated project in request requires admin privileges");
	if (check_fixed(fixed, err) < 0)
		return -1;
	char lower[18] = "";
	for (size_t k = 0; mac && k < 18; k++)
		lower[k] = (char)tolower((unsigned char)mac[k]);
	struct alloc a = {.network_id = nid, .device_id = dev ? dev : "", .want = fixed};
	return make_port(db, c, &a, p ? p : c->project_id, mac ? lower : NULL, name ? name : "",
			 owner ? owner : "", out, err);
}

/* An update's transaction: the port's stored view replaced by port, its
 * addresses by those asked for (a->want) when it asks. */
static int update_tx(struct db *db, void *arg, struct st_err *err)
{
	struct alloc *a = arg;
	const char *id = str(a->port, "id");
	if (a->want) {
		cleanup_json json_t *subnets = NULL;
		if (locked_subnets(db, a->network_id, &subnets, err) < 0 ||
		    db__exec(db, "DELETE FROM network_ip WHERE port_id = ?", &id, 1, err) < 0)
			return -1;
		json_t *ips = json_array();
		json_object_set_new(a->port, "fixed_ips", ips);
		if (choose_ips(db, a, subnets, ips, err) < 0 || insert_ips(db, ips, id, err) < 0)
			return -1;
	}
	cleanup_free char *text = json_dumps(a->port, JSON_COMPACT);
	const char *p[] = {text, id};
	if (!text)
		return err__fail(err, ENOMEM, "out of memory");
	return db__exec(db, "UPDATE network_port SET body = ? WHERE id = ?", p, 2, err) < 0 ? -1 : 0;
}

static int string_field(const json_t *body, const char *key, json_t *port, struct st_err *err)
{
	json_t *v = json_object_get(body, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > 255)
		return err__fail_class(err, EINVAL, "Invalid input for %s. Reason: it is not a string of at most 255 "
				       "characters.", key);
	json_object_set(port, key, v);
	return 0;
}

/* Neutron's port update: name, description, admin_state_up and fixed_ips
 * (re-chosen as at create, old addresses freed); a server's port keeps
 * its addresses (its host holds them as DHCP reservations). */
int ports__update(struct db *db, const struct network_caller *c, const char *id, const json_t *body,
		  json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "description", "admin_state_up", "fixed_ips", NULL};
	static const char *const fixed[] = {"id", "network_id", "mac_address", "project_id", "tenant_id",
		"device_id", "device_owner", "status", "created_at", "updated_at", "revision_number", NULL};
	for (size_t i = 0; fixed[i]; i++)
		if (json_object_get(body, fixed[i]))
			return err__fail_class(err, EINVAL, "Cannot update read-only attribute %s", fixed[i]);
	if (json_util__check_keys(body, "port", keys, err) < 0)
		return err__fail_class(err, EINVAL, "Unrecognized attribute(s): %s", err->msg);
	cleanup_json json_t *list = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_port WHERE id = ?", &id, 1, &list, err) < 0)
		return -1;
	json_t *port = json_array_get(list, 0), *want = json_object_get(body, "fixed_ips");
	if (!port || (!c->admin && strcmp(str(port, "project_id"), c->project_id)))
		return err__fail_class(err, ENOENT, "Port %.64s could not be found.", id ? id : "");
	json_t *up = json_object_get(body, "admin_state_up");
	if (up && !json_is_boolean(up))
		return err__fail_class(err, EINVAL, "Invalid input for admin_state_up. Reason: it is not a boolean.");
	if (string_field(body, "name", port, err) < 0 || string_field(body, "description", port, err) < 0 ||
	    check_fixed(want, err) < 0)
		return -1;
	if (want && !strcmp(str(port, "device_owner"), "compute:nova"))
		return err__fail_class(err, EEXIST, "Port %s is a NIC of server %s: its fixed IPs are its host's DHCP "
				       "reservation and cannot change while it is attached.", id, str(port, "device_id"));
	if (up)
		json_object_set(port, "admin_state_up", up);
	char now[32];
	network_db__isotime((long long)time(NULL), now);
	json_object_set_new(port, "updated_at", json_string(now));
	json_object_set_new(port, "revision_number",
			    json_integer(json_integer_value(json_object_get(port, "revision_number")) + 1));
	struct alloc a = {.network_id = str(port, "network_id"), .port = port, .want = want};
	if (db__tx(db, update_tx, &a, err) < 0)
		return -1;
	*out = json_incref(port);
	return 0;
}

static int drop_port(struct db *db, const char *id, struct st_err *err)
{
	if (db__exec(db, "DELETE FROM network_ip WHERE port_id = ?", &id, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM network_port WHERE id = ?", &id, 1, err) < 0)
		return -1;
	return 0;
}

static int drop_tx(struct db *db, void *arg, struct st_err *err)
{
	return drop_port(db, arg, err);
}

int ports__delete(struct db *db, const struct network_caller *c, const char *id, struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_port WHERE id = ?", &id, 1, &list, err) < 0)
		return -1;
	const json_t *port = json_array_get(list, 0);
	const char *owner = str(port, "project_id");
	if (!port || (!c->admin && strcmp(owner, c->project_id)))
		return err__fail_class(err, ENOENT, "Port %.64s could not be found.", id ? id : "");
	return db__tx(db, drop_tx, (void *)id, err);
}

int ports__for_device(struct db *db, const struct network_caller *c, const char *network_id,
		      const char *device_id, const char *fixed_ip, int nic_index, json_t **out,
		      struct st_err *err)
{
	cleanup_json json_t *want = fixed_ip ? json_pack("[{s:s}]", "ip_address", fixed_ip) : NULL;
	struct alloc a = {.network_id = network_id, .device_id = device_id, .want = want,
			  .nic_index = nic_index, .auto_delete = 1};
	return make_port(db, c, &a, c->project_id, NULL, "", "compute:nova", out, err);
}

/* The port's stored view with device_id (and owner, status) set. */
static int set_device(struct db *db, const char *id, const char *device_id, int nic_index,
		      struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_port WHERE id = ?", &id, 1, &list, err) < 0)
		return -1;
	json_t *port = json_array_get(list, 0);
	if (!port)
		return err__fail_class(err, ENOENT, "Port %.64s could not be found.", id);
	char now[32], idx[16];
	network_db__isotime((long long)time(NULL), now);
	snprintf(idx, sizeof(idx), "%d", nic_index);
	json_object_set_new(port, "device_id", json_string(device_id));
	json_object_set_new(port, "device_owner", json_string(*device_id ? "compute:nova" : ""));
	json_object_set_new(port, "status", json_string(*device_id ? "ACTIVE" : "DOWN"));
	json_object_set_new(port, "updated_at", json_string(now));
	cleanup_free char *text = json_dumps(port, JSON_COMPACT);
	const char *p[] = {device_id, idx, text, id};
	return db__exec(db, "UPDATE network_port SET device_id = ?, nic_index = ?, body = ? WHERE id = ?", p, 4,
			err) < 0 ? -1 : 0;
}

int ports__bind(struct db *db, const char *port_id, const char *device_id, int nic_index, struct st_err *err)
{
	return set_device(db, port_id, device_id, nic_index, err);
}

struct release {
	const char *device_id;
};

static int release_tx(struct db *db, void *arg, struct st_err *err)
{
	struct release *r = arg;
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT id, auto_delete FROM network_port WHERE device_id = ?", &r->device_id, 1, &rows,
		      err) < 0)
		return -1;
	for (size_t i = 0; i < rows->nrows; i++) {
		const char *id = db_rows__get(rows, i, 0);
		int rc = !strcmp(db_rows__get(rows, i, 1), "1") ? drop_port(db, id, err) : set_device(db, id, "", 0, err);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int network__detach_all(struct db *db, const char *device_id, struct st_err *err)
{
	if (!device_id || !*device_id)
		return 0;
	struct release r = {device_id};
	return db__tx(db, release_tx, &r, err);
}
