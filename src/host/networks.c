#include "host/networks.h"
#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "host/domdef.h"
#include "host/events.h"
#include "host/helper.h"
#include "host/network_hosts.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IFNAME_MAX 15

static json_t *net__find(struct host *h, const char *name, struct st_err *err)
{
	json_t *list = store__network_list(h->store);
	size_t i;
	json_t *n;
	json_array_foreach(list, i, n) {
		if (!strcmp(json_string_value(json_object_get(n, "name")), name)) {
			json_t *def = json_incref(json_object_get(n, "def"));
			json_object_set(def, "autostart", json_object_get(n, "autostart"));
			json_decref(list);
			return def;
		}
	}
	json_decref(list);
	err__fail_class(err, ENOENT, "no network named '%s'", name);
	return NULL;
}

static const char *s(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* if_nametoindex asks the kernel in our own network namespace (sysfs may
 * be mounted from another one). */
static bool link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

static bool net__active(const json_t *def)
{
	return link_exists(s(def, "bridge"));
}

static void net__paths(struct host *h, const char *name, char *pid, char *leases, size_t len)
{
	snprintf(pid, len, "%s/net-%s.pid", h->run_dir, name);
	snprintf(leases, len, "%s/net-%s.leases", h->run_dir, name);
}

static bool ifname_ok(const char *n)
{
	return n && domdef__name_ok(n) && strlen(n) <= IFNAME_MAX;
}

/* "a.b.c.d/len" -> address, prefix length and the network "x.y.z.0/len". */
static int parse_cidr(const char *cidr, char *addr, size_t alen, char *net, size_t nlen, struct st_err *err)
{
	char buf[64];
	unsigned plen;
	snprintf(buf, sizeof(buf), "%s", cidr ? cidr : "");
	char *slash = strchr(buf, '/');
	struct in_addr a;
	if (!slash || sscanf(slash + 1, "%u", &plen) != 1 || plen < 8 || plen > 30)
		return err__fail_class(err, EINVAL, "\"ip\" must be an IPv4 address with a prefix length 8-30, like 10.0.0.1/24");
	*slash = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return err__fail_class(err, EINVAL, "\"ip\": '%s' is not an IPv4 address", buf);
	snprintf(addr, alen, "%s", buf);
	struct in_addr n = {.s_addr = a.s_addr & htonl(~0u << (32 - plen))};
	char nb[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &n, nb, sizeof(nb));
	snprintf(net, nlen, "%s/%u", nb, plen);
	return 0;
}

static int net__check(const json_t *in, json_t **out, struct st_err *err)
{
	static const char *const keys[] = {"name", "mode", "bridge", "ip", "dhcp", "hosts", NULL};
	if (json_util__check_keys(in, "network", keys, err) < 0) {
		err->errnum = EINVAL;
		return -1;
	}
	const char *name = s(in, "name"), *mode = s(in, "mode"), *bridge = s(in, "bridge"), *ip = s(in, "ip");
	if (!name || !domdef__name_ok(name) || strlen(name) > 10)
		return err__fail_class(err, EINVAL, "network name must be 1-10 of A-Z a-z 0-9 _ . + -");
	if (!mode)
		mode = "nat";
	bool is_bridge = !strcmp(mode, "bridge");
	if (!is_bridge && strcmp(mode, "nat") && strcmp(mode, "routed") && strcmp(mode, "isolated"))
		return err__fail_class(err, EINVAL, "mode \"%s\" is not nat, routed, isolated or bridge", mode);
	char dflt[IFNAME_MAX + 1];
	snprintf(dflt, sizeof(dflt), "stbr-%s", name);
	if (bridge && !ifname_ok(bridge))
		return err__fail_class(err, EINVAL, "bridge \"%s\" is not a valid interface name", bridge);
	if (is_bridge && !bridge)
		return err__fail_class(err, EINVAL, "a bridge network names an existing \"bridge\"");
	json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "mode", mode, "bridge", bridge ? bridge : dflt);
	if (!is_bridge) {
		char addr[64], net[64];
		if (parse_cidr(ip, addr, sizeof(addr), net, sizeof(net), err) < 0) {
			json_decref(o);
			return -1;
		}
		json_object_set_new(o, "ip", json_string(ip));
		json_object_set_new(o, "subnet", json_string(net));
		json_t *dhcp = json_object_get(in, "dhcp");
		struct in_addr a, b;
		if (dhcp && (!json_is_object(dhcp) || json_object_size(dhcp) != 2 || !s(dhcp, "start") || !s(dhcp, "end") ||
			     inet_pton(AF_INET, s(dhcp, "start"), &a) != 1 || inet_pton(AF_INET, s(dhcp, "end"), &b) != 1)) {
			json_decref(o);
			return err__fail_class(err, EINVAL, "\"dhcp\" is {\"start\": IPv4, \"end\": IPv4}");
		}
		if (dhcp)
			json_object_set(o, "dhcp", dhcp);
	} else if (json_object_get(in, "ip") || json_object_get(in, "dhcp")) {
		json_decref(o);
		return err__fail_class(err, EINVAL, "a bridge network has no \"ip\" or \"dhcp\" of its own");
	}
	*out = o;
	return 0;
}

static json_t *net__describe(struct host *h, json_t *def)
{
	bool is_bridge = !strcmp(s(def, "mode"), "bridge");
	json_object_set_new(def, "active", json_boolean(net__active(def)));
	if (!is_bridge) {
		char pid[512], leases[512];
		net__paths(h, s(def, "name"), pid, leases, sizeof(pid));
		json_object_set_new(def, "dnsmasq_pidfile", json_string(pid));
	}
	return def;
}

json_t *networks__list(struct host *h)
{
	json_t *list = store__network_list(h->store), *res = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(list, i, n) {
		json_t *def = json_incref(json_object_get(n, "def"));
		json_object_set(def, "autostart", json_object_get(n, "autostart"));
		json_array_append_new(res, net__describe(h, def));
	}
	json_decref(list);
	return res;
}

int networks__define(struct host *h, const json_t *in, json_t **out, struct st_err *err)
{
	json_t *def = NULL;
	if (net__check(in, &def, err) < 0)
		return -1;
	json_t *existing = net__find(h, s(def, "name"), NULL);
	if (existing) {
		json_decref(existing);
		err__fail_class(err, EEXIST, "network '%s' already exists", s(def, "name"));
		json_decref(def);
		return -1;
	}
	/* the reservations (libvirt's <dhcp><host/>) live in the hostsfile */
	if (network_hosts__define(h, def, json_object_get(in, "hosts"), err) < 0) {
		json_decref(def);
		return -1;
	}
	if (store__network_insert(h->store, s(def, "name"), def, err) < 0) {
		char hosts[512];
		network_hosts__path(h, s(def, "name"), hosts, sizeof(hosts));
		unlink(hosts);
		json_decref(def);
		return -1;
	}
	events__emit("net-defined", "network", s(def, "name"), NULL, "created");
	*out = net__describe(h, def);
	return 0;
}

int networks__info(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	json_t *def = net__find(h, name, err);
	if (!def)
		return -1;
	*out = net__describe(h, def);
	return 0;
}

int networks__undefine(struct host *h, const char *name, struct st_err *err)
{
	json_t *def = net__find(h, name, err);
	if (!def)
		return -1;
	bool active = strcmp(s(def, "mode"), "bridge") && net__active(def);
	json_decref(def);
	if (active)
		return err__fail_class(err, EBUSY, "network '%s' is active: stop it first", name);
	if (store__network_delete(h->store, name, err) < 0)
		return -1;
	char hosts[512];
	network_hosts__path(h, name, hosts, sizeof(hosts));
	unlink(hosts);
	events__emit("net-undefined", "network", name, NULL, "deleted");
	return 0;
}

static int run(struct st_err *err, const char *const *argv)
{
	return helper__run(argv, NULL, err);
}

static int net__nft(struct host *h, const json_t *def, struct st_err *err)
{
	const char *mode = s(def, "mode"), *br = s(def, "bridge"), *subnet = s(def, "subnet");
	char path[512];
	snprintf(path, sizeof(path), "%s/net-%s.nft", h->run_dir, s(def, "name"));
	cleanup_fclose FILE *f = fopen(path, "we");
	if (!f)
		return err__fail_errno(err, "%s", path);
	fprintf(f, "table ip strata_%s {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n",
		s(def, "name"));
	if (!strcmp(mode, "isolated")) {
		fprintf(f, "    iifname \"%s\" drop\n    oifname \"%s\" drop\n", br, br);
	} else {
		fprintf(f, "    iifname \"%s\" ip saddr %s accept\n", br, subnet);
		if (!strcmp(mode, "nat"))
			fprintf(f, "    oifname \"%s\" ip daddr %s ct state established,related accept\n", br, subnet);
		else
			fprintf(f, "    oifname \"%s\" ip daddr %s accept\n", br, subnet);
		fprintf(f, "    iifname \"%s\" drop\n    oifname \"%s\" drop\n", br, br);
	}
	fprintf(f, "  }\n");
	if (!strcmp(mode, "nat"))
		fprintf(f, "  chain postrouting {\n    type nat hook postrouting priority 100; policy accept;\n"
			   "    ip saddr %s ip daddr != %s masquerade\n  }\n", subnet, subnet);
	fprintf(f, "}\n");
	fclose(cleanup__steal_ptr(f));
	const char *argv[] = {"nft", "-f", path, NULL};
	int rc = run(err, argv);
	unlink(path);
	return rc;
}

static int net__start(struct host *h, const json_t *def, struct st_err *err)
{
	const char *name = s(def, "name"), *br = s(def, "bridge");
	if (net__active(def))
		return err__fail_class(err, EBUSY, "network '%s' is already active", name);
	char addr[64], net[64];
	if (parse_cidr(s(def, "ip"), addr, sizeof(addr), net, sizeof(net), err) < 0)
		return -1;
	const char *add[] = {"ip", "link", "add", "name", br, "type", "bridge", NULL};
	const char *ipa[] = {"ip", "addr", "add", s(def, "ip"), "dev", br, NULL};
	const char *up[] = {"ip", "link", "set", br, "up", NULL};
	if (run(err, add) < 0)
		return err__prefix(err, "bridge %s", br);
	if (run(err, ipa) < 0 || run(err, up) < 0 || net__nft(h, def, err) < 0)
		goto undo;
	if (strcmp(s(def, "mode"), "isolated")) {
		FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "we");
		if (f) {
			fputs("1\n", f);
			fclose(f);
		}
	}
	char pidf[512], leases[512], pidarg[600], leasearg[600], iface[64], listen[96], range[128];
	char hosts[512], hostsarg[600];
	net__paths(h, name, pidf, leases, sizeof(pidf));
	network_hosts__path(h, name, hosts, sizeof(hosts));
	snprintf(pidarg, sizeof(pidarg), "--pid-file=%s", pidf);
	snprintf(leasearg, sizeof(leasearg), "--dhcp-leasefile=%s", leases);
	snprintf(hostsarg, sizeof(hostsarg), "--dhcp-hostsfile=%s", hosts);
	snprintf(iface, sizeof(iface), "--interface=%s", br);
	snprintf(listen, sizeof(listen), "--listen-address=%s", addr);
	json_t *dhcp = json_object_get(def, "dhcp");
	const char *dm[16] = {"dnsmasq", "--conf-file=/dev/null", "--strict-order", "--bind-interfaces",
			      "--except-interface=lo", iface, listen, pidarg, "--user=root", "--group=root"};
	int n = 10;
	/* Without a dynamic range dnsmasq still answers the reserved hosts
	 * (network_hosts.h): a static-only range over the subnet. */
	if (dhcp)
		snprintf(range, sizeof(range), "--dhcp-range=%s,%s", s(dhcp, "start"), s(dhcp, "end"));
	else
		snprintf(range, sizeof(range), "--dhcp-range=%.*s,static", (int)strcspn(net, "/"), net);
	dm[n++] = range;
	dm[n++] = leasearg;
	dm[n++] = hostsarg;
	if (dhcp)
		dm[n++] = "--dhcp-authoritative";
	dm[n] = NULL;
	if (run(err, dm) < 0) {
		err__prefix(err, "dnsmasq");
		goto undo;
	}
	events__emit("net-started", "network", name, NULL, "api");
	return 0;
undo:;
	const char *del[] = {"ip", "link", "del", br, NULL};
	run(NULL, del);
	char table[80];
	snprintf(table, sizeof(table), "strata_%s", name);
	const char *nftdel[] = {"nft", "delete", "table", "ip", table, NULL};
	run(NULL, nftdel);
	return -1;
}

pid_t networks__dnsmasq_pid(struct host *h, const char *name)
{
	char pidf[512], leases[512];
	net__paths(h, name, pidf, leases, sizeof(pidf));
	cleanup_free char *text = NULL;
	size_t len;
	if (util__read_file(pidf, 64, &text, &len, NULL) < 0)
		return 0;
	int pid = atoi(text);
	return pid > 0 ? pid : 0;
}

static int net__stop(struct host *h, const json_t *def, struct st_err *err)
{
	const char *name = s(def, "name"), *br = s(def, "bridge");
	if (!net__active(def))
		return err__fail_class(err, EBUSY, "network '%s' is not active", name);
	char pidf[512], leases[512], table[80];
	net__paths(h, name, pidf, leases, sizeof(pidf));
	pid_t pid = networks__dnsmasq_pid(h, name);
	if (pid > 0) {
		kill(pid, SIGTERM);
		for (int i = 0; i < 200 && kill(pid, 0) == 0; i++)
			usleep(10000);
	}
	unlink(pidf);
	unlink(leases);
	snprintf(table, sizeof(table), "strata_%s", name);
	const char *nftdel[] = {"nft", "delete", "table", "ip", table, NULL};
	const char *del[] = {"ip", "link", "del", br, NULL};
	struct st_err e1 = {0};
	if (run(&e1, nftdel) < 0)
		log__warn("network %s: %s", name, e1.msg);
	if (run(err, del) < 0)
		return err__prefix(err, "bridge %s", br);
	events__emit("net-stopped", "network", name, NULL, "api");
	return 0;
}

/* A running domain with a NIC on network name, or NULL. */
static struct dom *net__user(struct host *h, const char *name)
{
	for (struct dom *d = h->doms; d; d = d->next) {
		if (d->state == DOM_SHUTOFF)
			continue;
		size_t i;
		json_t *nic;
		json_array_foreach(json_object_get(d->def, "interfaces"), i, nic)
			if (!strcmp(s(nic, "type"), "network") && !strcmp(s(nic, "source"), name))
				return d;
	}
	return NULL;
}

static int net__action(struct host *h, const char *name, bool start, json_t **out, struct st_err *err)
{
	json_t *def = net__find(h, name, err);
	if (!def)
		return -1;
	int rc = 0;
	if (!strcmp(s(def, "mode"), "bridge"))
		rc = err__fail_class(err, EINVAL, "a bridge network uses an existing bridge: nothing to %s",
			     start ? "start" : "stop");
	else if (!start && net__user(h, name))
		rc = err__fail_class(err, EBUSY, "network '%s' is used by running domain '%s': stop it first", name,
				net__user(h, name)->name);
	else
		rc = start ? net__start(h, def, err) : net__stop(h, def, err);
	if (rc == 0)
		*out = net__describe(h, json_incref(def));
	json_decref(def);
	return rc;
}

int networks__start(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	return net__action(h, name, true, out, err);
}

int networks__stop(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	return net__action(h, name, false, out, err);
}

static void tap_name(const char *uuid, size_t idx, char *out, size_t len);

/* dnsmasq's lease file: "EXPIRY MAC IP HOSTNAME CLIENT-ID" per line. */
static json_t *net__leases(struct host *h, const char *name)
{
	char pidf[512], leases[512];
	net__paths(h, name, pidf, leases, sizeof(pidf));
	json_t *list = json_array();
	cleanup_fclose FILE *f = fopen(leases, "re");
	char line[512];
	while (f && fgets(line, sizeof(line), f)) {
		long long expiry;
		char mac[32], ip[64], host[128];
		if (sscanf(line, "%lld %31s %63s %127s", &expiry, mac, ip, host) == 4)
			json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "expiry", (json_int_t)expiry, "mac",
							      mac, "ip", ip, "hostname", host));
	}
	return list;
}

int networks__leases(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	json_t *def = net__find(h, name, err);
	if (!def)
		return -1;
	json_decref(def);
	*out = net__leases(h, name);
	return 0;
}

json_t *networks__domain_addresses(struct host *h, const struct dom *d)
{
	json_t *out = json_array();
	size_t i;
	json_t *nic;
	json_array_foreach(json_object_get(d->def, "interfaces"), i, nic) {
		char tap[IFNAME_MAX + 1];
		tap_name(d->uuid, i, tap, sizeof(tap));
		json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:n}", "type", s(nic, "type"), "source", s(nic, "source"),
				      "mac", s(nic, "mac"), "tap", d->state != DOM_SHUTOFF ? tap : NULL, "ip");
		/* addresses are known where stratad's dnsmasq hands them out */
		json_t *leases = !strcmp(s(nic, "type"), "network") ? net__leases(h, s(nic, "source")) : NULL;
		size_t k;
		json_t *l;
		json_array_foreach(leases, k, l)
			if (!strcasecmp(s(l, "mac"), s(nic, "mac")))
				json_object_set(o, "ip", json_object_get(l, "ip"));
		json_decref(leases);
		json_array_append_new(out, o);
	}
	return out;
}

int networks__set_autostart(struct host *h, const char *name, bool on, json_t **out, struct st_err *err)
{
	if (store__network_set_autostart(h->store, name, on, err) < 0)
		return -1;
	return networks__info(h, name, out, err);
}

void networks__autostart(struct host *h)
{
	json_t *list = store__network_list(h->store);
	size_t i;
	json_t *n;
	json_array_foreach(list, i, n) {
		json_t *def = json_object_get(n, "def");
		struct st_err err = {0};
		if (json_integer_value(json_object_get(n, "autostart")) && strcmp(s(def, "mode"), "bridge") &&
		    !net__active(def) && net__start(h, def, &err) < 0)
			log__warn("network %s: autostart failed: %s", s(def, "name"), err.msg);
	}
	json_decref(list);
}

static void tap_name(const char *uuid, size_t idx, char *out, size_t len)
{
	snprintf(out, len, "stt%.8s-%c", uuid, (char)('0' + idx % 10));
}

/* A tap on the bridge, opened for the VMM (IFF_VNET_HDR: strata-vm's
 * virtio-net wants the header). Not persistent: the tap ends with the last
 * fd, so a VMM that dies leaves no device behind. */
static int tap__open(const char *tap, const char *bridge, struct st_err *err)
{
	cleanup_close int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "/dev/net/tun");
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		return err__fail_errno(err, "tap %s", tap);
	const char *set[] = {"ip", "link", "set", tap, "master", bridge, "up", NULL};
	if (run(err, set) < 0)
		return -1;
	return cleanup__steal_fd(&fd);
}

/* A macvtap on the host device src with the NIC's MAC, opened through its
 * character device /dev/tapIFINDEX (devtmpfs creates it). */
static int macvtap__open(const char *tap, const char *src, const char *mac, struct st_err *err)
{
	const char *mv[] = {"ip", "link", "add", "link", src, "name", tap, "address", mac,
			    "type", "macvtap", "mode", "bridge", NULL};
	const char *up[] = {"ip", "link", "set", tap, "up", NULL};
	if (run(err, mv) < 0 || run(err, up) < 0)
		return -1;
	char dev[64];
	snprintf(dev, sizeof(dev), "/dev/tap%u", if_nametoindex(tap));
	int fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return err__fail_errno(err, "%s", dev);
	return fd;
}

int networks__taps_create(struct host *h, const char *uuid, const json_t *nics, int *fds, struct st_err *err)
{
	size_t i;
	json_t *nic;
	json_array_foreach(nics, i, nic) {
		const char *type = s(nic, "type"), *src = s(nic, "source");
		char tap[IFNAME_MAX + 1];
		tap_name(uuid, i, tap, sizeof(tap));
		const char *bridge = src;
		json_t *def = NULL;
		if (!strcmp(type, "network")) {
			def = net__find(h, src, err);
			if (!def || !net__active(def)) {
				if (def)
					err__fail_class(err, EINVAL, "network '%s' is not active", src);
				json_decref(def);
				networks__taps_delete(uuid, i, fds);
				return -1;
			}
			bridge = s(def, "bridge");
		}
		if (!link_exists(bridge)) {
			err__fail_class(err, EINVAL, "interface %zu: %s '%s' does not exist", i,
				   !strcmp(type, "direct") ? "host device" : "bridge", bridge);
			fds[i] = -1;
		} else if (!strcmp(type, "direct"))
			fds[i] = macvtap__open(tap, src, s(nic, "mac"), err);
		else
			fds[i] = tap__open(tap, bridge, err);
		json_decref(def);
		if (fds[i] < 0) {
			networks__taps_delete(uuid, i + 1, fds);
			return err && err->errnum == EINVAL ? -1 : err__prefix(err, "interface %zu (%s)", i, tap);
		}
	}
	return 0;
}

void networks__taps_delete(const char *uuid, size_t count, int *fds)
{
	for (size_t i = 0; i < count; i++) {
		if (fds && fds[i] >= 0)
			close(fds[i]);
		if (fds)
			fds[i] = -1;
		char tap[IFNAME_MAX + 1];
		tap_name(uuid, i, tap, sizeof(tap));
		if (!link_exists(tap))
			continue;
		const char *del[] = {"ip", "link", "del", tap, NULL};
		run(NULL, del);
	}
}
