/* scheduler-sim's rows in the database (scheduler_sim.h): what it adds and
 * how it removes them again. Every row's host, aggregate or instance name
 * starts with the simulation's tag ("sim" + pid + 4 random hex digits) and
 * "-"; the removal deletes by that prefix. */
#ifndef STRATA_CLOUD_SCHEDULER_SIM_ROWS_H
#define STRATA_CLOUD_SCHEDULER_SIM_ROWS_H

#include <stddef.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/sim_hosts.h"

/* The zones' aggregates, then ssd and hdd. */
#define SCHEDULER_SIM_AGGREGATES (SIM_HOSTS_ZONES + 2)

struct scheduler_sim_rows {
	char tag[32];
	char aggregate[SCHEDULER_SIM_AGGREGATES][48]; /* a zone's aggregate is named as the zone */
	const char *zone[SIM_HOSTS_ZONES];            /* for sim_hosts__request */
	long long first_aggregate;                    /* the aggregates' ids from here */
};

/* A fresh tag and the names under it. */
int scheduler_sim_rows__names(struct scheduler_sim_rows *out, struct st_err *err);
/* n hosts (sim_hosts__host), the aggregates, the hosts' existing instances'
 * claims: in one transaction. */
int scheduler_sim_rows__add(struct db *db, struct scheduler_sim_rows *names, size_t n, struct st_err *err);

struct scheduler_sim_removed {
	size_t hosts, aggregates, claims;
};
/* Every row under the tag, in one transaction. */
int scheduler_sim_rows__remove(struct db *db, const struct scheduler_sim_rows *names,
			       struct scheduler_sim_removed *out, struct st_err *err);

#endif
