/* scheduler-sim's rows (scheduler_sim.h): the simulated hosts, their
 * aggregates and existing instances written in multi-row INSERTs (10,000
 * hosts are ~60,000 rows: one statement each was seconds on PostgreSQL),
 * and all of it removed by the simulation's name prefix. */
#include "cloud/compute/scheduler_sim_rows.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "cloud/compute/compute_db.h"
#include "cloud/scheduler/sim_hosts.h"

#define BATCH_ROWS 100
#define BATCH_COLS 20
#define CELL 80

/* Rows of one INSERT gathered until BATCH_ROWS, then written at once. */
struct batch {
	struct db *db;
	const char *insert; /* "INSERT INTO t (a, b)" */
	size_t cols, rows, col;
	const char *params[BATCH_ROWS * BATCH_COLS];
	char text[BATCH_ROWS * BATCH_COLS][CELL];
};

static int flush(struct batch *b, struct st_err *err)
{
	if (!b->rows)
		return 0;
	size_t len = strlen(b->insert) + 16 + b->rows * (b->cols * 3 + 4);
	cleanup_free char *sql = malloc(len);
	if (!sql)
		return err__fail(err, ENOMEM, "out of memory");
	char *p = sql + sprintf(sql, "%s VALUES ", b->insert);
	for (size_t r = 0; r < b->rows; r++) {
		*p++ = r ? ',' : ' ';
		*p++ = '(';
		for (size_t c = 0; c < b->cols; c++)
			p += sprintf(p, c ? ", ?" : "?");
		*p++ = ')';
	}
	*p = '\0';
	int rc = db__exec(b->db, sql, b->params, b->rows * b->cols, err);
	b->rows = 0;
	return rc < 0 ? -1 : 0;
}

/* The next cell: a number or short text, formatted into the batch. */
static void cell(struct batch *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cell(struct batch *b, const char *fmt, ...)
{
	size_t at = b->rows * b->cols + b->col++;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b->text[at], CELL, fmt, ap);
	va_end(ap);
	b->params[at] = b->text[at];
}

/* The next cell: text that outlives the batch. */
static void ref(struct batch *b, const char *s)
{
	b->params[b->rows * b->cols + b->col++] = s;
}

static int row_done(struct batch *b, struct st_err *err)
{
	b->col = 0;
	return ++b->rows == BATCH_ROWS ? flush(b, err) : 0;
}

static int start(struct batch *b, struct db *db, const char *insert, size_t cols)
{
	b->db = db;
	b->insert = insert;
	b->cols = cols;
	b->rows = b->col = 0;
	return 0;
}

struct populate {
	struct scheduler_sim_rows *names;
	size_t n;
	char *cpu_info[SIM_HOSTS_MODELS];
	struct batch *b;
	long long now;
};

/* Aggregates: one per zone (availability_zone metadata) and ssd, hdd. */
static int add_aggregates(struct db *db, struct populate *p, long long first_id, struct st_err *err)
{
	const struct scheduler_sim_rows *nm = p->names;
	for (unsigned a = 0; a < SCHEDULER_SIM_AGGREGATES; a++) {
		char id[24], uuid[37], now[24];
		snprintf(id, sizeof(id), "%lld", first_id + a);
		snprintf(now, sizeof(now), "%lld", p->now);
		if (util__uuid4(uuid, err) < 0)
			return -1;
		const char *row[] = {id, uuid, nm->aggregate[a], now};
		bool zone = a < SIM_HOSTS_ZONES;
		const char *md[] = {id, zone ? "availability_zone" : SIM_HOSTS_SSD_KEY,
				    zone ? nm->aggregate[a] : a == SIM_HOSTS_ZONES ? "true" : "false"};
		if (db__exec(db, "INSERT INTO compute_aggregate (id, uuid, name, created_at) VALUES (?, ?, ?, ?)",
			     row, 4, err) < 0 ||
		    db__exec(db, "INSERT INTO compute_aggregate_metadata (aggregate_id, meta_key, meta_value)"
			     " VALUES (?, ?, ?)", md, 3, err) < 0)
			return -1;
	}
	return 0;
}

static int add_host_row(struct batch *b, const struct populate *p, size_t i, long long id,
			const struct sim_hosts_host *s, struct st_err *err)
{
	char su[37], hu[37];
	if (util__uuid4(su, err) < 0 || util__uuid4(hu, err) < 0)
		return -1;
	cell(b, "%lld", id);
	cell(b, "%s-h%06zu", p->names->tag, i);
	cell(b, "%s", su);
	cell(b, "%s", hu);
	/* .invalid never resolves (RFC 6761): nothing is ever called there */
	cell(b, "%s-h%06zu.invalid:9", p->names->tag, i);
	ref(b, "simulated");
	ref(b, "192.0.2.1");
	cell(b, "%d", !s->enabled);
	cell(b, "%d", !s->up);
	cell(b, "%lld", p->now);
	cell(b, "%lld", (long long)s->vcpus);
	cell(b, "%lld", (long long)s->ram_mb);
	cell(b, "%lld", (long long)((double)s->ram_mb * (1.0 - s->memory_pressure)));
	cell(b, "%lld", (long long)s->disk_gb);
	cell(b, "%lld", (long long)s->disk_gb);
	ref(b, p->cpu_info[s->model]);
	cell(b, "%.2f", s->cpu_load);
	ref(b, "7002000");
	cell(b, "%lld", p->now);
	return row_done(b, err);
}

static const char host_insert[] =
	"INSERT INTO compute_host (id, host, service_uuid, hypervisor_uuid, api_tcp, token, host_ip, disabled,"
	" forced_down, last_seen_up, vcpus, memory_mb, memory_available_mb, local_gb, disk_available_gb,"
	" cpu_info, load_1m, hypervisor_version, created_at)";

static int add_hosts(struct db *db, struct populate *p, long long first_id, struct st_err *err)
{
	struct batch *b = p->b;
	start(b, db, host_insert, 19);
	for (size_t i = 0; i < p->n; i++) {
		struct sim_hosts_host s;
		sim_hosts__host(i, &s);
		if (add_host_row(b, p, i, first_id + (long long)i, &s, err) < 0)
			return -1;
	}
	if (flush(b, err) < 0)
		return -1;
	start(b, db, "INSERT INTO compute_aggregate_host (aggregate_id, host)", 2);
	for (size_t i = 0; i < p->n; i++) {
		struct sim_hosts_host s;
		sim_hosts__host(i, &s);
		for (unsigned k = 0; k < 2; k++) {
			unsigned a = k ? SIM_HOSTS_ZONES + (s.ssd ? 0u : 1u) : s.zone;
			cell(b, "%lld", p->names->first_aggregate + a);
			cell(b, "%s-h%06zu", p->names->tag, i);
			if (row_done(b, err) < 0)
				return -1;
		}
	}
	return flush(b, err);
}

/* The instances the hosts hold already: their claims and claim totals. */
static int add_claims(struct db *db, struct populate *p, struct st_err *err)
{
	struct batch *b = p->b;
	start(b, db, "INSERT INTO compute_claim (instance_uuid, host, vcpus, memory_mb, disk_gb, created_at)", 6);
	for (size_t i = 0; i < p->n; i++) {
		struct sim_hosts_host s;
		sim_hosts__host(i, &s);
		for (int64_t k = 0; k < s.instances; k++) {
			cell(b, "%s-h%06zu-i%lld", p->names->tag, i, (long long)k);
			cell(b, "%s-h%06zu", p->names->tag, i);
			cell(b, "%lld", (long long)s.instance_vcpus);
			cell(b, "%lld", (long long)s.instance_ram_mb);
			cell(b, "%lld", (long long)s.instance_disk_gb);
			cell(b, "%lld", p->now);
			if (row_done(b, err) < 0)
				return -1;
		}
	}
	if (flush(b, err) < 0)
		return -1;
	start(b, db, "INSERT INTO compute_claim_total (host, vcpus, memory_mb, disk_gb, instances)", 5);
	for (size_t i = 0; i < p->n; i++) {
		struct sim_hosts_host s;
		sim_hosts__host(i, &s);
		cell(b, "%s-h%06zu", p->names->tag, i);
		cell(b, "%lld", (long long)(s.instances * s.instance_vcpus));
		cell(b, "%lld", (long long)(s.instances * s.instance_ram_mb));
		cell(b, "%lld", (long long)(s.instances * s.instance_disk_gb));
		cell(b, "%lld", (long long)s.instances);
		if (row_done(b, err) < 0)
			return -1;
	}
	return flush(b, err);
}

static int next_id(struct db *db, const char *table, long long *out, struct st_err *err)
{
	char id[24];
	if (compute_db__next_id(db, table, "id", id, err) < 0)
		return -1;
	*out = strtoll(id, NULL, 10);
	return 0;
}

static int populate_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct populate *p = arg;
	long long host_id;
	char like[sizeof(p->names->tag) + 2];
	snprintf(like, sizeof(like), "%s-%%", p->names->tag);
	const char *two[] = {like, like};
	cleanup_rows struct db_rows *taken = NULL;
	/* SQLite's LIKE ignores case: a registered "SIM..." host would be removed with ours */
	if (db__query(db, "SELECT host FROM compute_host WHERE host LIKE ? UNION"
		      " SELECT name FROM compute_aggregate WHERE name LIKE ?", two, 2, &taken, err) < 0)
		return -1;
	if (taken->nrows)
		return err__fail(err, EEXIST, "'%s' is a name in the database already: the simulation's"
			  " rows could not be told from it", db_rows__get(taken, 0, 0));
	if (next_id(db, "compute_host", &host_id, err) < 0 ||
	    next_id(db, "compute_aggregate", &p->names->first_aggregate, err) < 0 ||
	    add_aggregates(db, p, p->names->first_aggregate, err) < 0 || add_hosts(db, p, host_id, err) < 0)
		return -1;
	return add_claims(db, p, err);
}

int scheduler_sim_rows__names(struct scheduler_sim_rows *out, struct st_err *err)
{
	char uuid[37];
	if (util__uuid4(uuid, err) < 0)
		return -1;
	snprintf(out->tag, sizeof(out->tag), "sim%ld%.4s", (long)getpid(), uuid);
	for (unsigned a = 0; a < SCHEDULER_SIM_AGGREGATES; a++) {
		if (a < SIM_HOSTS_ZONES)
			snprintf(out->aggregate[a], sizeof(out->aggregate[a]), "%s-az%u", out->tag, a + 1);
		else
			snprintf(out->aggregate[a], sizeof(out->aggregate[a]), "%s-%s", out->tag,
				 a == SIM_HOSTS_ZONES ? "ssd" : "hdd");
	}
	for (unsigned z = 0; z < SIM_HOSTS_ZONES; z++)
		out->zone[z] = out->aggregate[z];
	return 0;
}

int scheduler_sim_rows__add(struct db *db, struct scheduler_sim_rows *names, size_t n, struct st_err *err)
{
	struct populate p = {.names = names, .n = n, .now = (long long)time(NULL)};
	p.b = calloc(1, sizeof(*p.b));
	int rc = p.b ? 0 : err__fail(err, ENOMEM, "out of memory");
	for (unsigned m = 0; rc == 0 && m < SIM_HOSTS_MODELS; m++) {
		json_t *cpu = sim_hosts__cpu_info(m);
		p.cpu_info[m] = json_dumps(cpu, JSON_COMPACT);
		json_decref(cpu);
		if (!p.cpu_info[m])
			rc = err__fail(err, ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = compute_db__tx(db, populate_in_tx, &p, err);
	for (unsigned m = 0; m < SIM_HOSTS_MODELS; m++)
		free(p.cpu_info[m]);
	free(p.b);
	return rc < 0 ? -1 : 0;
}

struct removal {
	const char *like;
	struct scheduler_sim_removed *out;
};

static int remove_in_tx(struct db *db, void *arg, struct st_err *err)
{
	struct removal *r = arg;
	int n[4];
	if ((n[0] = db__exec(db, "DELETE FROM compute_claim WHERE host LIKE ?", &r->like, 1, err)) < 0 ||
	    db__exec(db, "DELETE FROM compute_claim_total WHERE host LIKE ?", &r->like, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM compute_aggregate_host WHERE host LIKE ?", &r->like, 1, err) < 0 ||
	    db__exec(db, "DELETE FROM compute_aggregate_metadata WHERE aggregate_id IN"
		     " (SELECT id FROM compute_aggregate WHERE name LIKE ?)", &r->like, 1, err) < 0 ||
	    (n[1] = db__exec(db, "DELETE FROM compute_aggregate WHERE name LIKE ?", &r->like, 1, err)) < 0 ||
	    (n[2] = db__exec(db, "DELETE FROM compute_host WHERE host LIKE ?", &r->like, 1, err)) < 0)
		return -1;
	*r->out = (struct scheduler_sim_removed){(size_t)n[2], (size_t)n[1], (size_t)n[0]};
	return 0;
}

int scheduler_sim_rows__remove(struct db *db, const struct scheduler_sim_rows *names,
			       struct scheduler_sim_removed *out, struct st_err *err)
{
	char like[sizeof(names->tag) + 2];
	snprintf(like, sizeof(like), "%s-%%", names->tag);
	struct removal r = {like, out};
	*out = (struct scheduler_sim_removed){0};
	return compute_db__tx(db, remove_in_tx, &r, err) < 0 ? -1 : 0;
}
