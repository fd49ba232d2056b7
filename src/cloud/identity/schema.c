/* The identity service's tables (component "identity" in schema_version).
 * Written in the SQL both SQLite and PostgreSQL take: TEXT ids (UUID hex),
 * INTEGER booleans, BIGINT epoch seconds. */
#include "cloud/identity/identity_db.h"

static const char *const v1[] = {
	"CREATE TABLE domain (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" description TEXT NOT NULL DEFAULT '', enabled INTEGER NOT NULL DEFAULT 1)",
	"CREATE TABLE project (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" domain_id TEXT NOT NULL REFERENCES domain(id),"
	" parent_id TEXT REFERENCES project(id), description TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1, UNIQUE (domain_id, name))",
	/* "user" is reserved in PostgreSQL */
	"CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" domain_id TEXT NOT NULL REFERENCES domain(id), password_hash TEXT,"
	" enabled INTEGER NOT NULL DEFAULT 1, default_project_id TEXT,"
	" description TEXT NOT NULL DEFAULT '', email TEXT,"
	" failed_logins INTEGER NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,"
	" UNIQUE (domain_id, name))",
	"CREATE TABLE groups (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" domain_id TEXT NOT NULL REFERENCES domain(id), description TEXT NOT NULL DEFAULT '',"
	" UNIQUE (domain_id, name))",
	"CREATE TABLE group_member (group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
	" user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" PRIMARY KEY (group_id, user_id))",
	"CREATE TABLE role (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" description TEXT NOT NULL DEFAULT '')",
	"CREATE TABLE implied_role ("
	" prior_role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" implied_role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" PRIMARY KEY (prior_role_id, implied_role_id))",
	/* type: UserProject, UserDomain, UserSystem, GroupProject, GroupDomain, GroupSystem */
	"CREATE TABLE assignment (type TEXT NOT NULL, actor_id TEXT NOT NULL,"
	" target_id TEXT NOT NULL, role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" PRIMARY KEY (type, actor_id, target_id, role_id))",
	"CREATE INDEX assignment_target ON assignment (target_id)",
	"CREATE TABLE region (id TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '',"
	" parent_region_id TEXT REFERENCES region(id))",
	"CREATE TABLE service (id TEXT PRIMARY KEY, type TEXT NOT NULL,"
	" name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',"
	" enabled INTEGER NOT NULL DEFAULT 1)",
	"CREATE TABLE endpoint (id TEXT PRIMARY KEY,"
	" service_id TEXT NOT NULL REFERENCES service(id) ON DELETE CASCADE,"
	" interface TEXT NOT NULL, url TEXT NOT NULL, region_id TEXT REFERENCES region(id),"
	" enabled INTEGER NOT NULL DEFAULT 1)",
	"CREATE TABLE application_credential (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	" project_id TEXT NOT NULL, secret_hash TEXT NOT NULL,"
	" description TEXT NOT NULL DEFAULT '', expires_at BIGINT,"
	" unrestricted INTEGER NOT NULL DEFAULT 0, UNIQUE (user_id, name))",
	"CREATE TABLE application_credential_role ("
	" application_credential_id TEXT NOT NULL"
	"  REFERENCES application_credential(id) ON DELETE CASCADE,"
	" role_id TEXT NOT NULL REFERENCES role(id) ON DELETE CASCADE,"
	" PRIMARY KEY (application_credential_id, role_id))",
	/* A token is revoked when an event matches it and it was issued before
	 * issued_before (Keystone's revocation events, the fields we use). */
	"CREATE TABLE revocation_event (id TEXT PRIMARY KEY, audit_id TEXT, user_id TEXT,"
	" project_id TEXT, issued_before BIGINT NOT NULL, revoked_at BIGINT NOT NULL)",
	NULL,
};

/* Keystone shows no description for a user or service created without one
 * (it keeps theirs among the "extra" attributes) and null for such a role;
 * v1 stored ''. Both engines rename and drop columns (SQLite >= 3.35). */
#define NULLABLE_DESCRIPTION(table)                                                  \
	"ALTER TABLE " table " RENAME COLUMN description TO description_v1",         \
		"ALTER TABLE " table " ADD COLUMN description TEXT",                 \
		"UPDATE " table " SET description = NULLIF(description_v1, '')",     \
		"ALTER TABLE " table " DROP COLUMN description_v1"
static const char *const v2[] = {
	NULLABLE_DESCRIPTION("users"),
	NULLABLE_DESCRIPTION("role"),
	NULLABLE_DESCRIPTION("service"),
	NULL,
};

const struct db_migration identity_db__migrations[] = {{1, v1}, {2, v2}};
const size_t identity_db__n_migrations = sizeof(identity_db__migrations) /
					 sizeof(identity_db__migrations[0]);
