/* The servers' tables (servers_schema.c) and the claims on hosts
 * (servers_claims.c): what the servers' logic and worker share. */
#ifndef STRATA_CLOUD_SERVERS_DB_H
#define STRATA_CLOUD_SERVERS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/err.h"
#include "cloud/db/db.h"
#include "cloud/scheduler/scheduler.h"

extern const struct db_migration servers_db__migrations[];
extern const size_t servers_db__nr_migrations;

/* One server row as an object of its columns (flavor, metadata and
 * request_spec parsed); ENOENT "Instance X could not be found." for an
 * unknown or deleted one. */
int servers_db__get(struct db *db, const char *uuid, json_t **out, struct st_err *err);
/* Rows matching where (a SQL condition with ? params), newest first. */
int servers_db__select(struct db *db, const char *where, const char *const *params,
		       size_t nparams, json_t **out, struct st_err *err);
/* UPDATE compute_server SET set WHERE uuid = ? AND the server is not being
 * deleted; params are set's then the uuid. Returns the rows changed (0:
 * a delete came first). */
int servers_db__update(struct db *db, const char *set, const char *const *params,
		       size_t nparams, struct st_err *err);

/* What one instance holds of a host. */
struct servers_claim {
	const char *instance, *host;
	int64_t vcpus, memory_mb, disk_gb;
	bool no_server; /* scheduler-sim's: no server row to record the host in */
};

/* Claims atomically: 1 when the host had room (the claim is recorded and
 * the server's host set), 0 when it had not (nothing changed), < 0 on a
 * database error. Room is (total - reserved) * allocation ratio (the
 * configuration's when the host reports none) minus every claim on it. */
int servers_db__claim(struct db *db, const struct servers_claim *cl,
		      const struct scheduler_host *h, const struct scheduler_config *cfg,
		      struct st_err *err);
/* Gives back what the instance holds (nothing held: no change). */
int servers_db__release(struct db *db, const char *instance, struct st_err *err);
#endif
