/* The compute service's tables (component "compute" in schema_version), in
 * the SQL both SQLite and PostgreSQL take: integer booleans, BIGINT epoch
 * seconds, Nova's integer ids made by compute_db__next_id. */
#include "cloud/compute/compute_db.h"

static const char *const v1[] = {
	/* flavorid is the API's id; id Nova's internal integer */
	"CREATE TABLE compute_flavor (flavorid TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE,"
	" name TEXT NOT NULL UNIQUE, memory_mb BIGINT NOT NULL, vcpus BIGINT NOT NULL,"
	" root_gb BIGINT NOT NULL, ephemeral_gb BIGINT NOT NULL DEFAULT 0,"
	" swap BIGINT NOT NULL DEFAULT 0, rxtx_factor DOUBLE PRECISION NOT NULL DEFAULT 1.0,"
	" is_public INTEGER NOT NULL DEFAULT 1, disabled INTEGER NOT NULL DEFAULT 0,"
	" description TEXT, created_at BIGINT NOT NULL)",
	"CREATE TABLE compute_flavor_extra_spec ("
	" flavorid TEXT NOT NULL REFERENCES compute_flavor(flavorid) ON DELETE CASCADE,"
	" spec_key TEXT NOT NULL, spec_value TEXT NOT NULL, PRIMARY KEY (flavorid, spec_key))",
	"CREATE TABLE compute_flavor_access ("
	" flavorid TEXT NOT NULL REFERENCES compute_flavor(flavorid) ON DELETE CASCADE,"
	" project_id TEXT NOT NULL, PRIMARY KEY (flavorid, project_id))",
	"CREATE TABLE compute_keypair (id BIGINT NOT NULL UNIQUE, user_id TEXT NOT NULL,"
	" name TEXT NOT NULL, type TEXT NOT NULL, public_key TEXT NOT NULL,"
	" fingerprint TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (user_id, name))",
	"CREATE TABLE compute_aggregate (id BIGINT PRIMARY KEY, uuid TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL UNIQUE, created_at BIGINT NOT NULL, updated_at BIGINT)",
	"CREATE TABLE compute_aggregate_host ("
	" aggregate_id BIGINT NOT NULL REFERENCES compute_aggregate(id) ON DELETE CASCADE,"
	" host TEXT NOT NULL, PRIMARY KEY (aggregate_id, host))",
	"CREATE INDEX compute_aggregate_host_host ON compute_aggregate_host (host)",
	/* the availability zone is the metadata key availability_zone, as in Nova */
	"CREATE TABLE compute_aggregate_metadata ("
	" aggregate_id BIGINT NOT NULL REFERENCES compute_aggregate(id) ON DELETE CASCADE,"
	" meta_key TEXT NOT NULL, meta_value TEXT NOT NULL, PRIMARY KEY (aggregate_id, meta_key))",
	"CREATE TABLE compute_server_group (uuid TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE,"
	" name TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" policy TEXT NOT NULL, created_at BIGINT NOT NULL)",
	"CREATE INDEX compute_server_group_project ON compute_server_group (project_id)",
	"CREATE TABLE compute_server_group_member ("
	" group_uuid TEXT NOT NULL REFERENCES compute_server_group(uuid) ON DELETE CASCADE,"
	" instance_uuid TEXT NOT NULL, PRIMARY KEY (group_uuid, instance_uuid))",
	"CREATE TABLE compute_quota (project_id TEXT NOT NULL, resource TEXT NOT NULL,"
	" hard_limit BIGINT NOT NULL, PRIMARY KEY (project_id, resource))",
	"CREATE TABLE compute_quota_class (class_name TEXT NOT NULL, resource TEXT NOT NULL,"
	" hard_limit BIGINT NOT NULL, PRIMARY KEY (class_name, resource))",
	NULL,
};

/* Compute hosts (hosts.h): one row is the host's nova-compute service and
 * its hypervisor (id is both one's integer id); the resources are what the
 * host's stratad last reported, last_seen_up its heartbeat. A claim is one
 * instance's share of a host. */
static const char *const v2[] = {
	"CREATE TABLE compute_host (id BIGINT PRIMARY KEY, host TEXT NOT NULL UNIQUE,"
	" service_uuid TEXT NOT NULL UNIQUE, hypervisor_uuid TEXT NOT NULL UNIQUE,"
	" api_tcp TEXT NOT NULL UNIQUE, token TEXT NOT NULL, host_ip TEXT NOT NULL,"
	" disabled INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT,"
	" forced_down INTEGER NOT NULL DEFAULT 0, last_seen_up BIGINT, last_error TEXT,"
	" vcpus BIGINT NOT NULL DEFAULT 0, memory_mb BIGINT NOT NULL DEFAULT 0,"
	" memory_available_mb BIGINT NOT NULL DEFAULT 0, local_gb BIGINT NOT NULL DEFAULT 0,"
	" disk_available_gb BIGINT NOT NULL DEFAULT 0, cpu_info TEXT,"
	" load_1m DOUBLE PRECISION NOT NULL DEFAULT -1, hypervisor_version BIGINT NOT NULL DEFAULT 0,"
	" created_at BIGINT NOT NULL, updated_at BIGINT)",
	"CREATE TABLE compute_claim (instance_uuid TEXT PRIMARY KEY,"
	" host TEXT NOT NULL REFERENCES compute_host(host),"
	" vcpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL, disk_gb BIGINT NOT NULL,"
	" created_at BIGINT NOT NULL)",
	"CREATE INDEX compute_claim_host ON compute_claim (host)",
	NULL,
};

const struct db_migration compute_db__migrations[] = {{1, v1}, {2, v2}};
const size_t compute_db__nr_migrations = 2;
