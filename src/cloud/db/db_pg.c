/* PostgreSQL backend (libpq): text parameters and results, `?` placeholders
 * numbered to $n, SQLSTATE classes mapped to db.h's errno convention. */
#include "cloud/db/db_backend.h"

#include <errno.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

int db_pg__open(const char *conninfo, void **out, struct st_err *err)
{
	PGconn *conn = PQconnectdb(conninfo);
	if (!conn)
		return err__fail_class(err, ENOMEM, "database: out of memory");
	if (PQstatus(conn) != CONNECTION_OK) {
		db__fail(err, EIO, "cannot connect to PostgreSQL", PQerrorMessage(conn));
		PQfinish(conn);
		return -1;
	}
	/* Notices ("relation already exists, skipping") are not errors. */
	PQclear(PQexec(conn, "SET client_min_messages = warning"));
	*out = conn;
	return 0;
}

/* "a = ? AND b = ?" -> "a = $1 AND b = $2", leaving quoted text alone. */
static char *number_placeholders(const char *sql)
{
	size_t n = 0;
	for (const char *s = sql; *s; s++)
		n += *s == '?';
	char *out = malloc(strlen(sql) + n * 10 + 1);
	if (!out)
		return NULL;
	char *o = out;
	int quoted = 0;
	unsigned next = 1;
	for (const char *s = sql; *s; s++) {
		if (*s == '\'')
			quoted = !quoted;
		if (*s == '?' && !quoted)
			o += sprintf(o, "$%u", next++);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static int errno_of(const char *sqlstate)
{
	if (!sqlstate)
		return EIO;
	if (!strcmp(sqlstate, "23505"))
		return EEXIST; /* unique_violation */
	if (!strncmp(sqlstate, "23", 2))
		return EINVAL; /* other integrity constraints */
	if (!strcmp(sqlstate, "40001") || !strcmp(sqlstate, "40P01"))
		return EAGAIN; /* serialization failure, deadlock */
	return EIO;
}

static int collect(PGresult *res, struct db_rows **rows, struct st_err *err)
{
	size_t ncols = (size_t)PQnfields(res);
	struct db_rows *result = db_rows__new(ncols);
	if (!result)
		return err__fail_class(err, ENOMEM, "database: out of memory");
	const char *cells[ncols ? ncols : 1];
	for (int r = 0; r < PQntuples(res); r++) {
		for (size_t c = 0; c < ncols; c++)
			cells[c] = PQgetisnull(res, r, (int)c) ? NULL
							       : PQgetvalue(res, r, (int)c);
		if (db_rows__append(result, cells, err) < 0) {
			db_rows__free(result);
			return -1;
		}
	}
	*rows = result;
	return 0;
}

static int run(void *conn_, const char *sql, const char *const *params, size_t nparams,
	       struct db_rows **rows, struct st_err *err)
{
	PGconn *conn = conn_;
	cleanup_free char *numbered = number_placeholders(sql);
	if (!numbered)
		return err__fail_class(err, ENOMEM, "database: out of memory");
	PGresult *res = PQexecParams(conn, numbered, (int)nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		db__fail(err, errno_of(state), "statement",
			 res ? PQresultErrorMessage(res) : PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	int rc = 0;
	if (rows && collect(res, rows, err) < 0)
		rc = -1;
	else if (rc == 0)
		rc = *PQcmdTuples(res) ? atoi(PQcmdTuples(res)) : 0;
	PQclear(res);
	return rc;
}

static void close_conn(void *conn)
{
	PQfinish(conn);
}

const struct db_backend db_pg__backend = {
	.run = run,
	.close = close_conn,
	.begin_sql = "BEGIN",
	.for_update = " FOR UPDATE",
};
