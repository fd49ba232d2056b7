/* The servers' tables (component "servers" in schema_version, apart from
 * "compute" so that the two sets of migrations grow independently; it runs
 * after compute's, whose compute_claim it writes): the servers, the hosts'
 * claimed totals, the per-project lock row, and the key that signs image
 * fetch URLs. */
#include "cloud/compute/servers_db.h"

static const char *const v1[] = {
	/* deleted rows stay (Nova's soft delete) until purged; the flavor and
	 * the scheduling request are copied in, as Nova's instance does */
	"CREATE TABLE compute_server (uuid TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE,"
	" name TEXT NOT NULL, project_id TEXT NOT NULL, user_id TEXT NOT NULL,"
	" reservation_id TEXT NOT NULL, launch_index INTEGER NOT NULL DEFAULT 0,"
	" flavor TEXT NOT NULL, vcpus BIGINT NOT NULL, memory_mb BIGINT NOT NULL,"
	" disk_gb BIGINT NOT NULL, description TEXT, image_ref TEXT NOT NULL, key_name TEXT, key_data TEXT,"
	" availability_zone TEXT, metadata TEXT NOT NULL, user_data TEXT,"
	" access_ipv4 TEXT, access_ipv6 TEXT, request_spec TEXT NOT NULL,"
	" vm_state TEXT NOT NULL, task_state TEXT, power_state INTEGER NOT NULL DEFAULT 0,"
	" host TEXT, node TEXT, attempts INTEGER NOT NULL DEFAULT 0,"
	" fault_code INTEGER, fault_message TEXT, fault_details TEXT, fault_created BIGINT,"
	" launched_at BIGINT, terminated_at BIGINT, created_at BIGINT NOT NULL,"
	" updated_at BIGINT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0)",
	"CREATE INDEX compute_server_project ON compute_server (project_id, deleted)",
	"CREATE INDEX compute_server_host ON compute_server (host)",
	/* the claims themselves are compute_claim (hosts.h, schema.c: one row
	 * per instance on a host); the sum of a host's claims, kept in step in the claims' transactions:
	 * the row a claim's conditional UPDATE locks */
	"CREATE TABLE compute_claim_total (host TEXT PRIMARY KEY, vcpus BIGINT NOT NULL,"
	" memory_mb BIGINT NOT NULL, disk_gb BIGINT NOT NULL, instances BIGINT NOT NULL)",
	/* the row a create locks while it counts the project's quota usage */
	"CREATE TABLE compute_project_lock (project_id TEXT PRIMARY KEY)",
	"CREATE TABLE compute_secret (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
	NULL,
};

/* v2: what servers_meta.c and servers_actions*.c keep: tags, the lock
 * (who locked: "owner" or "admin", Nova's locked_by), and the instance
 * actions with their events (Nova's instance_actions[_events]). */
static const char *const v2[] = {
	"ALTER TABLE compute_server ADD COLUMN locked INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE compute_server ADD COLUMN locked_by TEXT",
	"CREATE TABLE compute_server_tag (instance_uuid TEXT NOT NULL, tag TEXT NOT NULL,"
	" PRIMARY KEY (instance_uuid, tag))",
	"CREATE TABLE compute_instance_action (id BIGINT PRIMARY KEY, request_id TEXT NOT NULL,"
	" instance_uuid TEXT NOT NULL, action TEXT NOT NULL, project_id TEXT NOT NULL,"
	" user_id TEXT NOT NULL, start_time BIGINT NOT NULL, finish_time BIGINT, message TEXT,"
	" updated_at BIGINT NOT NULL)",
	"CREATE INDEX compute_instance_action_instance ON compute_instance_action (instance_uuid)",
	"CREATE TABLE compute_instance_action_event (action_id BIGINT NOT NULL, event TEXT NOT NULL,"
	" start_time BIGINT NOT NULL, finish_time BIGINT, result TEXT, traceback TEXT, host TEXT,"
	" PRIMARY KEY (action_id, event))",
	NULL,
};

/* v3: who drives a server's task (servers_reconcile.c): every controller
 * (a strata-cloud serve) holds a lease row it renews with its heartbeat;
 * a server's controller is the one whose worker runs its current task, and
 * a task whose controller's lease has run out is taken over by another. */
static const char *const v3[] = {
	"ALTER TABLE compute_server ADD COLUMN controller TEXT",
	"CREATE TABLE compute_controller (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" started_at BIGINT NOT NULL, heartbeat_at BIGINT NOT NULL)",
	NULL,
};

const struct db_migration servers_db__migrations[] = {{1, v1}, {2, v2}, {3, v3}};
const size_t servers_db__nr_migrations = 3;
