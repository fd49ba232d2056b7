/* Registering compute hosts, reaching them, and recording what they report. */
#include "cloud/compute/hosts.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/json_util.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"

bool hosts__is_up(const struct hosts_config *cfg, long long last_seen_up, bool forced_down,
		  long long now)
{
	unsigned down = cfg && cfg->service_down_s ? cfg->service_down_s : HOSTS_SERVICE_DOWN_DEFAULT;
	return !forced_down && last_seen_up > 0 && now - last_seen_up <= (long long)down;
}

int hosts__status_map(struct db *db, const struct hosts_config *cfg, json_t **out, struct st_err *err)
{
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT host, disabled, forced_down, last_seen_up FROM compute_host", NULL, 0, &rows,
		      err) < 0)
		return -1;
	long long now = (long long)time(NULL);
	json_t *map = json_object();
	for (size_t i = 0; i < rows->nrows; i++) {
		const char *seen = db_rows__get(rows, i, 3);
		bool up = hosts__is_up(cfg, seen ? strtoll(seen, NULL, 10) : 0, false, now);
		/* Nova's get_instance_host_status: forced down, then disabled, then the heartbeat */
		const char *st = atoi(db_rows__get(rows, i, 2)) ? "DOWN"
			       : atoi(db_rows__get(rows, i, 1)) ? "MAINTENANCE"
			       : up ? "UP" : "UNKNOWN";
		json_object_set_new(map, db_rows__get(rows, i, 0), json_string(st));
	}
	*out = map;
	return 0;
}

void hosts__target(const struct hosts_endpoint *ep, struct http_client_target *out)
{
	*out = (struct http_client_target){.tcp = ep->tcp, .token = ep->token, .server = ep->host,
					   .timeout_ms = HOSTS_CALL_TIMEOUT_MS};
}

int hosts__endpoint(struct db *db, const char *host, struct hosts_endpoint *out, struct st_err *err)
{
	const char *p[] = {host};
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT api_tcp, token FROM compute_host WHERE host = ?", p, 1, &rows, err) < 0)
		return -1;
	if (!rows->nrows)
		return err__fail_class(err, ENOENT, "Compute host %s could not be found.", host);
	snprintf(out->host, sizeof(out->host), "%s", host);
	snprintf(out->tcp, sizeof(out->tcp), "%s", db_rows__get(rows, 0, 0));
	snprintf(out->token, sizeof(out->token), "%s", db_rows__get(rows, 0, 1));
	return 0;
}

static int check_name(const char *name, struct st_err *err)
{
	size_t n = strlen(name);
	if (!n || n > 255)
		return err__fail_class(err, EINVAL, "host name must be 1 to 255 characters");
	for (const char *c = name; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
			return err__fail_class(err, EINVAL, "host name '%s': only letters, digits, '.', '_' and '-'",
					       name);
	return 0;
}

/* "http://HOST:PORT[/]" into HOST:PORT and HOST. */
static int parse_url(const char *url, char *tcp, size_t tsize, char *ip, size_t isize,
		     struct st_err *err)
{
	if (!strncmp(url, "https://", 8))
		return err__fail_class(err, EINVAL, "%s: https:// to hosts is not supported yet (the cloud's "
				       "host client speaks plain HTTP: a stratad listening on loopback)", url);
	if (strncmp(url, "http://", 7))
		return err__fail_class(err, EINVAL, "%s: the host's URL must be http://HOST:PORT", url);
	const char *hp = url + 7;
	size_t len = strcspn(hp, "/");
	if (hp[len] && strcmp(hp + len, "/"))
		return err__fail_class(err, EINVAL, "%s: the host's URL must be http://HOST:PORT (no path)", url);
	const char *colon = memrchr(hp, ':', len);
	if (!colon || colon == hp || colon + 1 == hp + len || len >= tsize)
		return err__fail_class(err, EINVAL, "%s: the host's URL needs HOST:PORT", url);
	for (const char *d = colon + 1; d < hp + len; d++)
		if (!isdigit((unsigned char)*d))
			return err__fail_class(err, EINVAL, "%s: the port must be a number", url);
	snprintf(tcp, tsize, "%.*s", (int)len, hp);
	const char *h = hp;
	size_t hl = (size_t)(colon - hp);
	if (*h == '[' && hl >= 2 && h[hl - 1] == ']')
		h++, hl -= 2;
	snprintf(ip, isize, "%.*s", (int)hl, h);
	return 0;
}

/* Nova's integer version of "MAJOR.MINOR.PATCH": 6002000 is 6.2.0. */
static long long version_number(const char *v)
{
	unsigned a = 0, b = 0, c = 0;
	if (!v || sscanf(v, "%u.%u.%u", &a, &b, &c) < 1)
		return 0;
	return (long long)a * 1000000 + (long long)b * 1000 + c;
}

/* GET /v1/host: its reply, which must hold "resources". */
static int ask_host(const struct hosts_endpoint *ep, json_t **out, struct st_err *err)
{
	struct http_client_target t;
	hosts__target(ep, &t);
	if (http_client__json(&t, "GET", "/v1/host", NULL, out, err) < 0)
		return err__prefix(err, "host %s (%s)", ep->host, ep->tcp);
	if (!json_is_object(json_object_get(*out, "resources"))) {
		json_decref(*out);
		*out = NULL;
		return err__fail_class(err, EPROTO, "host %s (%s): its stratad reports no resources "
				       "(GET /v1/host); it is older than this cloud", ep->host, ep->tcp);
	}
	return 0;
}

static void int_text(json_t *o, const char *key, char out[24])
{
	snprintf(out, 24, "%lld", (long long)json_integer_value(json_object_get(o, key)));
}

/* The host's report into its row, with the heartbeat now. */
static int record(struct db *db, const char *host, json_t *info, long long now, struct st_err *err)
{
	json_t *r = json_object_get(info, "resources");
	char vcpus[24], mem[24], mem_avail[24], disk[24], disk_avail[24], load[32], version[24], t[24];
	int_text(r, "vcpus", vcpus);
	int_text(r, "memory_mb", mem);
	int_text(r, "memory_available_mb", mem_avail);
	int_text(r, "disk_gb", disk);
	int_text(r, "disk_available_gb", disk_avail);
	json_t *l = json_object_get(r, "load_1m");
	snprintf(load, sizeof(load), "%.4f", json_is_number(l) ? json_number_value(l) : -1.0);
	snprintf(version, sizeof(version), "%lld",
		 version_number(json_string_value(json_object_get(info, "version"))));
	snprintf(t, sizeof(t), "%lld", now);
	json_t *ci = json_object_get(r, "cpu_info");
	cleanup_free char *cpu = ci ? json_dumps(ci, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	const char *p[] = {vcpus, mem, mem_avail, disk, disk_avail, cpu, load, version, t, t, host};
	return db__exec(db, "UPDATE compute_host SET vcpus = ?, memory_mb = ?, memory_available_mb = ?,"
			" local_gb = ?, disk_available_gb = ?, cpu_info = ?, load_1m = ?,"
			" hypervisor_version = ?, last_seen_up = ?, updated_at = ?, last_error = NULL"
			" WHERE host = ?", p, 11, err);
}

int hosts__add(struct db *db, const char *name, const char *url, const char *token,
	       struct st_err *err)
{
	struct hosts_endpoint ep = {0};
	char ip[HOSTS_NAME_MAX];
	if (check_name(name, err) < 0 ||
	    parse_url(url, ep.tcp, sizeof(ep.tcp), ip, sizeof(ip), err) < 0)
		return -1;
	if (!token || !*token || strlen(token) >= sizeof(ep.token))
		return err__fail_class(err, EINVAL, "the host's API token must be 1 to %zu characters",
				       sizeof(ep.token) - 1);
	snprintf(ep.host, sizeof(ep.host), "%s", name);
	snprintf(ep.token, sizeof(ep.token), "%s", token);
	cleanup_json json_t *info = NULL;
	if (ask_host(&ep, &info, err) < 0)
		return -1;
	char id[24], suuid[37], huuid[37], now[24];
	long long t = (long long)time(NULL);
	snprintf(now, sizeof(now), "%lld", t);
	if (db__begin(db, err) < 0)
		return -1;
	const char *p[] = {id, name, suuid, huuid, ep.tcp, token, ip, now};
	int rc = compute_db__next_id(db, "compute_host", "id", id, err);
	if (rc == 0)
		rc = util__uuid4(suuid, err);
	if (rc == 0)
		rc = util__uuid4(huuid, err);
	/* db__exec answers the rows it changed: 1 here */
	if (rc == 0)
		rc = db__exec(db, "INSERT INTO compute_host (id, host, service_uuid, hypervisor_uuid,"
			      " api_tcp, token, host_ip, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", p, 8, err);
	if (rc >= 0)
		rc = record(db, name, info, t, err);
	if (rc < 0) {
		db__rollback(db);
		if (err->errnum == EEXIST)
			return err__fail_class(err, EEXIST, "a host named %s or at %s is registered already",
					       name, ep.tcp);
		return -1;
	}
	return db__commit(db, err);
}

int hosts__poll_one(struct db *db, const struct hosts_endpoint *ep, struct st_err *err)
{
	cleanup_json json_t *info = NULL;
	if (ask_host(ep, &info, err) == 0)
		return record(db, ep->host, info, (long long)time(NULL), err);
	struct st_err ignored = {0};
	const char *p[] = {err->msg, ep->host};
	db__exec(db, "UPDATE compute_host SET last_error = ? WHERE host = ?", p, 2, &ignored);
	return -1;
}

void hosts__poll_all(struct db *db)
{
	struct st_err err = {0};
	cleanup_rows struct db_rows *rows = NULL;
	if (db__query(db, "SELECT host, api_tcp, token FROM compute_host ORDER BY host", NULL, 0, &rows,
		      &err) < 0)
		return;
	for (size_t i = 0; i < rows->nrows; i++) {
		struct hosts_endpoint ep;
		snprintf(ep.host, sizeof(ep.host), "%s", db_rows__get(rows, i, 0));
		snprintf(ep.tcp, sizeof(ep.tcp), "%s", db_rows__get(rows, i, 1));
		snprintf(ep.token, sizeof(ep.token), "%s", db_rows__get(rows, i, 2));
		err = (struct st_err){0};
		hosts__poll_one(db, &ep, &err);
	}
}
