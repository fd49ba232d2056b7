#include "cloud/compute/servers_nics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/http_client.h"
#include "common/json_util.h"
#include "common/log.h"
#include "cloud/network/network.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int bad(struct st_err *err, const char *fmt, const char *arg)
{
	return err__fail_class(err, EINVAL, fmt, arg);
}

static struct network_caller caller_of(const struct compute_caller *c)
{
	struct network_caller nc = {.admin = c->admin};
	snprintf(nc.user_id, sizeof(nc.user_id), "%s", c->user_id);
	snprintf(nc.project_id, sizeof(nc.project_id), "%s", c->project_id);
	return nc;
}

/* Nova's allocation without networks asked for (before 2.37, and "auto"):
 * the one network the project may use, none, or ambiguous (409). */
static int only_network(struct db *db, const struct network_caller *nc, json_t *nics, bool required,
			struct st_err *err)
{
	cleanup_json json_t *nets = NULL;
	struct network_filter none = {0};
	if (network__list(db, nc, NETWORK_NETWORKS, &none, &nets, err) < 0)
		return -1;
	if (json_array_size(nets) > 1)
		return err__fail_class(err, EEXIST, "Multiple possible networks found, use a Network ID to be "
				       "more specific.");
	if (!json_array_size(nets))
		return required ? bad(err, "Unable to automatically allocate a network for project %s",
				      nc->project_id) : 0;
	json_array_append_new(nics, json_pack("{s:O}", "uuid", json_object_get(json_array_get(nets, 0), "id")));
	return 0;
}

static int check_one(struct db *db, const struct network_caller *nc, const json_t *net, long long max_count,
		     json_t *nics, struct st_err *err)
{
	const char *uuid = str(net, "uuid"), *port = str(net, "port"), *ip = str(net, "fixed_ip");
	struct in_addr a;
	if (!json_is_object(net) || (!uuid && !port))
		return bad(err, "%s", "Bad networks format: network uuid is not in proper format");
	if (json_object_get(net, "fixed_ip") && (!ip || inet_pton(AF_INET, ip, &a) != 1))
		return bad(err, "Invalid input for field/attribute fixed_ip. Value: %.64s. It is not a valid IPv4 "
			   "address", ip ? ip : "");
	if (port && max_count > 1)
		return bad(err, "%s", "Unable to launch multiple instances with a single configured port ID. "
			   "Please launch your instance one by one with different ports.");
	struct network_nic_req r = {.network_id = port ? NULL : uuid, .port_id = port, .fixed_ip = ip};
	if (network__check_nic(db, nc, &r, err) < 0) {
		if (err->errnum == ENOENT && !port)
			return bad(err, "Network %.64s could not be found.", uuid);
		if (err->errnum == ENOENT)
			return bad(err, "Port id %.64s could not be found.", port);
		if (err->errnum == EEXIST && port)
			return err__fail_class(err, EEXIST, "Port %.64s is still in use.", port);
		return -1;
	}
	json_t *nic = port ? json_pack("{s:s}", "port", port) : json_pack("{s:s}", "uuid", uuid);
	if (ip)
		json_object_set_new(nic, "fixed_ip", json_string(ip));
	json_array_append_new(nics, nic);
	return 0;
}

int servers_nics__check(struct db *db, const struct compute_caller *c, const json_t *server,
			long long max_count, json_t *spec, struct st_err *err)
{
	json_t *nets = json_object_get(server, "networks");
	struct network_caller nc = caller_of(c);
	cleanup_json json_t *nics = json_array();
	int rc = 0;
	if (!nets && c->mv >= 37)
		return bad(err, "%s", "Invalid input for field/attribute server. 'networks' is a required property");
	if (!nets)
		rc = only_network(db, &nc, nics, false, err);
	else if (json_is_string(nets) && c->mv >= 37 && !strcmp(json_string_value(nets), "none"))
		rc = 0;
	else if (json_is_string(nets) && c->mv >= 37 && !strcmp(json_string_value(nets), "auto"))
		rc = only_network(db, &nc, nics, true, err);
	else if (!json_is_array(nets))
		return bad(err, "%s", "Invalid input for field/attribute networks. It is not of type 'array'");
	size_t i;
	json_t *net;
	json_array_foreach(json_is_array(nets) ? nets : NULL, i, net)
		if (check_one(db, &nc, net, max_count, nics, err) < 0)
			return -1;
	if (rc < 0)
		return -1;
	json_object_set(spec, "networks", nics);
	return 0;
}

int servers_nics__attach(struct servers *s, const json_t *row, struct st_err *err)
{
	const json_t *nics = json_object_get(json_object_get(row, "request_spec"), "networks");
	size_t n = json_array_size(nics);
	if (!n)
		return 0;
	struct network_nic_req *reqs = calloc(n, sizeof(*reqs));
	if (!reqs)
		return err__fail(err, ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *nic = json_array_get(nics, i);
		reqs[i] = (struct network_nic_req){str(nic, "uuid"), str(nic, "port"), str(nic, "fixed_ip")};
	}
	/* checked as the caller at create; the ports are the server's project's */
	struct network_caller nc = {.admin = true};
	snprintf(nc.project_id, sizeof(nc.project_id), "%s", str(row, "project_id"));
	snprintf(nc.user_id, sizeof(nc.user_id), "%s", str(row, "user_id") ? str(row, "user_id") : "");
	int rc = network__attach(s->db, &nc, str(row, "uuid"), reqs, n, err);
	free(reqs);
	return rc;
}

int servers_nics__load(struct servers *s, json_t *row, struct st_err *err)
{
	json_t *nics;
	if (network__device_nics(s->db, str(row, "uuid"), &nics, err) < 0)
		return -1;
	json_object_set_new(row, "nics", nics);
	return 0;
}

void servers_nics__addresses(struct servers *s, json_t *view)
{
	struct st_err err = {0};
	cleanup_json json_t *nics = NULL;
	json_t *addrs = json_object();
	json_object_set_new(view, "addresses", addrs);
	if (network__device_nics(s->db, str(view, "id"), &nics, &err) < 0) {
		log__warn("server %s: its addresses: %s", str(view, "id"), err.msg);
		return;
	}
	size_t i;
	json_t *nic;
	json_array_foreach(nics, i, nic) {
		const char *net = str(nic, "network_name");
		json_t *list = json_object_get(addrs, net);
		if (!list) {
			list = json_array();
			json_object_set_new(addrs, net, list);
		}
		if (str(nic, "ip_address"))
			json_array_append_new(list, json_pack("{s:s, s:i, s:s, s:s}", "addr", str(nic, "ip_address"),
							      "version", 4, "OS-EXT-IPS:type", "fixed",
							      "OS-EXT-IPS-MAC:mac_addr", str(nic, "mac_address")));
	}
}

void servers_nics__detach(struct servers *s, const char *uuid)
{
	struct st_err err = {0};
	if (network__detach_all(s->db, uuid, &err) < 0)
		log__error("server %s: freeing its ports: %s", uuid, err.msg);
}

/* --- on the host --- */

static int reservation(const struct servers_host *h, const char *method, const json_t *nic, struct st_err *err)
{
	struct http_client_target t;
	char api[256];
	hosts__target(&h->ep, &t);
	bool add = !strcmp(method, "POST");
	snprintf(api, sizeof(api), "/v1/networks/%s/hosts%s%s", str(nic, "physical_network"), add ? "" : "/",
		 add ? "" : str(nic, "mac_address"));
	cleanup_json json_t *body = add ? json_pack("{s:s, s:s}", "mac", str(nic, "mac_address"), "ip",
						    str(nic, "ip_address")) : NULL;
	cleanup_json json_t *out = NULL;
	return http_client__json(&t, method, api, body, &out, err);
}

static bool reserved(const json_t *nic)
{
	return str(nic, "ip_address") && json_is_true(json_object_get(nic, "dhcp"));
}

void servers_nics__host_clean(const struct servers_host *h, const json_t *row)
{
	size_t i;
	json_t *nic;
	json_array_foreach(json_object_get(row, "nics"), i, nic) {
		struct st_err err = {0};
		int rc = reserved(nic) ? reservation(h, "DELETE", nic, &err) : 0;
		if (rc < 0 && rc != -404) /* 404: not there (any more) */
			log__warn("server %s: host %s: removing the reservation of %s: %s", str(row, "uuid"),
				  h->name, str(nic, "mac_address"), err.msg);
	}
}

int servers_nics__host_setup(const struct servers_host *h, const json_t *row, json_t **ifaces,
			     struct st_err *err)
{
	json_t *list = json_array();
	size_t i;
	json_t *nic;
	json_array_foreach(json_object_get(row, "nics"), i, nic) {
		if (reserved(nic) && reservation(h, "POST", nic, err) < 0) {
			json_decref(list);
			servers_nics__host_clean(h, row);
			return err__prefix(err, "DHCP reservation of %s on network %s", str(nic, "mac_address"),
					   str(nic, "physical_network"));
		}
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "type", "network", "source",
						      str(nic, "physical_network"), "mac", str(nic, "mac_address"),
						      "model", "virtio"));
	}
	*ifaces = list;
	return 0;
}
