/* IPv4 and IPv6 addresses of the Networking service as one number (an
 * IPv4 address in the low 32 bits), so that subnets, pools and fixed IPs
 * of either version are computed alike. */
#ifndef STRATA_CLOUD_IPADDR_H
#define STRATA_CLOUD_IPADDR_H

#include <arpa/inet.h>
#include <stdbool.h>

#include "common/err.h"

struct ipaddr {
	int version; /* 4 or 6 */
	unsigned __int128 v;
};

/* s as an address of either version; false when it is none. */
bool ipaddr__parse(const char *s, struct ipaddr *out);
void ipaddr__text(const struct ipaddr *a, char out[INET6_ADDRSTRLEN]);
/* The prefix mask of plen bits of a version's width. */
unsigned __int128 ipaddr__mask(int version, unsigned plen);
/* "addr/len" with no host bits set; prefix lengths 8-30 (IPv4) and
 * 48-126 (IPv6). Neutron's 400 messages. */
int ipaddr__cidr(const char *cidr, struct ipaddr *net, unsigned *plen, struct st_err *err);
/* The modified EUI-64 address of mac in a /64 (SLAAC's). */
void ipaddr__eui64(const struct ipaddr *prefix, const char *mac, struct ipaddr *out);

#endif
