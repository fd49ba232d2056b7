/* The Networking service (a minimal Neutron v2.0): provider networks, their
 * subnets and ports. There is no overlay and no agent: a network names the
 * stratad network (provider:physical_network, by default the network's own
 * name) that every host has, and strata-cloud itself chooses each port's
 * MAC and fixed IP, which hosts hand out as DHCP host reservations
 * (stratad's /v1/networks/N/hosts). JSON in and out as Neutron's API shows
 * it; errors carry the HTTP meaning in errnum (EINVAL 400, EPERM 403,
 * ENOENT 404, EEXIST 409, ENOSPC 409 "no more IP addresses").
 *
 * A port's IP is chosen in one transaction that locks the network's subnet
 * rows (SELECT ... FOR UPDATE on PostgreSQL, SQLite's serialized writers)
 * and whose (subnet, address) primary key refuses a second holder: two
 * ports never get one address, whatever other threads or cloud nodes do. */
#ifndef STRATA_CLOUD_NETWORK_H
#define STRATA_CLOUD_NETWORK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "cloud/db/db.h"

struct network_caller {
	bool admin;
	char user_id[65], project_id[65];
};

enum network_kind { NETWORK_NETWORKS, NETWORK_SUBNETS, NETWORK_PORTS };

/* A list's query: key=value pairs (repeated keys are alternatives, as in
 * Neutron); fields, paging and sorting keys are ignored. */
struct network_filter {
	size_t n;
	const char *const *keys, *const *values;
};

int network__migrate(struct db *db, struct st_err *err);

/* Neutron's collection names ("networks", ...) and member names ("network"). */
const char *network__collection(enum network_kind k);
const char *network__member(enum network_kind k);

/* GET /v2.0/{networks,subnets,ports}: what the caller may see, filtered. */
int network__list(struct db *db, const struct network_caller *c, enum network_kind k,
		  const struct network_filter *f, json_t **out, struct st_err *err);
int network__show(struct db *db, const struct network_caller *c, enum network_kind k,
		  const char *id, json_t **out, struct st_err *err);
/* POST: body is the member object ({"name", ...}). */
int network__create(struct db *db, const struct network_caller *c, enum network_kind k,
		    const json_t *body, json_t **out, struct st_err *err);
/* PUT: ports only (name, description, admin_state_up, fixed_ips). */
int network__update(struct db *db, const struct network_caller *c, enum network_kind k, const char *id,
		    const json_t *body, json_t **out, struct st_err *err);
int network__delete(struct db *db, const struct network_caller *c, enum network_kind k,
		    const char *id, struct st_err *err);

/* Neutron's quotas of a project: {"network": N, ...} (-1 unlimited), or
 * with details {"network": {"limit", "used", "reserved"}, ...}. Only an
 * admin sees another project's and updates (body {"network": N, ...}, or
 * NULL: back to the defaults). A create over quota fails EDQUOT. */
int network__quota_show(struct db *db, const struct network_caller *c, const char *project, bool details,
			json_t **out, struct st_err *err);
int network__quota_update(struct db *db, const struct network_caller *c, const char *project, const json_t *body,
			  json_t **out, struct st_err *err);

/* --- for compute's servers --- */
/* A NIC of a device (a server): its port, network and address. */
struct network_nic_req {
	const char *network_id; /* a new port on this network, or */
	const char *port_id;    /* this existing port, unbound until now */
	const char *fixed_ip;   /* the address asked for (new ports), or NULL */
};
/* Checks a NIC request as the caller: the network visible, the port the
 * caller's and unbound. */
int network__check_nic(struct db *db, const struct network_caller *c,
		       const struct network_nic_req *r, struct st_err *err);
/* The device's NICs: a new port (device_owner compute:nova) or the bound
 * existing one per request, in order. On failure what was made is undone. */
int network__attach(struct db *db, const struct network_caller *c, const char *device_id,
		    const struct network_nic_req *reqs, size_t n, struct st_err *err);
/* [{"port_id", "network_id", "network_name", "physical_network",
 * "mac_address", "ip_address" (first IPv4, or null), "dhcp" (its subnet's
 * enable_dhcp)}] in NIC order. */
int network__device_nics(struct db *db, const char *device_id, json_t **out, struct st_err *err);
/* The device is gone: the ports made for it are deleted, bound existing
 * ones unbound. */
int network__detach_all(struct db *db, const char *device_id, struct st_err *err);

#endif
