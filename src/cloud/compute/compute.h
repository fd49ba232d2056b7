/* The compute service's logic (Nova v2.1 without servers yet): flavors with
 * extra specs and access lists, keypairs, host aggregates and availability
 * zones, server groups, quotas and limits. JSON in and JSON out, shaped as
 * Nova shows them at the caller's microversion, without "links" (the HTTP
 * handlers, routes_compute.h, know the URL). Every operation checks the
 * caller against Nova's policy rules first (compute_policy.h).
 * Errors carry the HTTP meaning in errnum: EINVAL 400, EACCES 401, EPERM
 * 403, ENOENT 404, EEXIST 409; messages are Nova's. */
#ifndef STRATA_CLOUD_COMPUTE_H
#define STRATA_CLOUD_COMPUTE_H

#include <jansson.h>
#include <stdbool.h>

#include "common/err.h"
#include "cloud/db/db.h"

/* The microversions served: 2.COMPUTE_MV_MIN to 2.COMPUTE_MV_MAX. */
#define COMPUTE_MV_MIN 1
#define COMPUTE_MV_MAX 60

#define COMPUTE_DEFAULT_AZ "nova"

struct policy;

/* Who asks, and at which microversion (2.mv). */
struct compute_caller {
	char project_id[65];
	char user_id[65];
	bool admin, member, reader; /* roles in the token's scope (admin > member > reader) */
	int mv;
	/* What compute_policy__check asks: the daemon's policy and the
	 * caller's oslo.policy credentials (identity__credentials), both
	 * borrowed for the request. */
	const struct policy *policy;
	json_t *creds;
};

/* A request's query parameter (NULL when absent). */
typedef const char *(*compute_query_fn)(void *ctx, const char *key);
struct compute_query {
	compute_query_fn get;
	void *ctx;
};

/* The compute tables (component "compute" in schema_version). */
int compute__migrate(struct db *db, struct st_err *err);

/* --- flavors (flavors.c) --- */
/* POST /flavors: body {"flavor": {...}}; *out the flavor. */
int compute__flavor_create(struct db *db, const struct compute_caller *c, json_t *body,
			   json_t **out, struct st_err *err);
/* GET /flavors[/detail]: is_public, minRam, minDisk, sort_key, sort_dir,
 * limit, marker; *out an array (id, name, [description] unless detail). */
int compute__flavor_list(struct db *db, const struct compute_caller *c,
			 const struct compute_query *q, bool detail, json_t **out,
			 struct st_err *err);
int compute__flavor_get(struct db *db, const struct compute_caller *c, const char *id,
			json_t **out, struct st_err *err);
/* PUT /flavors/{id} (2.55): {"flavor": {"description"}}. */
int compute__flavor_update(struct db *db, const struct compute_caller *c, const char *id,
			   json_t *body, json_t **out, struct st_err *err);
int compute__flavor_delete(struct db *db, const struct compute_caller *c, const char *id,
			   struct st_err *err);

/* --- extra specs and access (flavor_specs.c) --- */
/* key NULL: {"extra_specs": {...}}; else {key: value}. */
int compute__extra_specs_get(struct db *db, const struct compute_caller *c, const char *flavor,
			     const char *key, json_t **out, struct st_err *err);
/* POST os-extra_specs ({"extra_specs": {...}}) when key is NULL, else PUT
 * os-extra_specs/{key} ({key: value}); *out echoes what was set. */
int compute__extra_specs_set(struct db *db, const struct compute_caller *c, const char *flavor,
			     const char *key, json_t *body, json_t **out, struct st_err *err);
int compute__extra_spec_delete(struct db *db, const struct compute_caller *c, const char *flavor,
			       const char *key, struct st_err *err);
/* GET os-flavor-access: [{"flavor_id", "tenant_id"}]. */
int compute__flavor_access_list(struct db *db, const struct compute_caller *c,
				const char *flavor, json_t **out, struct st_err *err);
/* POST /flavors/{id}/action: addTenantAccess / removeTenantAccess; *out the
 * access list after it. */
int compute__flavor_action(struct db *db, const struct compute_caller *c, const char *flavor,
			   json_t *body, json_t **out, struct st_err *err);
/* The flavor's extra specs as an object, with no policy check: what the
 * scheduler reads (NULL-free: {} when none). */
int compute__flavor_extra_specs(struct db *db, const char *flavor, json_t **out,
				struct st_err *err);

/* --- keypairs (keypairs.c) --- */
/* POST /os-keypairs: generated (private_key returned once) or imported
 * (public_key given). *status is Nova's (200 before 2.2, 201 after). */
int compute__keypair_create(struct db *db, const struct compute_caller *c, json_t *body,
			    json_t **out, struct st_err *err);
/* user_id (2.10, admins only) and limit/marker (2.35) from q. */
int compute__keypair_list(struct db *db, const struct compute_caller *c,
			  const struct compute_query *q, json_t **out, struct st_err *err);
int compute__keypair_get(struct db *db, const struct compute_caller *c, const char *name,
			 const struct compute_query *q, json_t **out, struct st_err *err);
int compute__keypair_delete(struct db *db, const struct compute_caller *c, const char *name,
			    const struct compute_query *q, struct st_err *err);

/* --- aggregates and availability zones (aggregates.c) --- */
int compute__aggregate_create(struct db *db, const struct compute_caller *c, json_t *body,
			      json_t **out, struct st_err *err);
int compute__aggregate_list(struct db *db, const struct compute_caller *c, json_t **out,
			    struct st_err *err);
int compute__aggregate_get(struct db *db, const struct compute_caller *c, const char *id,
			   json_t **out, struct st_err *err);
int compute__aggregate_update(struct db *db, const struct compute_caller *c, const char *id,
			      json_t *body, json_t **out, struct st_err *err);
int compute__aggregate_delete(struct db *db, const struct compute_caller *c, const char *id,
			      struct st_err *err);
/* POST /os-aggregates/{id}/action: add_host, remove_host, set_metadata. */
int compute__aggregate_action(struct db *db, const struct compute_caller *c, const char *id,
			      json_t *body, json_t **out, struct st_err *err);
/* The merged metadata of every aggregate the host is in ({key: [values]}
 * as Nova's AggregateInstanceExtraSpecsFilter sees it), with no policy
 * check: what the scheduler reads. */
int compute__host_aggregate_metadata(struct db *db, const char *host, json_t **out,
				     struct st_err *err);
/* GET /os-availability-zone[/detail]: availabilityZoneInfo's array: the
 * zones of the registered compute hosts (an aggregate's availability_zone,
 * else the default zone) and of aggregates' hosts not registered (yet).
 * A zone is available while one of its hosts is enabled; a host's
 * nova-compute is available while it is up (its heartbeat within
 * service_down_s of hosts.h's config) and active while enabled. */
struct hosts_config;
int compute__availability_zones(struct db *db, const struct compute_caller *c,
				const struct hosts_config *hosts, bool detail, json_t **out,
				struct st_err *err);

/* --- server groups (server_groups.c) --- */
int compute__server_group_create(struct db *db, const struct compute_caller *c, json_t *body,
				 json_t **out, struct st_err *err);
/* all_projects (admins), limit, offset. */
int compute__server_group_list(struct db *db, const struct compute_caller *c,
			       const struct compute_query *q, json_t **out, struct st_err *err);
int compute__server_group_get(struct db *db, const struct compute_caller *c, const char *id,
			      json_t **out, struct st_err *err);
int compute__server_group_delete(struct db *db, const struct compute_caller *c, const char *id,
				 struct st_err *err);

/* --- quotas and limits (quotas.c) --- */
/* GET /os-quota-sets/{project}[/defaults|/detail]: what: 's' show, 'd'
 * defaults, 'D' detail. */
int compute__quota_show(struct db *db, const struct compute_caller *c, const char *project,
			char what, json_t **out, struct st_err *err);
int compute__quota_update(struct db *db, const struct compute_caller *c, const char *project,
			  json_t *body, json_t **out, struct st_err *err);
int compute__quota_delete(struct db *db, const struct compute_caller *c, const char *project,
			  struct st_err *err);
/* /os-quota-class-sets/{class}: body NULL shows, else updates. */
int compute__quota_class(struct db *db, const struct compute_caller *c, const char *name,
			 json_t *body, json_t **out, struct st_err *err);
/* GET /limits[?tenant_id=]: {"rate": [], "absolute": {...}}. */
int compute__limits(struct db *db, const struct compute_caller *c, const char *tenant_id,
		    json_t **out, struct st_err *err);
/* A project's limit for one resource ("instances", "key_pairs" ...): its own,
 * else the default class's, else Nova's default; -1 unlimited. */
int compute__quota_limit(struct db *db, const char *project, const char *resource,
			 long long *out, struct st_err *err);

#endif
