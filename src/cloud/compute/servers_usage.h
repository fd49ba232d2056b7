/* Nova's os-simple-tenant-usage: what each project's servers used between
 * start and end (vCPU, RAM and disk hours), as Horizon's usage page and
 * `openstack usage list|show` read it. A server counts from its launch
 * (one never launched, e.g. a build that failed, used nothing) to its
 * deletion or the period's end. Errors as servers.h. */
#ifndef STRATA_CLOUD_SERVERS_USAGE_H
#define STRATA_CLOUD_SERVERS_USAGE_H

#include <jansson.h>

#include "common/err.h"
#include "cloud/compute/servers.h"

/* GET /os-simple-tenant-usage (tenant NULL: every project's, admins only;
 * q's start, end, detailed, limit and marker from 2.40) -> {"tenant_usages":
 * [...]}; GET /os-simple-tenant-usage/{tenant} -> {"tenant_usage": {...}}. */
int servers_usage__get(struct servers *s, const struct compute_caller *c, const char *tenant,
		       const struct compute_query *q, json_t **out, struct st_err *err);

#endif
