/* libvirt network and storage pool XML: import gives the JSON a client
 * could have sent to POST /v1/networks or /v1/pools (which then validate
 * it); export turns what GET serves back into libvirt's form. What stratad
 * cannot keep is refused with one line naming it; what is dropped as
 * harmless is listed in docs/host.md. A network's <dhcp><host/> entries are
 * its "hosts" (DHCP host reservations, network_hosts.h). */
#ifndef STRATA_HOST_NETXML_H
#define STRATA_HOST_NETXML_H

#include <jansson.h>
#include <stddef.h>

#include "common/err.h"

int netxml__network_import(const char *xml, size_t len, json_t **out, struct st_err *err);
/* One <host mac= ip= [name=]/> of a network's <dhcp> (virsh net-update's
 * ip-dhcp-host section) as {"mac", "ip", "name"?}. */
int netxml__dhcp_host_import(const char *xml, size_t len, json_t **out, struct st_err *err);
/* info as GET /v1/networks/NAME serves it; a malloc'd document. */
char *netxml__network_export(const json_t *info);
int netxml__pool_import(const char *xml, size_t len, json_t **out, struct st_err *err);
char *netxml__pool_export(const json_t *info);

#endif
