/* The Image service's tables, in the SQL both SQLite and PostgreSQL take:
 * TEXT ids (UUIDs with dashes, as Glance makes them), INTEGER booleans,
 * BIGINT sizes and epoch seconds. */
#include "cloud/images/images_db.h"

static const char *const v1[] = {
	"CREATE TABLE images (id TEXT PRIMARY KEY, name TEXT, status TEXT NOT NULL,"
	" disk_format TEXT, container_format TEXT, visibility TEXT NOT NULL,"
	" size BIGINT, virtual_size BIGINT, checksum TEXT, os_hash_algo TEXT,"
	" os_hash_value TEXT, min_disk INTEGER NOT NULL DEFAULT 0,"
	" min_ram INTEGER NOT NULL DEFAULT 0, protected INTEGER NOT NULL DEFAULT 0,"
	" os_hidden INTEGER NOT NULL DEFAULT 0, owner TEXT,"
	" created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)",
	"CREATE INDEX images_owner ON images (owner)",
	"CREATE INDEX images_created ON images (created_at, id)",
	"CREATE TABLE image_properties ("
	" image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (image_id, name))",
	"CREATE TABLE image_tags ("
	" image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	" value TEXT NOT NULL, PRIMARY KEY (image_id, value))",
	/* status: pending, accepted, rejected */
	"CREATE TABLE image_members ("
	" image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
	" member TEXT NOT NULL, status TEXT NOT NULL,"
	" created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
	" PRIMARY KEY (image_id, member))",
	"CREATE INDEX image_members_member ON image_members (member)",
	NULL,
};

/* Image import tasks (Glance's api_image_import): status pending,
 * processing, success, failure; input and result as JSON text. */
static const char *const v2[] = {
	"CREATE TABLE image_tasks (id TEXT PRIMARY KEY, type TEXT NOT NULL,"
	" status TEXT NOT NULL, owner TEXT NOT NULL, image_id TEXT, user_id TEXT,"
	" request_id TEXT, input TEXT, result TEXT, message TEXT NOT NULL DEFAULT '',"
	" created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, expires_at BIGINT)",
	"CREATE INDEX image_tasks_image ON image_tasks (image_id)",
	NULL,
};

const struct db_migration images_db__migrations[] = {{1, v1}, {2, v2}};
const size_t images_db__n_migrations = sizeof(images_db__migrations) /
				       sizeof(images_db__migrations[0]);
