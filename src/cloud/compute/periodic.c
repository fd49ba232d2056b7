/* The periodic thread: a monotonic-clock wait that a stop wakes at once. */
#include "cloud/compute/periodic.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct periodic {
	void (*fn)(void *arg, struct periodic *p);
	void *arg;
	unsigned interval_s;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

bool periodic__stopping(struct periodic *p)
{
	pthread_mutex_lock(&p->lock);
	bool stop = p->stopping;
	pthread_mutex_unlock(&p->lock);
	return stop;
}

static void *loop(void *arg)
{
	struct periodic *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		pthread_mutex_unlock(&p->lock);
		p->fn(p->arg, p);
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

int periodic__start(void (*fn)(void *arg, struct periodic *p), void *arg, unsigned interval_s,
		    struct periodic **out, struct st_err *err)
{
	struct periodic *p = calloc(1, sizeof(*p));
	if (!p)
		return err__fail(err, ENOMEM, "out of memory");
	*p = (struct periodic){.fn = fn, .arg = arg, .interval_s = interval_s};
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&p->lock, NULL);
	int rc = pthread_create(&p->thread, NULL, loop, p);
	if (rc) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return err__fail(err, rc, "starting a thread");
	}
	*out = p;
	return 0;
}

void periodic__stop(struct periodic *p)
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
