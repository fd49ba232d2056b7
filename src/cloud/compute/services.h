/* Nova's os-services and os-hypervisors over the compute hosts (hosts.h):
 * each host is one "nova-compute" service and one hypervisor, with Nova's
 * ids (an integer before 2.53, a UUID from 2.53 on), the state (up while
 * its heartbeat is within the service down time, and not forced down) and
 * the resources its stratad reported, used as the claims say. JSON in and
 * out at the caller's microversion, as compute.h; admin only by Nova's
 * default policy. */
#ifndef STRATA_CLOUD_COMPUTE_SERVICES_H
#define STRATA_CLOUD_COMPUTE_SERVICES_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/hosts.h"
#include "cloud/db/db.h"

/* GET /os-services[?host=&binary=]: the services array. */
int services__list(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
		   const struct compute_query *q, json_t **out, struct st_err *err);
/* PUT /os-services/{id} (2.53): {"status", "disabled_reason", "forced_down"};
 * *out the service. */
int services__update(struct db *db, const struct hosts_config *cfg, const struct compute_caller *c,
		     const char *id, json_t *body, json_t **out, struct st_err *err);
/* PUT /os-services/{enable|disable|disable-log-reason|force-down} before
 * 2.53: {"host", "binary", ...}; *out what Nova answers for the action. */
int services__action(struct db *db, const struct compute_caller *c, const char *action,
		     json_t *body, json_t **out, struct st_err *err);
/* DELETE /os-services/{id}: the host leaves the cloud (and its aggregates);
 * 409 while instances are claimed on it. */
int services__delete(struct db *db, const struct compute_caller *c, const char *id,
		     struct st_err *err);

/* GET /os-hypervisors[/detail] (limit, marker from 2.33;
 * hypervisor_hostname_pattern from 2.53): the hypervisors array. */
int services__hypervisor_list(struct db *db, const struct hosts_config *cfg,
			      const struct compute_caller *c, const struct compute_query *q,
			      bool detail, json_t **out, struct st_err *err);
/* GET /os-hypervisors/{id}: the hypervisor's detail. */
int services__hypervisor_get(struct db *db, const struct hosts_config *cfg,
			     const struct compute_caller *c, const char *id, json_t **out,
			     struct st_err *err);
/* GET /os-hypervisors/{pattern}/search (before 2.53): the hypervisors
 * whose hostname holds pattern; ENOENT when none. */
int services__hypervisor_search(struct db *db, const struct hosts_config *cfg,
				const struct compute_caller *c, const char *pattern, json_t **out,
				struct st_err *err);
/* GET /os-hypervisors/statistics: the sums over every hypervisor. */
int services__hypervisor_statistics(struct db *db, const struct hosts_config *cfg,
				    const struct compute_caller *c, json_t **out,
				    struct st_err *err);

#endif
