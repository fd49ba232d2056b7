/* /v1/networks: virtual networks and their DHCP leases. */
#include "host/routes.h"

#include "common/json_util.h"
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

static int net_xml(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	json_t *info = NULL;
	return routes__xml(rp, networks__info(routes__host(r), net_arg(r), &info, err), &info, netxml__network_export,
			   err);
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
};
const size_t routes__nr_networks = sizeof(routes__table_networks) / sizeof(routes__table_networks[0]);
