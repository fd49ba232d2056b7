/* Compute hosts: each one a stratad that the cloud reaches only through its
 * HTTP API (docs/host.md), over TCP with a bearer token. An operator
 * registers a host (`strata-cloud host-add`, hosts__add); the poller
 * (host_poller.c) reads every host's GET /v1/host ("resources": vCPUs, RAM,
 * disk, CPU model and features, load) and records it with the time it was
 * last seen up: its heartbeat. A host is one Nova compute service
 * ("nova-compute" on it, os-services) and one hypervisor (os-hypervisors).
 *
 * What the servers side uses (stable):
 * - hosts__states(): every host as the scheduler's struct scheduler_host,
 *   made from the hosts table and the claims (compute_claim), ready for
 *   scheduler__select();
 * - hosts__endpoint() + hosts__target(): how to call a host's API;
 * - the table compute_claim (instance_uuid PRIMARY KEY, host, vcpus,
 *   memory_mb, disk_gb, created_at): one row per instance placed on a host,
 *   written by the servers side when it claims (inside its transaction) and
 *   deleted when the instance leaves the host; the states' used vCPUs, RAM
 *   and disk, num_instances and instance_uuids are these rows' sums. */
#ifndef STRATA_CLOUD_COMPUTE_HOSTS_H
#define STRATA_CLOUD_COMPUTE_HOSTS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_client.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/scheduler.h"

#define HOSTS_NAME_MAX 256
#define HOSTS_TOKEN_MAX 512
#define HOSTS_POLL_INTERVAL_DEFAULT 10   /* seconds: Nova's report_interval */
#define HOSTS_SERVICE_DOWN_DEFAULT 60    /* seconds: Nova's service_down_time */
#define HOSTS_CALL_TIMEOUT_MS 10000      /* one API call to a host */

/* serve's --host-poll-interval and --service-down-time. */
struct hosts_config {
	unsigned poll_interval_s;
	unsigned service_down_s; /* a host not seen up for longer is down */
};

/* How to reach one host's API. */
struct hosts_endpoint {
	char host[HOSTS_NAME_MAX];  /* the compute host's name (Nova's "host") */
	char tcp[HOSTS_NAME_MAX];   /* HOST:PORT of its stratad */
	char token[HOSTS_TOKEN_MAX];
};

/* Registers a host: name (1..255 of [A-Za-z0-9._-]), its stratad's URL
 * "http://HOST:PORT" and its API token. The host is asked for its
 * resources once first, so that a wrong URL or token fails here (with the
 * host's answer) and the host starts up. EEXIST when the name or the URL
 * is registered already. */
int hosts__add(struct db *db, const char *name, const char *url, const char *token,
	       struct st_err *err);

/* Whether a host is up: not forced down and seen up within service_down_s
 * of now (epoch seconds). */
bool hosts__is_up(const struct hosts_config *cfg, long long last_seen_up, bool forced_down,
		  long long now);

/* Nova's host_status (2.16) of every host: {"NAME": "UP"} while its
 * heartbeat is recent, "UNKNOWN" once it is not (the compute service
 * stopped reporting), "DOWN" when forced down, "MAINTENANCE" when disabled. */
int hosts__status_map(struct db *db, const struct hosts_config *cfg, json_t **out, struct st_err *err);

/* The host's API endpoint; ENOENT for an unknown host. */
int hosts__endpoint(struct db *db, const char *host, struct hosts_endpoint *out, struct st_err *err);
/* The endpoint as an http_client target (pointing into ep), with
 * HOSTS_CALL_TIMEOUT_MS. */
void hosts__target(const struct hosts_endpoint *ep, struct http_client_target *out);

/* Every registered host's state as the scheduler takes it (in the hosts
 * table's order by name). The array and everything it points to belong to
 * the struct: free it with hosts__states_free. */
struct hosts_states {
	struct scheduler_host *hosts;
	size_t n;
	struct hosts_states_mem *mem; /* what the hosts point into */
};
int hosts__states(struct db *db, const struct hosts_config *cfg, struct hosts_states *out,
		  struct st_err *err);
/* The same; without instance_uuids the hosts' instance_uuids are left
 * empty (num_instances and the used resources are there): the claims are
 * summed by the database, a row per host instead of one per instance. */
int hosts__states_opt(struct db *db, const struct hosts_config *cfg, bool instance_uuids,
		      struct hosts_states *out, struct st_err *err);
void hosts__states_free(struct hosts_states *s);

/* Asks one host for its resources (GET /v1/host) and records them with the
 * heartbeat, or records the failure (the host then goes down once
 * service_down_s passes). Returns < 0 when the host did not answer. */
int hosts__poll_one(struct db *db, const struct hosts_endpoint *ep, struct st_err *err);
/* hosts__poll_one for every host. */
void hosts__poll_all(struct db *db);

/* The poller thread: hosts__poll_all every poll_interval_s until
 * hosts__poller_stop. */
struct hosts_poller;
int hosts__poller_start(struct db *db, const struct hosts_config *cfg, struct hosts_poller **out,
			struct st_err *err);
void hosts__poller_stop(struct hosts_poller *p);

#endif
