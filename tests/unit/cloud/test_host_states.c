/* The scheduler's host states from the compute hosts table, the claims and
 * the aggregates (hosts.h), on a SQLite database, and the scheduler run
 * over them: a disabled, a forced-down and a silent host are never chosen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cloud/compute/compute.h"
#include "cloud/compute/hosts.h"
#include "cloud/compute/services.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/scheduler.h"

static char path[64];

/* name, id, disabled, forced_down, seconds since the last heartbeat, vcpus, ram, disk, cpu */
static void add_host(struct db *db, const char *name, int id, int disabled, int forced,
		     long long silent_s, int vcpus, int ram, int disk, const char *cpu)
{
	char sql[1024], seen[24];
	snprintf(seen, sizeof(seen), "%lld", (long long)time(NULL) - silent_s);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO compute_host (id, host, service_uuid, hypervisor_uuid, api_tcp, token, host_ip,"
		 " disabled, forced_down, last_seen_up, vcpus, memory_mb, memory_available_mb, local_gb,"
		 " cpu_info, load_1m, created_at) VALUES (%d, '%s', 's-%s', 'h-%s', '127.0.0.1:%d', 't',"
		 " '127.0.0.1', %d, %d, ?, %d, %d, %d, %d, ?, 0.25, 1)",
		 id, name, name, name, 1000 + id, disabled, forced, vcpus, ram, ram / 2, disk);
	struct st_err err = {0};
	const char *p[] = {seen, cpu};
	assert_int_equal(db__exec(db, sql, p, 2, &err), 1);
}

static void exec(struct db *db, const char *sql)
{
	struct st_err err = {0};
	if (db__exec(db, sql, NULL, 0, &err) < 0)
		fail_msg("%s: %s", sql, err.msg);
}

static struct db *fresh_db(void)
{
	snprintf(path, sizeof(path), "/tmp/host-states-%d.db", (int)getpid());
	unlink(path);
	struct db *db;
	struct st_err err = {0};
	assert_int_equal(db__open(path, &db, &err), 0);
	assert_int_equal(compute__migrate(db, &err), 0);
	return db;
}

static const struct scheduler_host *by_name(const struct hosts_states *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->hosts[i].name, name))
			return &s->hosts[i];
	fail_msg("no host %s", name);
	return NULL;
}

static void states_from_tables(void **state)
{
	(void)state;
	struct db *db = fresh_db();
	const char *avx = "{\"arch\":\"x86_64\",\"features\":[\"avx\",\"sse4_2\"]}";
	add_host(db, "b-up", 1, 0, 0, 1, 8, 16384, 100, avx);
	add_host(db, "a-disabled", 2, 1, 0, 1, 8, 16384, 100, avx);
	add_host(db, "c-silent", 3, 0, 0, 3600, 8, 16384, 100, avx);
	add_host(db, "d-forced", 4, 0, 1, 1, 8, 16384, 100, avx);
	add_host(db, "e-noavx", 5, 0, 0, 1, 8, 16384, 100, "{\"arch\":\"x86_64\",\"features\":[\"sse4_2\"]}");
	exec(db, "INSERT INTO compute_claim VALUES ('u1', 'b-up', 2, 2048, 10, 1)");
	exec(db, "INSERT INTO compute_claim VALUES ('u2', 'b-up', 1, 1024, 5, 1)");
	exec(db, "INSERT INTO compute_claim VALUES ('u3', 'e-noavx', 4, 512, 1, 1)");
	exec(db, "INSERT INTO compute_aggregate VALUES (1, 'agg-1', 'fast', 1, NULL)");
	exec(db, "INSERT INTO compute_aggregate_host VALUES (1, 'b-up')");
	exec(db, "INSERT INTO compute_aggregate_metadata VALUES (1, 'availability_zone', 'az1')");
	exec(db, "INSERT INTO compute_aggregate_metadata VALUES (1, 'ssd', 'true')");

	struct hosts_config cfg = {.poll_interval_s = 1, .service_down_s = 60};
	struct hosts_states s;
	struct st_err err = {0};
	assert_int_equal(hosts__states(db, &cfg, &s, &err), 0);
	assert_int_equal(s.n, 5);
	const struct scheduler_host *b = by_name(&s, "b-up");
	assert_true(b->enabled && b->up);
	assert_int_equal(b->vcpus_total, 8);
	assert_int_equal(b->vcpus_used, 3);
	assert_int_equal(b->ram_used_mb, 3072);
	assert_int_equal(b->disk_used_gb, 15);
	assert_int_equal(b->num_instances, 2);
	assert_int_equal(b->n_instance_uuids, 2);
	assert_string_equal(b->instance_uuids[0], "u1");
	assert_string_equal(b->instance_uuids[1], "u2");
	assert_int_equal(b->n_aggregates, 1);
	assert_string_equal(b->aggregates[0].name, "fast");
	assert_int_equal(b->aggregates[0].n_metadata, 2);
	assert_string_equal(b->aggregates[0].metadata[0].key, "availability_zone");
	assert_true(b->cpu_load > 0.24 && b->cpu_load < 0.26);
	assert_true(b->memory_pressure > 0.49 && b->memory_pressure < 0.51);
	assert_false(by_name(&s, "a-disabled")->enabled);
	assert_false(by_name(&s, "c-silent")->up);
	assert_false(by_name(&s, "d-forced")->up);
	assert_int_equal(by_name(&s, "e-noavx")->vcpus_used, 4);
	assert_int_equal(by_name(&s, "e-noavx")->n_aggregates, 0);

	/* the scheduler over them: only b-up and e-noavx are candidates */
	struct scheduler_config sc;
	scheduler__config_default(&sc);
	struct scheduler_request req = {.vcpus = 1, .ram_mb = 512, .root_gb = 1, .num_instances = 1};
	struct scheduler_selection sel;
	assert_int_equal(scheduler__select(&sc, &req, s.hosts, s.n, &sel, &err), 0);
	assert_int_equal(sel.n_hosts, 2);
	for (size_t i = 0; i < sel.n_hosts; i++) {
		const char *n = s.hosts[sel.hosts[i]].name;
		assert_true(!strcmp(n, "b-up") || !strcmp(n, "e-noavx"));
	}
	/* the CPU's features steer: AVX only on b-up */
	struct scheduler_kv spec = {"capabilities:cpu_info:features", "<in> avx"};
	req.extra_specs = &spec;
	req.n_extra_specs = 1;
	assert_int_equal(scheduler__select(&sc, &req, s.hosts, s.n, &sel, &err), 0);
	assert_int_equal(sel.n_hosts, 1);
	assert_string_equal(s.hosts[sel.hosts[0]].name, "b-up");
	/* the availability zone of its aggregate */
	req.n_extra_specs = 0;
	req.availability_zone = "az1";
	assert_int_equal(scheduler__select(&sc, &req, s.hosts, s.n, &sel, &err), 0);
	assert_string_equal(s.hosts[sel.hosts[0]].name, "b-up");
	hosts__states_free(&s);

	/* after the down time even the answering ones are down */
	cfg.service_down_s = 0; /* 0: the default, 60 s */
	assert_int_equal(hosts__states(db, &cfg, &s, &err), 0);
	assert_true(by_name(&s, "b-up")->up);
	hosts__states_free(&s);

	/* a host with claims cannot leave; one without can */
	struct compute_caller c = {.mv = 53};
	assert_int_equal(services__delete(db, &c, "s-b-up", &err), -1);
	struct compute_caller old = {.mv = 1};
	assert_int_equal(services__delete(db, &old, "1", &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(services__delete(db, &old, "2", &err), 0);
	assert_int_equal(hosts__states(db, &cfg, &s, &err), 0);
	assert_int_equal(s.n, 4);
	hosts__states_free(&s);
	db__close(db);
	unlink(path);
}

static void empty_tables(void **state)
{
	(void)state;
	struct db *db = fresh_db();
	struct hosts_states s;
	struct st_err err = {0};
	assert_int_equal(hosts__states(db, NULL, &s, &err), 0);
	assert_int_equal(s.n, 0);
	hosts__states_free(&s);
	db__close(db);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(states_from_tables),
		cmocka_unit_test(empty_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
