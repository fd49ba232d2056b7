/* The Networking service's tables (schema.c) and what its logic shares:
 * ids, times, the stored views, the visibility rules. */
#ifndef STRATA_CLOUD_NETWORK_DB_H
#define STRATA_CLOUD_NETWORK_DB_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/network/network.h"

extern const struct db_migration network_db__migrations[];
extern const size_t network_db__nr_migrations;

/* Neutron's time stamps: 2026-12-07T10:00:00Z */
void network_db__isotime(long long t, char out[32]);

/* Now: Neutron's time stamp, and the created_at column's key (microseconds:
 * rows made in one second still list, and give addresses, in creation order). */
void network_db__now(char iso[32], char order[24]);

/* The bodies (parsed) of sql's rows, whose first column is the body. */
int network_db__bodies(struct db *db, const char *sql, const char *const *p, size_t np,
		       json_t **out, struct st_err *err);
/* One network's stored body (no visibility check); ENOENT NetworkNotFound. */
int network_db__network(struct db *db, const char *id, json_t **out, struct st_err *err);
/* Whether the caller sees the network (admin, owner, or shared). */
bool network_db__sees(const struct network_caller *c, const json_t *net);


/* Inside a create's transaction: the project may make one more of k
 * (EDQUOT "Quota exceeded for resources: ['network']." when not). */
int network_db__quota_claim(struct db *db, const char *project, enum network_kind k, struct st_err *err);

/* One resource's INSERT (sql with np params p) in a transaction (db__tx's
 * fn, arg a struct insert) after the project's quota claim and check(). */
struct insert {
	enum network_kind kind;
	const char *project, *sql;
	const char *p[8];
	size_t np;
	int (*check)(struct db *db, void *arg, struct st_err *err);
	void *check_arg;
};
int network_db__insert_tx(struct db *db, void *arg, struct st_err *err);

/* The ports' side (ports.c) of network.h's create and delete. */
int ports__create(struct db *db, const struct network_caller *c, const json_t *body, json_t **out,
		  struct st_err *err);
int ports__update(struct db *db, const struct network_caller *c, const char *id, const json_t *body,
		  json_t **out, struct st_err *err);
int ports__delete(struct db *db, const struct network_caller *c, const char *id, struct st_err *err);
/* A server's new NIC port (device_owner compute:nova, deleted with it). */
int ports__for_device(struct db *db, const struct network_caller *c, const char *network_id,
		      const char *device_id, const char *fixed_ip, int nic_index, json_t **out,
		      struct st_err *err);
/* An existing port bound to device_id ("" unbinds). */
int ports__bind(struct db *db, const char *port_id, const char *device_id, int nic_index, struct st_err *err);
/* Subnets (subnets.c). */
int subnets__create(struct db *db, const struct network_caller *c, const json_t *body, json_t **out,
		    struct st_err *err);
/* Whether an address string is a host address of the subnet's cidr. */
bool subnets__contains(const json_t *subnet, const char *ip);
/* Whether the subnet gives ports automatic (EUI-64) addresses: IPv6 slaac
 * or dhcpv6-stateless. */
bool subnets__auto_address(const json_t *subnet);

#endif
