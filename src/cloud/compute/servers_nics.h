/* Servers' NICs through the Networking service (cloud/network/network.h):
 * the create's networks checked, a port per NIC (its MAC and fixed IP
 * chosen by the cloud) made when the build starts, each shown in the
 * server's addresses, given to the host as a DHCP host reservation on the
 * stratad network the cloud network names and as the domain's NIC with
 * that MAC; the server's delete frees the ports. */
#ifndef STRATA_CLOUD_SERVERS_NICS_H
#define STRATA_CLOUD_SERVERS_NICS_H

#include <jansson.h>

#include "common/err.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/servers.h"
#include "cloud/compute/servers_hosts.h"

/* POST /servers' "networks" (absent, "none", "auto" or a list of {"uuid",
 * "port", "fixed_ip"}) as Nova checks them; the NICs to make go into
 * spec's "networks" ([{"uuid"} | {"port"}, "fixed_ip"?]). */
int servers_nics__check(struct db *db, const struct compute_caller *c, const json_t *server,
			long long max_count, json_t *spec, struct st_err *err);
/* The server's ports (its request_spec's networks), at the build's start. */
int servers_nics__attach(struct servers *s, const json_t *row, struct st_err *err);
/* row's "nics": network__device_nics of the server (what the host side reads). */
int servers_nics__load(struct servers *s, json_t *row, struct st_err *err);
/* The view's "addresses": {"NET": [{"addr", "version", "OS-EXT-IPS:type",
 * "OS-EXT-IPS-MAC:mac_addr"}]}. */
void servers_nics__addresses(struct servers *s, json_t *view);
/* The server is gone: its ports freed. */
void servers_nics__detach(struct servers *s, const char *uuid);

/* --- on the host --- */
/* The row's nics as reservations on the host's networks; *ifaces the
 * domain's "interfaces". On failure the reservations made are removed. */
int servers_nics__host_setup(const struct servers_host *h, const json_t *row, json_t **ifaces,
			     struct st_err *err);
/* Removes the row's reservations from the host (absent ones are fine). */
void servers_nics__host_clean(const struct servers_host *h, const json_t *row);

#endif
