/* scheduler-sim (scheduler_sim.h): the rows, then per request what a
 * build's scheduling does (servers_worker.c's build() and place_one()), timed
 * in its three parts, then the rows removed and the figures printed. */
#include "cloud/compute/scheduler_sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "cloud/compute/hosts.h"
#include "cloud/compute/scheduler_sim_rows.h"
#include "cloud/compute/servers_db.h"
#include "cloud/compute/servers_hosts.h"
#include "cloud/scheduler/sim_hosts.h"

enum { T_STATES, T_SELECT, T_CLAIM, T_TOTAL, T_CPU, T_COUNT };

struct sim {
	struct db *db;
	const struct scheduler_config *cfg;
	struct scheduler_sim_rows names;
	/* the simulation's hosts among the states (a real cloud's are left out) */
	struct scheduler_host *hosts;
	size_t *index; /* each one's index in the states */
	double *t[T_COUNT];
	size_t done, placed, no_host, full;
};

static double seconds(clockid_t clock)
{
	struct timespec t;
	clock_gettime(clock, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The states' hosts that are the simulation's, into sim->hosts. */
static size_t only_ours(struct sim *sim, const struct hosts_states *st)
{
	size_t n = 0, len = strlen(sim->names.tag);
	for (size_t i = 0; i < st->n; i++)
		if (!strncmp(st->hosts[i].name, sim->names.tag, len) && st->hosts[i].name[len] == '-') {
			sim->hosts[n] = st->hosts[i];
			sim->index[n++] = i;
		}
	return n;
}

/* The chosen host, then the alternates, until one claim holds (a host found
 * full counts, as in place_one). 1: placed; 0: every one was full. */
static int claim(struct sim *sim, struct servers_hosts *hs, const struct scheduler_request *req,
		 const struct scheduler_selection *sel, size_t r, struct st_err *err)
{
	char instance[64];
	snprintf(instance, sizeof(instance), "%s-r%07zu", sim->names.tag, r);
	for (size_t k = 0; k < sel->n_hosts; k++) {
		const struct scheduler_host *h = &sim->hosts[sel->hosts[k]];
		if (!servers_hosts__at(sim->db, hs, sim->index[sel->hosts[k]], err))
			return -1;
		struct servers_claim cl = {.instance = instance, .host = h->name, .vcpus = req->vcpus,
					   .memory_mb = req->ram_mb, .disk_gb = req->root_gb, .no_server = true};
		int got = servers_db__claim(sim->db, &cl, h, sim->cfg, err);
		if (got != 0)
			return got;
		sim->full++;
	}
	return 0;
}

static int one_request(struct sim *sim, size_t r, struct st_err *err)
{
	static const struct hosts_config live = {HOSTS_POLL_INTERVAL_DEFAULT, 86400};
	double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
	struct servers_hosts hs;
	struct scheduler_request req;
	struct scheduler_selection sel;
	sim_hosts__request(r, sim->names.zone, &req);
	if (servers_hosts__load_for(sim->db, &live, &req, &hs, err) < 0)
		return -1;
	size_t n = only_ours(sim, &hs.st);
	double w1 = seconds(CLOCK_MONOTONIC);
	int rc = scheduler__select(sim->cfg, &req, sim->hosts, n, &sel, err);
	double w2 = seconds(CLOCK_MONOTONIC);
	if (rc < 0 && err->errnum == ENOSPC) {
		sim->no_host++;
		rc = 0;
	} else if (rc == 0) {
		rc = claim(sim, &hs, &req, &sel, r, err);
		sim->placed += rc > 0;
	}
	servers_hosts__free(&hs);
	double w3 = seconds(CLOCK_MONOTONIC);
	sim->t[T_STATES][r] = w1 - w0;
	sim->t[T_SELECT][r] = w2 - w1;
	sim->t[T_CLAIM][r] = w3 - w2;
	sim->t[T_TOTAL][r] = w3 - w0;
	sim->t[T_CPU][r] = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
	sim->done = r + 1;
	return rc < 0 ? -1 : 0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void percentiles(FILE *out, const char *what, double *t, size_t n)
{
	qsort(t, n, sizeof(*t), by_value);
	fprintf(out, "  %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", what, t[n / 2] * 1e3,
		t[(n * 99) / 100] * 1e3, t[n - 1] * 1e3);
}

static void report(struct sim *sim, const struct scheduler_sim_opts *o, double wall, FILE *out)
{
	fprintf(out, "scheduler-sim: %zu hosts in %s, %zu filters, %zu weighers, %zu requests\n", o->hosts,
		o->where, sim->cfg->n_filters, sim->cfg->n_weighers, sim->done);
	fprintf(out, "  placed %zu, no valid host %zu, chosen host found full %zu\n", sim->placed,
		sim->no_host, sim->full);
	if (!sim->done)
		return;
	fprintf(out, "  %.1f decisions per second\n", (double)sim->done / wall);
	percentiles(out, "decision (host states + filters and weighers + claim)", sim->t[T_TOTAL], sim->done);
	percentiles(out, "host states from the database", sim->t[T_STATES], sim->done);
	percentiles(out, "filters and weighers", sim->t[T_SELECT], sim->done);
	percentiles(out, "claim in the database", sim->t[T_CLAIM], sim->done);
	percentiles(out, "this process's CPU per decision", sim->t[T_CPU], sim->done);
}

static int run(struct sim *sim, const struct scheduler_sim_opts *o, FILE *out, struct st_err *err)
{
	sim->hosts = calloc(o->hosts + 1, sizeof(*sim->hosts));
	sim->index = calloc(o->hosts + 1, sizeof(*sim->index));
	for (size_t k = 0; k < T_COUNT; k++)
		sim->t[k] = calloc(o->requests + 1, sizeof(double));
	for (size_t k = 0; k < T_COUNT; k++)
		if (!sim->t[k] || !sim->hosts || !sim->index)
			return err__fail(err, ENOMEM, "out of memory");
	double start = seconds(CLOCK_MONOTONIC);
	for (size_t r = 0; r < o->requests && !(o->stop && *o->stop); r++)
		if (one_request(sim, r, err) < 0)
			return err__prefix(err, "request %zu", r + 1);
	report(sim, o, seconds(CLOCK_MONOTONIC) - start, out);
	return 0;
}

int scheduler_sim__run(struct db *db, const struct scheduler_config *cfg,
		       const struct scheduler_sim_opts *o, FILE *out, struct st_err *err)
{
	struct sim sim = {.db = db, .cfg = cfg};
	if (scheduler_sim_rows__names(&sim.names, err) < 0)
		return -1;
	double t0 = seconds(CLOCK_MONOTONIC);
	if (scheduler_sim_rows__add(db, &sim.names, o->hosts, err) < 0) {
		/* the transaction rolled back: nothing to remove */
		return err__prefix(err, "adding the simulated hosts");
	}
	fprintf(out, "scheduler-sim: %zu simulated hosts (%s-*) added in %.1f s\n", o->hosts, sim.names.tag,
		seconds(CLOCK_MONOTONIC) - t0);
	fflush(out); /* who watches the output sees the rows are there */
	int rc = run(&sim, o, out, err);
	struct scheduler_sim_removed gone;
	struct st_err rerr = {0};
	if (scheduler_sim_rows__remove(db, &sim.names, &gone, &rerr) < 0) {
		fprintf(stderr, "strata-cloud: removing the simulated rows (%s-*): %s\n", sim.names.tag, rerr.msg);
		if (rc == 0)
			rc = err__fail(err, rerr.errnum, "the simulated rows (%s-*) are still there", sim.names.tag);
	} else {
		fprintf(out, "  removed: %zu hosts, %zu aggregates, %zu claims (%zu made by the requests)\n",
			gone.hosts, gone.aggregates, gone.claims, sim.placed);
	}
	free(sim.hosts);
	free(sim.index);
	for (size_t k = 0; k < T_COUNT; k++)
		free(sim.t[k]);
	return rc;
}
