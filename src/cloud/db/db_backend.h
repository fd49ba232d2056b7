/* What db.c needs from a backend (db_sqlite.c, db_pg.c). Not for services. */
#ifndef STRATA_CLOUD_DB_BACKEND_H
#define STRATA_CLOUD_DB_BACKEND_H

#include "cloud/db/db.h"

struct db_backend {
	/* Runs one statement with `?` placeholders; with rows != NULL collects
	 * its result. Returns the number of rows changed or -1. */
	int (*run)(void *conn, const char *sql, const char *const *params, size_t nparams,
		   struct db_rows **rows, struct st_err *err);
	void (*close)(void *conn);
	const char *begin_sql;      /* how a writing transaction starts */
	const char *for_update;     /* appended to a locking SELECT ("" when none) */
};

extern const struct db_backend db_sqlite__backend;
extern const struct db_backend db_pg__backend;

int db_sqlite__open(const char *path, void **conn, struct st_err *err);
int db_pg__open(const char *conninfo, void **conn, struct st_err *err);

/* Result building for backends: an empty result of ncols columns, then rows
 * appended one at a time (cells copied; NULL stays NULL). */
struct db_rows *db_rows__new(size_t ncols);
int db_rows__append(struct db_rows *rows, const char *const *cells, struct st_err *err);

/* Maps a failed statement to the errno convention of db.h. */
int db__fail(struct st_err *err, int errnum, const char *what, const char *detail);

#endif
