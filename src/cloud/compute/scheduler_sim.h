/* `strata-cloud scheduler-sim`: the scheduler's real path over simulated
 * hosts in the real database. The hosts (scheduler/sim_hosts.h: varied
 * sizes, existing instances, CPU models, zones and aggregates) become rows
 * of compute_host, compute_aggregate* and compute_claim under a name no
 * real host has ("simPIDXXXX-..."); each request then does what a server's
 * build does: the host states read from the tables (hosts__states), the
 * filters and weighers (scheduler__select), the chosen host's endpoint and
 * the atomic claim (servers_db__claim, without a server row), so claims
 * accumulate and hosts fill. Every row it made is removed at the end,
 * also after an error or a stop request. Hosts of a real cloud in the same
 * database are left out of the simulation's host list: a simulated
 * request never claims a real host. */
#ifndef STRATA_CLOUD_SCHEDULER_SIM_H
#define STRATA_CLOUD_SCHEDULER_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/scheduler.h"

struct scheduler_sim_opts {
	size_t hosts, requests;
	const char *where;                 /* how the report names the database */
	const volatile sig_atomic_t *stop; /* non-zero: stop after the current request */
};

/* Runs the simulation with cfg and prints its figures to out. */
int scheduler_sim__run(struct db *db, const struct scheduler_config *cfg,
		       const struct scheduler_sim_opts *o, FILE *out, struct st_err *err);

#endif
