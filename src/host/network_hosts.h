/* DHCP host reservations of a network (libvirt's <host mac ip name/>): the
 * network's dnsmasq gives a reserved MAC its fixed address. They live in
 * STATE/net-NAME.hostsfile in dnsmasq's dhcp-hostsfile format ("MAC,IP" or
 * "MAC,IP,NAME" a line), which dnsmasq is started with and re-reads on
 * SIGHUP, as libvirt does; the file is in the state directory, so the
 * reservations survive a restart of stratad or of the network. Called with
 * the host lock held (routes.h). */
#ifndef STRATA_HOST_NETWORK_HOSTS_H
#define STRATA_HOST_NETWORK_HOSTS_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"
#include "host/host.h"

/* Where network name's reservations are (dnsmasq's --dhcp-hostsfile). */
void network_hosts__path(const struct host *h, const char *name, char *out, size_t len);
/* [{"mac", "ip", "name"?}] of the network (ENOENT: no such network). */
int network_hosts__list(struct host *h, const char *name, json_t **out, struct st_err *err);
/* in {"mac", "ip", "name"?}: the IP inside the network's subnet, neither
 * its own address nor another reservation's; the MAC not reserved yet
 * (EEXIST). A running dnsmasq re-reads the file at once. */
int network_hosts__add(struct host *h, const char *name, const json_t *in, json_t **out,
		       struct st_err *err);
/* A network being defined (def as checked, not stored yet) starts with
 * hosts ([{"mac", "ip", "name"?}] or NULL), each checked as add does; its
 * file is written (nothing when there are none). */
int network_hosts__define(struct host *h, const json_t *def, const json_t *hosts, struct st_err *err);
/* Removes the reservation of mac (ENOENT when there is none). */
int network_hosts__delete(struct host *h, const char *name, const char *mac, struct st_err *err);

#endif
