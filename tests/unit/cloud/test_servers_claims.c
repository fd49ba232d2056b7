/* Claims on a host (servers_db.h) on SQLite (always) and PostgreSQL (when
 * STRATA_TEST_PG_URL names a throwaway database; test_cloud_db.py runs it):
 * many connections at once (as threads of one cloud node or as two nodes
 * on one database) claim one host, and exactly what fits is granted; a
 * release gives it back; a server being deleted gets no claim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#include "common/util.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/servers_db.h"
#include "cloud/db/db.h"

#define CLAIMERS 16
#define HOST_VCPUS 6 /* with ratio 1: room for 6 one-vCPU instances */

static char url[256];
static int round_no;

static struct scheduler_config cfg;
static const struct scheduler_host host = {
	.name = "h1", .enabled = true, .up = true, .vcpus_total = HOST_VCPUS,
	.ram_total_mb = 1 << 20, .disk_total_gb = 1 << 20, .cpu_allocation_ratio = 1.0,
	.ram_allocation_ratio = 1.0, .disk_allocation_ratio = 1.0,
};

static struct db *open_db(void)
{
	struct db *db;
	struct st_err err = {0};
	if (db__open(url, &db, &err) < 0 || compute__migrate(db, &err) < 0) {
		err__print(&err);
		return NULL;
	}
	return db;
}

static void uuid_of(int i, char out[40])
{
	snprintf(out, 40, "00000000-0000-4000-8000-%04d%08d", round_no, i);
}

/* compute_host when the hosts table exists (its claims reference it). */
static void add_server(struct db *db, int i, const char *task)
{
	char uuid[40], id[24];
	struct st_err err = {0};
	uuid_of(i, uuid);
	snprintf(id, sizeof(id), "%d", round_no * 1000 + i);
	const char *p[] = {uuid, id, task};
	assert_int_equal(db__exec(db, "INSERT INTO compute_server (uuid, id, name, project_id, user_id,"
				  " reservation_id, flavor, vcpus, memory_mb, disk_gb, image_ref, metadata,"
				  " request_spec, vm_state, task_state, created_at, updated_at) VALUES (?, ?,"
				  " 's', 'p', 'u', 'r-1', '{}', 1, 1, 1, 'i', '{}', '{}', 'building', ?, 0, 0)",
				  p, 3, &err), 1);
}

struct claimer {
	int index;
	int got; /* 1 claimed, 0 full, -1 error */
};

static void *claim_one(void *arg)
{
	struct claimer *c = arg;
	char uuid[40];
	struct st_err err = {0};
	struct db *db = open_db();
	if (!db) {
		c->got = -1;
		return NULL;
	}
	uuid_of(c->index, uuid);
	struct servers_claim cl = {.instance = uuid, .host = "h1", .vcpus = 1, .memory_mb = 1, .disk_gb = 1};
	/* a PostgreSQL serialization failure is for the caller to retry */
	do {
		c->got = servers_db__claim(db, &cl, &host, &cfg, &err);
	} while (c->got < 0 && err.errnum == EAGAIN);
	if (c->got < 0)
		err__print(&err);
	db__close(db);
	return NULL;
}

static long long count(struct db *db, const char *sql)
{
	struct db_rows *rows;
	struct st_err err = {0};
	assert_int_equal(db__query(db, sql, NULL, 0, &rows, &err), 0);
	long long n = rows->nrows && db_rows__get(rows, 0, 0) ? atoll(db_rows__get(rows, 0, 0)) : 0;
	db_rows__free(rows);
	return n;
}

/* The host's row (compute_claim references it), once. */
static void add_host(struct db *db)
{
	struct st_err err = {0};
	assert_true(db__exec(db, "INSERT INTO compute_host (id, host, service_uuid, hypervisor_uuid,"
			     " api_tcp, token, host_ip, created_at) VALUES (1, 'h1', 's', 'h',"
			     " '127.0.0.1:1', 't', '127.0.0.1', 0) ON CONFLICT (host) DO NOTHING", NULL, 0,
			     &err) >= 0);
}

static void concurrent_claims_never_overcommit(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct st_err err = {0};
	assert_non_null(db);
	add_host(db);
	round_no++;
	for (int i = 0; i < CLAIMERS; i++)
		add_server(db, i, "scheduling");
	pthread_t t[CLAIMERS];
	struct claimer c[CLAIMERS];
	for (int i = 0; i < CLAIMERS; i++) {
		c[i] = (struct claimer){.index = i};
		assert_int_equal(pthread_create(&t[i], NULL, claim_one, &c[i]), 0);
	}
	int granted = 0;
	for (int i = 0; i < CLAIMERS; i++) {
		pthread_join(t[i], NULL);
		assert_true(c[i].got >= 0);
		granted += c[i].got;
	}
	assert_int_equal(granted, HOST_VCPUS);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM compute_claim WHERE host = 'h1'"), HOST_VCPUS);
	assert_int_equal(count(db, "SELECT vcpus FROM compute_claim_total WHERE host = 'h1'"), HOST_VCPUS);
	assert_int_equal(count(db, "SELECT COUNT(*) FROM compute_server WHERE host = 'h1'"), HOST_VCPUS);
	/* releases give everything back; a second release changes nothing */
	for (int i = 0; i < CLAIMERS; i++) {
		char uuid[40];
		uuid_of(i, uuid);
		assert_int_equal(servers_db__release(db, uuid, &err) >= 0, 1);
		assert_int_equal(servers_db__release(db, uuid, &err) >= 0, 1);
	}
	assert_int_equal(count(db, "SELECT COUNT(*) FROM compute_claim"), 0);
	assert_int_equal(count(db, "SELECT vcpus + memory_mb + disk_gb + instances FROM compute_claim_total"), 0);
	db__close(db);
}

static void deleting_server_gets_no_claim(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct st_err err = {0};
	assert_non_null(db);
	add_host(db);
	round_no++;
	add_server(db, 0, "deleting");
	char uuid[40];
	uuid_of(0, uuid);
	struct servers_claim cl = {.instance = uuid, .host = "h1", .vcpus = 1, .memory_mb = 1, .disk_gb = 1};
	assert_true(servers_db__claim(db, &cl, &host, &cfg, &err) < 0);
	assert_int_equal(err.errnum, ECANCELED);
	/* the transaction rolled back: nothing held */
	assert_int_equal(count(db, "SELECT COUNT(*) FROM compute_claim"), 0);
	assert_int_equal(count(db, "SELECT COALESCE(SUM(vcpus), 0) FROM compute_claim_total"), 0);
	db__close(db);
}

static int run_suite(const char *name)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(concurrent_claims_never_overcommit),
		cmocka_unit_test(deleting_server_gets_no_claim),
	};
	printf("backend: %s\n", name);
	fflush(stdout);
	return _cmocka_run_group_tests(name, tests, ST_ARRAY_SIZE(tests), NULL, NULL);
}

int main(void)
{
	char dir[] = "/tmp/strata-claims-XXXXXX";
	scheduler__config_default(&cfg);
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
