/* Per-component schema migrations, the same statements on both engines. */
#include "cloud/db/db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/util.h"

static const char create_versions[] =
	"CREATE TABLE IF NOT EXISTS schema_version ("
	" component TEXT PRIMARY KEY, version INTEGER NOT NULL)";

/* PostgreSQL: two processes creating schema_version at once can collide in
 * the catalog even with IF NOT EXISTS; a session advisory lock orders them.
 * SQLite's BEGIN IMMEDIATE already does. The key is arbitrary but fixed. */
static const char pg_lock[] = "SELECT pg_advisory_lock(5427726)";
static const char pg_unlock[] = "SELECT pg_advisory_unlock(5427726)";

static int read_version(struct db *db, const char *component, int *version, struct st_err *err)
{
	struct db_rows *rows;
	const char *p[] = {component};
	if (db__query(db, "SELECT version FROM schema_version WHERE component = ?", p, 1, &rows,
		      err) < 0)
		return -1;
	*version = rows->nrows ? atoi(db_rows__get(rows, 0, 0)) : 0;
	db_rows__free(rows);
	return 0;
}

int db__schema_version(struct db *db, const char *component, int *version, struct st_err *err)
{
	if (db__exec(db, create_versions, NULL, 0, err) < 0)
		return -1;
	return read_version(db, component, version, err);
}

static int apply(struct db *db, const char *component, const struct db_migration *m,
		 struct st_err *err)
{
	for (const char *const *s = m->statements; *s; s++)
		if (db__exec(db, *s, NULL, 0, err) < 0)
			return err__prefix(err, "%s schema version %d", component, m->version);
	char v[16];
	snprintf(v, sizeof(v), "%d", m->version);
	const char *p[] = {component, v};
	int changed = db__exec(db, "UPDATE schema_version SET version = ? WHERE component = ?",
			       (const char *[]){v, component}, 2, err);
	if (changed < 0)
		return -1;
	if (changed == 0 &&
	    db__exec(db, "INSERT INTO schema_version (component, version) VALUES (?, ?)", p, 2,
		     err) < 0)
		return -1;
	return 0;
}

static int migrate_locked(struct db *db, const char *component,
			  const struct db_migration *migrations, size_t n, struct st_err *err)
{
	if (db__exec(db, create_versions, NULL, 0, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (migrations[i].version != (int)i + 1)
			return err__fail_class(err, EINVAL, "%s: migration %zu has version %d", component,
				       i, migrations[i].version);
		if (db__begin(db, err) < 0)
			return -1;
		int at;
		if (read_version(db, component, &at, err) < 0)
			goto fail;
		if (at > (int)n) {
			err__fail(err, EINVAL,
				"%s schema is at version %d, newer than this program's %zu",
				component, at, n);
			goto fail;
		}
		if (at < migrations[i].version && apply(db, component, &migrations[i], err) < 0)
			goto fail;
		if (db__commit(db, err) < 0)
			return -1;
	}
	return 0;
fail:
	db__rollback(db);
	return -1;
}

int db__migrate(struct db *db, const char *component, const struct db_migration *migrations,
		size_t n, struct st_err *err)
{
	int pg = db__kind(db) == DB_POSTGRES;
	if (pg && db__exec(db, pg_lock, NULL, 0, err) < 0)
		return -1;
	int rc = migrate_locked(db, component, migrations, n, err);
	if (pg)
		db__exec(db, pg_unlock, NULL, 0, NULL);
	return rc;
}
