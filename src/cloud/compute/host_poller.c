/* The heartbeat: a thread that asks every host for its resources each
 * poll interval. Several controllers on one database each poll; the rows
 * take the latest answer. */
#include "cloud/compute/hosts.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

struct hosts_poller {
	struct db *db;
	unsigned interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

static void *poll_loop(void *arg)
{
	struct hosts_poller *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		pthread_mutex_unlock(&p->lock);
		hosts__poll_all(p->db);
		pthread_mutex_lock(&p->lock);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += p->interval_s;
		while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int hosts__poller_start(struct db *db, const struct hosts_config *cfg, struct hosts_poller **out,
			struct st_err *err)
{
	struct hosts_poller *p = calloc(1, sizeof(*p));
	if (!p)
		return err__fail(err, ENOMEM, "host poller");
	p->db = db;
	p->interval_s = cfg->poll_interval_s ? cfg->poll_interval_s : HOSTS_POLL_INTERVAL_DEFAULT;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->lock, NULL);
	int rc = pthread_create(&p->thread, NULL, poll_loop, p);
	if (rc) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return err__fail(err, rc, "starting the host poller");
	}
	log__info("polling compute hosts every %u s", p->interval_s);
	*out = p;
	return 0;
}

void hosts__poller_stop(struct hosts_poller *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
