/* The Networking service's tables. Each resource is kept as its Neutron
 * view (body, JSON text) beside the columns queries select on; a port's
 * addresses also have rows in network_ip, whose primary key (subnet,
 * address) is what makes an address held once. */
#include "cloud/network/network_db.h"

static const char *const v1[] = {
	"CREATE TABLE network_network (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" project_id TEXT NOT NULL, shared INTEGER NOT NULL, body TEXT NOT NULL,"
	" created_at BIGINT NOT NULL)",
	"CREATE TABLE network_subnet (id TEXT PRIMARY KEY,"
	" network_id TEXT NOT NULL REFERENCES network_network(id), name TEXT NOT NULL,"
	" project_id TEXT NOT NULL, body TEXT NOT NULL, created_at BIGINT NOT NULL)",
	"CREATE INDEX network_subnet_network ON network_subnet (network_id)",
	/* auto_delete: made for a server's NIC, deleted with the server */
	"CREATE TABLE network_port (id TEXT PRIMARY KEY,"
	" network_id TEXT NOT NULL REFERENCES network_network(id), project_id TEXT NOT NULL,"
	" device_id TEXT NOT NULL, nic_index INTEGER NOT NULL DEFAULT 0,"
	" auto_delete INTEGER NOT NULL DEFAULT 0, mac_address TEXT NOT NULL UNIQUE,"
	" body TEXT NOT NULL, created_at BIGINT NOT NULL)",
	"CREATE INDEX network_port_network ON network_port (network_id)",
	"CREATE INDEX network_port_device ON network_port (device_id)",
	"CREATE TABLE network_ip (subnet_id TEXT NOT NULL REFERENCES network_subnet(id),"
	" ip_address TEXT NOT NULL, port_id TEXT NOT NULL REFERENCES network_port(id)"
	" ON DELETE CASCADE, PRIMARY KEY (subnet_id, ip_address))",
	"CREATE INDEX network_ip_port ON network_ip (port_id)",
	NULL,
};

/* per-project quota limits over Neutron's defaults (quotas.c); the row
 * "_lock" of a project is what its creates lock to claim */
static const char *const v2[] = {
	"CREATE TABLE network_quota (project_id TEXT NOT NULL, resource TEXT NOT NULL,"
	" hard_limit BIGINT NOT NULL, PRIMARY KEY (project_id, resource))",
	NULL,
};

const struct db_migration network_db__migrations[] = {{1, v1}, {2, v2}};
const size_t network_db__nr_migrations = sizeof(network_db__migrations) /
					  sizeof(network_db__migrations[0]);
