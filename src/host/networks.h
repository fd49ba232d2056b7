/* Virtual networks: nat (a Linux bridge with an address, dnsmasq for
 * DHCP/DNS, nftables masquerade + forward rules in the network's own table),
 * routed (the same without masquerade), isolated (bridge + dnsmasq, no
 * forwarding) and bridge (an existing bridge, nothing set up). Helpers are
 * ip(8), nft(8) and dnsmasq(8). A network is active while its bridge
 * exists, so a restarted stratad finds active networks again. Also the
 * taps: one per guest NIC, created at domain start on the network's bridge
 * and removed when the run ends. */
#ifndef STRATA_HOST_NETWORKS_H
#define STRATA_HOST_NETWORKS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/host.h"

/* Network definitions as the API serves them (with "active", "autostart"). */
json_t *networks__list(struct host *h);
int networks__define(struct host *h, const json_t *in, json_t **out, struct st_err *err);
int networks__info(struct host *h, const char *name, json_t **out, struct st_err *err);
int networks__undefine(struct host *h, const char *name, struct st_err *err);
int networks__start(struct host *h, const char *name, json_t **out, struct st_err *err);
int networks__stop(struct host *h, const char *name, json_t **out, struct st_err *err);
int networks__leases(struct host *h, const char *name, json_t **out, struct st_err *err);
int networks__set_autostart(struct host *h, const char *name, bool on, json_t **out, struct st_err *err);

void networks__autostart(struct host *h);
/* The pid of the network's dnsmasq (its pid file's), 0 when none runs. */
pid_t networks__dnsmasq_pid(struct host *h, const char *name);
/* A domain's NICs with their tap (while it runs) and the address the
 * network's dnsmasq leased to their MAC, if any. */
json_t *networks__domain_addresses(struct host *h, const struct dom *d);
/* Creates the taps of a domain's NICs (a tap on the network's bridge, or a
 * macvtap on the host device for "direct") and opens each for the VMM:
 * fds[i] for NIC i. */
int networks__taps_create(struct host *h, const char *uuid, const json_t *nics, int *fds, struct st_err *err);
/* Closes fds (when given; the VMM keeps its copies) and removes the
 * devices that outlive their fds (macvtaps). */
void networks__taps_delete(const char *uuid, size_t count, int *fds);

#endif
