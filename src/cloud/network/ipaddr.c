#include "cloud/network/ipaddr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ipaddr__parse(const char *s, struct ipaddr *out)
{
	unsigned char b[16];
	if (!s)
		return false;
	if (inet_pton(AF_INET, s, b) == 1) {
		out->version = 4;
		out->v = ((unsigned __int128)b[0] << 24) | ((unsigned __int128)b[1] << 16) |
			 ((unsigned __int128)b[2] << 8) | b[3];
		return true;
	}
	if (inet_pton(AF_INET6, s, b) != 1)
		return false;
	out->version = 6;
	out->v = 0;
	for (int i = 0; i < 16; i++)
		out->v = (out->v << 8) | b[i];
	return true;
}

void ipaddr__text(const struct ipaddr *a, char out[INET6_ADDRSTRLEN])
{
	unsigned char b[16];
	int n = a->version == 4 ? 4 : 16;
	for (int i = 0; i < n; i++)
		b[i] = (unsigned char)(a->v >> (8 * (n - 1 - i)));
	inet_ntop(a->version == 4 ? AF_INET : AF_INET6, b, out, INET6_ADDRSTRLEN);
}

unsigned __int128 ipaddr__mask(int version, unsigned plen)
{
	unsigned bits = version == 4 ? 32 : 128;
	unsigned __int128 all = bits == 128 ? ~(unsigned __int128)0 : (((unsigned __int128)1 << bits) - 1);
	if (!plen)
		return 0;
	return all & ~((((unsigned __int128)1) << (bits - plen)) - 1);
}

int ipaddr__cidr(const char *cidr, struct ipaddr *net, unsigned *plen, struct st_err *err)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", cidr ? cidr : "");
	char *slash = strchr(buf, '/'), *end = NULL;
	if (!slash)
		return err__fail_class(err, EINVAL, "Invalid input for cidr. Reason: '%.64s' is not a valid IP "
				       "subnet.", buf);
	*slash = 0;
	unsigned long l = strtoul(slash + 1, &end, 10);
	bool v6 = strchr(buf, ':') != NULL;
	unsigned lo = v6 ? 48 : 8, hi = v6 ? 126 : 30;
	if (!ipaddr__parse(buf, net) || net->version != (v6 ? 6 : 4) || !*(slash + 1) || *end || l < lo || l > hi)
		return err__fail_class(err, EINVAL, "Invalid input for cidr. Reason: '%.64s' is not a valid IPv%d "
				       "subnet with a prefix length of %u to %u.", cidr ? cidr : "", v6 ? 6 : 4, lo, hi);
	*plen = (unsigned)l;
	if (net->v & ~ipaddr__mask(net->version, *plen))
		return err__fail_class(err, EINVAL, "Invalid input for cidr: '%.64s' has host bits set", cidr);
	return 0;
}

void ipaddr__eui64(const struct ipaddr *prefix, const char *mac, struct ipaddr *out)
{
	unsigned m[6] = {0};
	sscanf(mac ? mac : "", "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]);
	unsigned char id[8] = {(unsigned char)(m[0] ^ 2), (unsigned char)m[1], (unsigned char)m[2], 0xff, 0xfe,
			       (unsigned char)m[3], (unsigned char)m[4], (unsigned char)m[5]};
	unsigned __int128 iid = 0;
	for (int i = 0; i < 8; i++)
		iid = (iid << 8) | id[i];
	out->version = 6;
	out->v = (prefix->v & ipaddr__mask(6, 64)) | iid;
}
