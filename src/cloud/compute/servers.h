/* Servers (Nova's instances): create, list, show, delete, and the worker
 * that builds them on stratad hosts. JSON in and out as compute.h; errors
 * carry the HTTP meaning in errnum as there (EINVAL 400, EPERM 403, ENOENT
 * 404, EEXIST 409).
 *
 * A create is answered at once (202) with the servers in BUILD; a worker
 * thread then, per request: reads the hosts (servers_hosts.h), asks the
 * scheduler (scheduler__select) for each instance's host and alternates,
 * CLAIMS the host's resources in the database (one transaction whose
 * conditional UPDATE cannot over-commit a host, whatever other threads or
 * cloud nodes on the same PostgreSQL do), and builds on the host through
 * stratad's API: the image as a volume fetched from this cloud by a signed
 * URL and checked by its SHA-512, then the domain defined and started. A
 * failed build is cleaned off the host, its claim released, and the next
 * alternate tried, up to the scheduler's max_attempts; then ERROR with a
 * fault saying what the host said. A delete (also while building) removes
 * the domain and its volumes from the host and releases the claim. */
#ifndef STRATA_CLOUD_SERVERS_H
#define STRATA_CLOUD_SERVERS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "cloud/compute/compute.h"
#include "cloud/compute/hosts.h"
#include "cloud/db/db.h"
#include "cloud/images/images.h"
#include "cloud/scheduler/scheduler.h"

#define SERVERS_URL_MAX 256

struct servers {
	struct db *db;
	struct images *images;
	const struct scheduler_config *sched;
	const struct hosts_config *hosts;
	/* How hosts reach this cloud (the image fetch URLs): "http://HOST:PORT". */
	char base_url[SERVERS_URL_MAX];
	unsigned char key[32]; /* signs the image fetch URLs; shared by the cloud's nodes */
	/* This controller's id (a UUID made at each start): the servers whose
	 * tasks its workers drive carry it (servers_reconcile.h). */
	char controller[37];
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned busy; /* workers running */
};

/* Loads (or makes) the signing key; the tables are compute__migrate's. */
int servers__init(struct servers *s, struct db *db, struct images *im,
		  const struct scheduler_config *sched, const struct hosts_config *hosts,
		  const char *base_url, struct st_err *err);
/* Waits for the workers to finish (the daemon's stop). */
void servers__fini(struct servers *s);

/* POST /servers: body {"server": {...}, "os:scheduler_hints": {...}};
 * *out {"server": {"id", "adminPass", ...}} or {"reservation_id"}. */
int servers__create(struct servers *s, const struct compute_caller *c, json_t *body,
		    json_t **out, struct st_err *err);
/* GET /servers[/detail]: Nova's filters, sort and paging from q; *out an
 * array of server views (id and name unless detail). */
int servers__list(struct servers *s, const struct compute_caller *c,
		  const struct compute_query *q, bool detail, json_t **out, struct st_err *err);
int servers__get(struct servers *s, const struct compute_caller *c, const char *id,
		 json_t **out, struct st_err *err);
/* The server's row (servers_db.h) if c may act on it under policy rule;
 * another project's server is ENOENT, as in Nova. */
int servers__find(struct servers *s, const struct compute_caller *c, const char *id,
		  const char *rule, json_t **row, struct st_err *err);
/* DELETE /servers/{id}: answered at once; the worker cleans the host. */
int servers__delete(struct servers *s, const struct compute_caller *c, const char *id,
		    struct st_err *err);

/* --- the image data hosts fetch (servers_fetch.c) --- */
/* The URL a host fetches an image's data from, valid for a while. */
int servers__fetch_url(struct servers *s, const char *image_id, char *out, size_t size,
		       struct st_err *err);
/* The data's fd and size when expires (epoch seconds, not past) and sig
 * match; EPERM otherwise. */
int servers__fetch_open(struct servers *s, const char *image_id, const char *expires,
			const char *sig, int *fd, uint64_t *size, struct st_err *err);

#endif
