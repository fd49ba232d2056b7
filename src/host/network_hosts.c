#include "host/network_hosts.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/log.h"
#include "common/util.h"
#include "host/events.h"
#include "host/networks.h"

#define HOSTS_MAX 4096 /* reservations per network */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

void network_hosts__path(const struct host *h, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/net-%s.hostsfile", h->state_dir, name);
}

static bool hostname_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > 63 || n[0] == '-' || n[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)n[i]) && n[i] != '-')
			return false;
	return true;
}

/* The file's lines as [{"mac", "ip", "name"?}]; no file is no reservations. */
static json_t *read_hosts(const struct host *h, const char *name)
{
	char path[512], line[256];
	network_hosts__path(h, name, path, sizeof(path));
	json_t *list = json_array();
	cleanup_fclose FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		char *save = NULL, *mac = strtok_r(line, ",", &save), *ip = strtok_r(NULL, ",", &save);
		char *host = strtok_r(NULL, ",", &save);
		if (mac && ip)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s*}", "mac", mac, "ip", ip, "name", host));
	}
	return list;
}

/* Written whole to a temporary file and renamed over: dnsmasq (or a
 * crash) never sees half a file. */
static int write_hosts(const struct host *h, const char *name, const json_t *list, struct st_err *err)
{
	char path[512], tmp[520];
	network_hosts__path(h, name, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cleanup_fclose FILE *f = fopen(tmp, "we");
	if (!f)
		return err__fail_errno(err, "%s", tmp);
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		fprintf(f, "%s,%s", str(r, "mac"), str(r, "ip"));
		if (str(r, "name"))
			fprintf(f, ",%s", str(r, "name"));
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		unlink(tmp);
		return err__fail_errno(err, "%s", tmp);
	}
	fclose(cleanup__steal_ptr(f));
	if (rename(tmp, path) < 0) {
		unlink(tmp);
		return err__fail_errno(err, "%s", path);
	}
	return 0;
}

/* dnsmasq re-reads its dhcp-hostsfile on SIGHUP. */
static void reload(struct host *h, const char *name)
{
	pid_t pid = networks__dnsmasq_pid(h, name);
	if (pid > 0 && kill(pid, SIGHUP) < 0)
		log__warn("network %s: SIGHUP to dnsmasq %d: %s", name, (int)pid, strerror(errno));
}

/* The network's definition, refused when no dnsmasq of ours serves it. */
static json_t *dhcp_network(struct host *h, const char *name, struct st_err *err)
{
	json_t *def = NULL;
	if (networks__info(h, name, &def, err) < 0)
		return NULL;
	if (!str(def, "subnet")) {
		json_decref(def);
		err__fail_class(err, EINVAL, "network '%s' uses an existing bridge: no DHCP server of "
				"stratad's serves it", name);
		return NULL;
	}
	return def;
}

int network_hosts__list(struct host *h, const char *name, json_t **out, struct st_err *err)
{
	json_t *def = NULL;
	if (networks__info(h, name, &def, err) < 0)
		return -1;
	json_decref(def);
	*out = read_hosts(h, name);
	return 0;
}

/* ip inside the def's subnet ("x.y.z.0/len"), not its network, broadcast or
 * own address. */
static int check_ip(const json_t *def, const char *ip, struct st_err *err)
{
	char net[64];
	unsigned plen = 0;
	struct in_addr a, n, own;
	snprintf(net, sizeof(net), "%s", str(def, "subnet"));
	char *slash = strchr(net, '/');
	if (!ip || inet_pton(AF_INET, ip, &a) != 1)
		return err__fail_class(err, EINVAL, "\"ip\" must be an IPv4 address");
	if (!slash)
		return err__fail_class(err, EINVAL, "network has no subnet");
	*slash = 0;
	plen = (unsigned)atoi(slash + 1);
	inet_pton(AF_INET, net, &n);
	char addr[64];
	snprintf(addr, sizeof(addr), "%s", str(def, "ip"));
	addr[strcspn(addr, "/")] = 0;
	inet_pton(AF_INET, addr, &own);
	uint32_t mask = plen ? htonl(~0u << (32 - plen)) : 0;
	if ((a.s_addr & mask) != n.s_addr || a.s_addr == n.s_addr || (a.s_addr | mask) == 0xffffffffu)
		return err__fail_class(err, EINVAL, "\"ip\" %s is not a host address of the network's subnet %s",
					ip, str(def, "subnet"));
	if (a.s_addr == own.s_addr)
		return err__fail_class(err, EINVAL, "\"ip\" %s is the network's own address", ip);
	return 0;
}

/* in as a new reservation of list's network def: *rec its stored form. */
static int check_host(const json_t *def, const json_t *list, const json_t *in, json_t **rec, struct st_err *err)
{
	static const char *const keys[] = {"mac", "ip", "name", NULL};
	const char *name = str(def, "name");
	if (json_util__check_keys(in, "host", keys, err) < 0) {
		err->errnum = EINVAL;
		return -1;
	}
	const char *mac = str(in, "mac"), *ip = str(in, "ip"), *host = str(in, "name");
	if (!util__mac_unicast(mac))
		return err__fail_class(err, EINVAL, "\"mac\" must be a unicast MAC address like 52:54:00:12:34:56");
	if (json_object_get(in, "name") && (!host || !hostname_ok(host)))
		return err__fail_class(err, EINVAL, "\"name\" must be a host name: 1-63 of A-Z a-z 0-9 -");
	if (check_ip(def, ip, err) < 0)
		return -1;
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		if (!strcasecmp(str(r, "mac"), mac))
			return err__fail_class(err, EEXIST, "MAC %s already has a reservation on network '%s' (%s)",
					       mac, name, str(r, "ip"));
		if (!strcmp(str(r, "ip"), ip))
			return err__fail_class(err, EEXIST, "%s is already reserved on network '%s' for %s", ip,
					       name, str(r, "mac"));
	}
	if (json_array_size(list) >= HOSTS_MAX)
		return err__fail_class(err, ENOSPC, "network '%s' has %d reservations already", name, HOSTS_MAX);
	char lower[18];
	for (i = 0; i < 18; i++)
		lower[i] = (char)tolower((unsigned char)mac[i]);
	*rec = json_pack("{s:s, s:s, s:s*}", "mac", lower, "ip", ip, "name", host);
	return 0;
}

int network_hosts__add(struct host *h, const char *name, const json_t *in, json_t **out,
		       struct st_err *err)
{
	cleanup_json json_t *def = dhcp_network(h, name, err);
	json_t *rec = NULL;
	if (!def)
		return -1;
	cleanup_json json_t *list = read_hosts(h, name);
	if (check_host(def, list, in, &rec, err) < 0)
		return -1;
	json_array_append(list, rec);
	if (write_hosts(h, name, list, err) < 0) {
		json_decref(rec);
		return -1;
	}
	reload(h, name);
	events__emit("net-updated", "network", name, NULL, "dhcp-host-added");
	*out = rec;
	return 0;
}

int network_hosts__define(struct host *h, const json_t *def, const json_t *hosts, struct st_err *err)
{
	if (hosts && !json_is_array(hosts))
		return err__fail_class(err, EINVAL, "\"hosts\" is a list of {\"mac\", \"ip\", \"name\"?}");
	if (!json_array_size(hosts)) {
		char path[512]; /* a file left by an earlier network of the name is not this one's */
		network_hosts__path(h, str(def, "name"), path, sizeof(path));
		unlink(path);
		return 0;
	}
	if (!str(def, "subnet"))
		return err__fail_class(err, EINVAL, "network '%s' uses an existing bridge: it has no DHCP server "
				       "for \"hosts\"", str(def, "name"));
	cleanup_json json_t *list = json_array();
	size_t i;
	json_t *in;
	json_array_foreach(hosts, i, in) {
		json_t *rec = NULL;
		if (!json_is_object(in))
			return err__fail_class(err, EINVAL, "\"hosts\" is a list of {\"mac\", \"ip\", \"name\"?}");
		if (check_host(def, list, in, &rec, err) < 0) /* a duplicate inside one definition is a bad one */
			return err__class(err, err->errnum == EEXIST ? EINVAL : err->errnum, -1);
		json_array_append_new(list, rec);
	}
	return write_hosts(h, str(def, "name"), list, err);
}

int network_hosts__delete(struct host *h, const char *name, const char *mac, struct st_err *err)
{
	json_t *def = NULL;
	if (networks__info(h, name, &def, err) < 0)
		return -1;
	json_decref(def);
	cleanup_json json_t *list = read_hosts(h, name);
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		if (strcasecmp(str(r, "mac"), mac ? mac : ""))
			continue;
		json_array_remove(list, i);
		if (write_hosts(h, name, list, err) < 0)
			return -1;
		reload(h, name);
		events__emit("net-updated", "network", name, NULL, "dhcp-host-deleted");
		return 0;
	}
	return err__fail_class(err, ENOENT, "no reservation for MAC %s on network '%s'", mac ? mac : "", name);
}
