/* /v1/networks: virtual networks and their DHCP leases. */
#include "host/routes.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/json_util.h"
#include "host/network_hosts.h"
#include "host/networks.h"
#include "host/netxml.h"

static const char *net_arg(const struct http_request *r)
{
	return http_request__capture(r, "name");
}

static int net_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	http_reply__json(rp, 200, networks__list(routes__host(r)));
	return 0;
}

static int net_define(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (routes__body_def(r, netxml__network_import, &in, err) < 0)
		return -1;
	return routes__json(rp, 201, networks__define(routes__host(r), in, &out, err), &out);
}

static int net_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, networks__info(routes__host(r), net_arg(r), &out, err), &out);
}

/* The definition with its reservations, as <dhcp><host/> entries. */
static int net_xml(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *info = NULL, *hosts = NULL;
	int rc = networks__info(routes__host(r), net_arg(r), &info, err);
	if (rc == 0 && (rc = network_hosts__list(routes__host(r), net_arg(r), &hosts, err)) == 0)
		json_object_set_new(info, "hosts", hosts);
	return routes__xml(rp, rc, &info, netxml__network_export, err);
}

static int net_undefine(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	if (networks__undefine(routes__host(r), net_arg(r), err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "undefined", net_arg(r)));
	return 0;
}

static int net_start(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, networks__start(routes__host(r), net_arg(r), &out, err), &out);
}

static int net_stop(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, networks__stop(routes__host(r), net_arg(r), &out, err), &out);
}

static int net_leases(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, networks__leases(routes__host(r), net_arg(r), &out, err), &out);
}

static int net_autostart(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *exists = NULL; /* a missing network is a 404 before a bad body's 400 */
	json_t *out = NULL;
	bool on;
	if (networks__info(routes__host(r), net_arg(r), &exists, err) < 0 || routes__autostart_body(r, &on, err) < 0)
		return -1;
	return routes__json(rp, 200, networks__set_autostart(routes__host(r), net_arg(r), on, &out, err), &out);
}

static int net_hosts(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *out = NULL;
	return routes__json(rp, 200, network_hosts__list(routes__host(r), net_arg(r), &out, err), &out);
}

static int net_host_add(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	cleanup_json json_t *in = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	return routes__json(rp, 201, network_hosts__add(routes__host(r), net_arg(r), in, &out, err), &out);
}

static int net_host_delete(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	const char *mac = http_request__capture(r, "mac");
	if (network_hosts__delete(routes__host(r), net_arg(r), mac, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "deleted", mac));
	return 0;
}

/* virsh net-update's (virNetworkUpdate's) ip-dhcp-host section:
 * {"command": "add"|"add-first"|"add-last"|"delete", "section":
 * "ip-dhcp-host", "xml": "<host mac= ip= name=/>"}; a deletion matches the
 * MAC. Reservations are live and persistent at once (--live --config). */
static int net_update(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	static const char *const keys[] = {"command", "section", "xml", "flags", NULL};
	cleanup_json json_t *in = NULL, *host = NULL;
	json_t *out = NULL;
	if (http_request__body_json(r, &in, err) < 0)
		return -1;
	if (json_util__check_keys(in, "update", keys, err) < 0)
		return err__class(err, EINVAL, -1);
	const char *cmd = json_string_value(json_object_get(in, "command"));
	const char *section = json_string_value(json_object_get(in, "section"));
	const char *xml = json_string_value(json_object_get(in, "xml"));
	if (!section || strcmp(section, "ip-dhcp-host"))
		return err__fail_class(err, EINVAL, "section '%.40s' is not supported: only ip-dhcp-host",
				       section ? section : "");
	bool add = cmd && (!strcmp(cmd, "add") || !strcmp(cmd, "add-first") || !strcmp(cmd, "add-last"));
	if (!add && (!cmd || strcmp(cmd, "delete")))
		return err__fail_class(err, EINVAL, "command '%.20s' is not supported: add, add-first, add-last or "
				       "delete", cmd ? cmd : "");
	if (!xml)
		return err__fail_class(err, EINVAL, "\"xml\" (the <host mac= ip=/> element) is required");
	if (netxml__dhcp_host_import(xml, strlen(xml), &host, err) < 0)
		return err__class(err, EINVAL, -1);
	if (add)
		return routes__json(rp, 201, network_hosts__add(routes__host(r), net_arg(r), host, &out, err), &out);
	const char *mac = json_string_value(json_object_get(host, "mac"));
	if (network_hosts__delete(routes__host(r), net_arg(r), mac, err) < 0)
		return -1;
	http_reply__json(rp, 200, json_pack("{s:s}", "deleted", mac));
	return 0;
}

const struct http_route routes__table_networks[] = {
	{"GET", "/v1/networks", net_list, NULL, NULL},
	{"POST", "/v1/networks", net_define, NULL, NULL},
	{"GET", "/v1/networks/{name}", net_info, NULL, NULL},
	{"DELETE", "/v1/networks/{name}", net_undefine, NULL, NULL},
	{"GET", "/v1/networks/{name}/xml", net_xml, NULL, NULL},
	{"POST", "/v1/networks/{name}/start", net_start, NULL, NULL},
	{"POST", "/v1/networks/{name}/stop", net_stop, NULL, NULL},
	{"GET", "/v1/networks/{name}/leases", net_leases, NULL, NULL},
	{"PUT", "/v1/networks/{name}/autostart", net_autostart, NULL, NULL},
	{"GET", "/v1/networks/{name}/hosts", net_hosts, NULL, NULL},
	{"POST", "/v1/networks/{name}/hosts", net_host_add, NULL, NULL},
	{"DELETE", "/v1/networks/{name}/hosts/{mac}", net_host_delete, NULL, NULL},
	{"POST", "/v1/networks/{name}/update", net_update, NULL, NULL},
};
const size_t routes__nr_networks = sizeof(routes__table_networks) / sizeof(routes__table_networks[0]);
