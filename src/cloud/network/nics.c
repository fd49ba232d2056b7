/* Servers' NICs: what compute asks of the Networking service (network.h's
 * "for compute's servers" part). */
#include "cloud/network/network_db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json_util.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int port_of(struct db *db, const char *id, json_t **out, struct st_err *err)
{
	cleanup_json json_t *list = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_port WHERE id = ?", &id, 1, &list, err) < 0)
		return -1;
	if (!json_array_size(list))
		return err__fail_class(err, ENOENT, "Port id %.64s could not be found.", id);
	*out = json_incref(json_array_get(list, 0));
	return 0;
}

int network__check_nic(struct db *db, const struct network_caller *c, const struct network_nic_req *r,
		       struct st_err *err)
{
	cleanup_json json_t *net = NULL, *port = NULL;
	if (r->port_id) {
		if (port_of(db, r->port_id, &port, err) < 0)
			return -1;
		if (!c->admin && strcmp(str(port, "project_id"), c->project_id))
			return err__fail_class(err, ENOENT, "Port id %.64s could not be found.", r->port_id);
		if (*str(port, "device_id"))
			return err__fail_class(err, EEXIST, "Port %s is still in use.", r->port_id);
		return 0;
	}
	if (network_db__network(db, r->network_id, &net, err) < 0 || !network_db__sees(c, net))
		return err__fail_class(err, ENOENT, "Network %.64s could not be found.", r->network_id);
	return 0;
}

int network__attach(struct db *db, const struct network_caller *c, const char *device_id,
		    const struct network_nic_req *reqs, size_t n, struct st_err *err)
{
	for (size_t i = 0; i < n; i++) {
		json_t *port = NULL;
		int rc = reqs[i].port_id ? ports__bind(db, reqs[i].port_id, device_id, (int)i, err)
					 : ports__for_device(db, c, reqs[i].network_id, device_id, reqs[i].fixed_ip,
							     (int)i, &port, err);
		json_decref(port);
		if (rc < 0) {
			struct st_err ignored = {0};
			network__detach_all(db, device_id, &ignored);
			return -1;
		}
	}
	return 0;
}

/* The NIC's address for the host's DHCP reservation (dnsmasq serves IPv4). */
static json_t *first_ipv4(const json_t *fixed_ips)
{
	size_t i;
	json_t *f;
	json_array_foreach(fixed_ips, i, f)
		if (str(f, "ip_address") && strchr(str(f, "ip_address"), '.'))
			return f;
	return NULL;
}

int network__device_nics(struct db *db, const char *device_id, json_t **out, struct st_err *err)
{
	cleanup_json json_t *ports = NULL;
	if (network_db__bodies(db, "SELECT body FROM network_port WHERE device_id = ? ORDER BY nic_index,"
			       " created_at, id", &device_id, 1, &ports, err) < 0)
		return -1;
	json_t *list = json_array();
	size_t i;
	json_t *port;
	json_array_foreach(ports, i, port) {
		cleanup_json json_t *net = NULL, *subs = NULL;
		json_t *ip = first_ipv4(json_object_get(port, "fixed_ips"));
		const char *sid = str(ip, "subnet_id");
		if (network_db__network(db, str(port, "network_id"), &net, err) < 0 ||
		    (sid && network_db__bodies(db, "SELECT body FROM network_subnet WHERE id = ?", &sid, 1, &subs,
					       err) < 0)) {
			json_decref(list);
			return -1;
		}
		json_t *sub = json_array_get(subs, 0);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:b}", "port_id",
						      str(port, "id"), "network_id", str(port, "network_id"),
						      "network_name", str(net, "name"), "physical_network",
						      str(net, "provider:physical_network"), "mac_address",
						      str(port, "mac_address"), "ip_address", str(ip, "ip_address"),
						      "dhcp", sub && json_is_true(json_object_get(sub, "enable_dhcp"))));
	}
	*out = list;
	return 0;
}
