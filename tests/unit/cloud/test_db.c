/* The database interface on SQLite (always) and on PostgreSQL (when
 * STRATA_TEST_PG_URL names a throwaway database: tests/integration/cloud
 * starts a cluster and runs this binary with it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "cloud/db/db.h"

static char url[256];

static const char *const v1[] = {
	"CREATE TABLE thing (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, size BIGINT)",
	NULL,
};
static const char *const v2[] = {
	"CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
	"INSERT INTO counter (id, n) VALUES (1, 0)",
	NULL,
};
static const struct db_migration migrations[] = {{1, v1}, {2, v2}};

static int setup(void **state)
{
	(void)state;
	struct db *db;
	struct st_err err = {0};
	if (db__open(url, &db, &err) < 0) {
		err__print(&err);
		return -1;
	}
	db__exec(db, "DROP TABLE IF EXISTS thing", NULL, 0, NULL);
	db__exec(db, "DROP TABLE IF EXISTS counter", NULL, 0, NULL);
	db__exec(db, "DROP TABLE IF EXISTS schema_version", NULL, 0, NULL);
	db__close(db);
	return 0;
}

static void migrations_params_and_errors(void **state)
{
	(void)state;
	struct db *db;
	struct st_err err = {0};
	assert_int_equal(db__open(url, &db, &err), 0);
	int version;
	assert_int_equal(db__schema_version(db, "test", &version, &err), 0);
	assert_int_equal(version, 0);
	assert_int_equal(db__migrate(db, "test", migrations, 1, &err), 0);
	assert_int_equal(db__schema_version(db, "test", &version, &err), 0);
	assert_int_equal(version, 1);
	assert_int_equal(db__migrate(db, "test", migrations, 2, &err), 0);
	assert_int_equal(db__migrate(db, "test", migrations, 2, &err), 0); /* nothing to do */
	assert_int_equal(db__schema_version(db, "test", &version, &err), 0);
	assert_int_equal(version, 2);
	/* a database newer than the program is refused */
	assert_int_equal(db__migrate(db, "test", migrations, 1, &err), -1);

	const char *a[] = {"a1", "it's ?", "42"};
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name, size) VALUES (?, ?, ?)", a, 3, &err), 1);
	const char *b[] = {"b1", "second", NULL};
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name, size) VALUES (?, ?, ?)", b, 3, &err), 1);
	const char *dup[] = {"c1", "second", NULL};
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name, size) VALUES (?, ?, ?)", dup, 3, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	const char *nul[] = {"d1", NULL, NULL};
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name, size) VALUES (?, ?, ?)", nul, 3, &err), -1);
	assert_int_equal(err.errnum, EINVAL);

	struct db_rows *rows;
	assert_int_equal(db__query(db, "SELECT id, name, size FROM thing WHERE name <> '?' ORDER BY id",
				   NULL, 0, &rows, &err), 0);
	assert_int_equal(rows->nrows, 2);
	assert_int_equal(rows->ncols, 3);
	assert_string_equal(db_rows__get(rows, 0, 1), "it's ?");
	assert_string_equal(db_rows__get(rows, 0, 2), "42");
	assert_null(db_rows__get(rows, 1, 2));
	db_rows__free(rows);
	const char *cut[] = {"40"};
	assert_int_equal(db__exec(db, "DELETE FROM thing WHERE size > ?", cut, 1, &err), 1);
	assert_int_equal(db__exec(db, "SELEC nonsense", NULL, 0, &err), -1);
	db__close(db);
}

static void transactions_roll_back(void **state)
{
	(void)state;
	struct db *db;
	struct st_err err = {0};
	assert_int_equal(db__open(url, &db, &err), 0);
	assert_int_equal(db__migrate(db, "test", migrations, 2, &err), 0);
	struct db_rows *rows;
	assert_int_equal(db__query_for_update(db, "SELECT n FROM counter", NULL, 0, &rows, &err), -1);
	assert_int_equal(db__begin(db, &err), 0);
	assert_int_equal(db__begin(db, &err), -1); /* nested */
	const char *p[] = {"t1", "in-tx"};
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name) VALUES (?, ?)", p, 2, &err), 1);
	db__rollback(db);
	assert_int_equal(db__query(db, "SELECT id FROM thing WHERE id = 't1'", NULL, 0, &rows, &err), 0);
	assert_int_equal(rows->nrows, 0);
	db_rows__free(rows);
	assert_int_equal(db__begin(db, &err), 0);
	assert_int_equal(db__exec(db, "INSERT INTO thing (id, name) VALUES (?, ?)", p, 2, &err), 1);
	assert_int_equal(db__commit(db, &err), 0);
	assert_int_equal(db__query(db, "SELECT id FROM thing WHERE id = 't1'", NULL, 0, &rows, &err), 0);
	assert_int_equal(rows->nrows, 1);
	db_rows__free(rows);
	db__close(db);
}

/* The same text again runs again, with its new parameters (SQLite keeps
 * prepared statements by text): a failed run leaves nothing behind, a
 * statement done with holds no table (DROP works), and statements pushed
 * out of the cache and back behave the same. */
static void statements_run_again(void **state)
{
	(void)state;
	struct db *db;
	struct st_err err = {0};
	assert_int_equal(db__open(url, &db, &err), 0);
	assert_int_equal(db__migrate(db, "test", migrations, 2, &err), 0);
	static const char insert[] = "INSERT INTO thing (id, name, size) VALUES (?, ?, ?)";
	static const char by_size[] = "SELECT id FROM thing WHERE size = ?";
	char id[16], name[16], size[16];
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "r%d", i);
		snprintf(name, sizeof(name), "n%d", i);
		snprintf(size, sizeof(size), "%d", i);
		const char *p[] = {id, name, size};
		assert_int_equal(db__exec(db, insert, p, 3, &err), 1);
		assert_int_equal(db__exec(db, insert, p, 3, &err), -1); /* the same id again */
		assert_int_equal(err.errnum, EEXIST);
	}
	struct db_rows *rows;
	for (int i = 0; i < 100; i += 7) {
		/* a text of its own for each i: more than the cache holds */
		char sql[96];
		snprintf(sql, sizeof(sql), "SELECT name FROM thing WHERE size >= ? AND size < %d", i + 3);
		snprintf(size, sizeof(size), "%d", i);
		const char *p[] = {size};
		assert_int_equal(db__query(db, sql, p, 1, &rows, &err), 0);
		assert_int_equal(rows->nrows, i + 3 <= 100 ? 3 : 100 - i);
		db_rows__free(rows);
		assert_int_equal(db__query(db, by_size, p, 1, &rows, &err), 0);
		assert_int_equal(rows->nrows, 1);
		snprintf(id, sizeof(id), "r%d", i);
		assert_string_equal(db_rows__get(rows, 0, 0), id);
		db_rows__free(rows);
	}
	for (int i = 0; i < 200; i++) {
		char sql[64];
		snprintf(sql, sizeof(sql), "SELECT %d FROM thing LIMIT 1", i);
		assert_int_equal(db__query(db, sql, NULL, 0, &rows, &err), 0);
		db_rows__free(rows);
	}
	const char *p[] = {"5"};
	assert_int_equal(db__query(db, by_size, p, 1, &rows, &err), 0);
	assert_int_equal(rows->nrows, 1);
	assert_string_equal(db_rows__get(rows, 0, 0), "r5");
	db_rows__free(rows);
	assert_int_equal(db__exec(db, "DROP TABLE thing", NULL, 0, &err), 0);
	assert_int_equal(db__query(db, by_size, p, 1, &rows, &err), -1); /* no such table now */
	db__close(db);
}

enum { WORKERS = 4, ROUNDS = 25 };

/* Read-modify-write under a row lock on its own connection: with a lost
 * update the final count would come out short. */
static void *increment(void *arg)
{
	(void)arg;
	struct db *db;
	struct st_err err = {0};
	if (db__open(url, &db, &err) < 0)
		return (void *)1;
	for (int i = 0; i < ROUNDS; i++) {
		struct db_rows *rows;
		if (db__begin(db, &err) < 0 ||
		    db__query_for_update(db, "SELECT n FROM counter WHERE id = 1", NULL, 0, &rows, &err) < 0) {
			err__print(&err);
			db__rollback(db);
			db__close(db);
			return (void *)1;
		}
		char next[24];
		snprintf(next, sizeof(next), "%d", atoi(db_rows__get(rows, 0, 0)) + 1);
		db_rows__free(rows);
		const char *p[] = {next};
		if (db__exec(db, "UPDATE counter SET n = ? WHERE id = 1", p, 1, &err) < 0 ||
		    db__commit(db, &err) < 0) {
			err__print(&err);
			db__rollback(db);
			db__close(db);
			return (void *)1;
		}
	}
	db__close(db);
	return NULL;
}

static void row_locks_serialize_writers(void **state)
{
	(void)state;
	struct db *db;
	struct st_err err = {0};
	assert_int_equal(db__open(url, &db, &err), 0);
	assert_int_equal(db__migrate(db, "test", migrations, 2, &err), 0);
	pthread_t t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, increment, NULL), 0);
	for (int i = 0; i < WORKERS; i++) {
		void *rc;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	struct db_rows *rows;
	assert_int_equal(db__query(db, "SELECT n FROM counter WHERE id = 1", NULL, 0, &rows, &err), 0);
	assert_int_equal(atoi(db_rows__get(rows, 0, 0)), WORKERS * ROUNDS);
	db_rows__free(rows);
	db__close(db);
}

static int run_suite(const char *name)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(migrations_params_and_errors, setup),
		cmocka_unit_test_setup(transactions_roll_back, setup),
		cmocka_unit_test_setup(statements_run_again, setup),
		/* last: test_cloud_db.py reads the count it leaves */
		cmocka_unit_test_setup(row_locks_serialize_writers, setup),
	};
	printf("backend: %s\n", name);
	fflush(stdout);
	return _cmocka_run_group_tests(name, tests, ST_ARRAY_SIZE(tests), NULL, NULL);
}

int main(void)
{
	char dir[] = "/tmp/strata-db-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	snprintf(url, sizeof(url), "sqlite:%s/test.db", dir);
	int failed = run_suite("sqlite");
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		failed++;
	const char *pg = getenv("STRATA_TEST_PG_URL");
	if (pg && *pg) {
		snprintf(url, sizeof(url), "%s", pg);
		failed += run_suite("postgresql");
	} else {
		printf("SKIP: postgresql half (STRATA_TEST_PG_URL unset; tests/integration/cloud runs it)\n");
	}
	return failed ? 1 : 0;
}
