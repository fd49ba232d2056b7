#include "host/events.h"

#include <pthread.h>
#include <time.h>

#define EVENTS_RING 1024

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *ring[EVENTS_RING];
	uint64_t next; /* seq of the next event; ring[seq % EVENTS_RING] */
	int closed;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER};

void events__init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev.cond, &ca);
	pthread_condattr_destroy(&ca);
	ev.next = 1;
}

void events__emit(const char *kind, const char *object, const char *name, const char *uuid, const char *reason)
{
	events__emit_extra(kind, object, name, uuid, reason, NULL);
}

void events__emit_extra(const char *kind, const char *object, const char *name, const char *uuid, const char *reason,
			json_t *extra)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&ev.lock);
	json_t *e = json_pack("{s:I, s:f, s:s, s:s, s:s}", "seq", (json_int_t)ev.next,
			      "time", (double)ts.tv_sec + ts.tv_nsec / 1e9, "event", kind, "object", object,
			      "name", name);
	if (uuid)
		json_object_set_new(e, "uuid", json_string(uuid));
	json_object_set_new(e, "reason", json_string(reason ? reason : ""));
	if (extra)
		json_object_update_missing(e, extra);
	json_decref(extra);
	json_t **slot = &ev.ring[ev.next % EVENTS_RING];
	json_decref(*slot);
	*slot = e;
	ev.next++;
	pthread_cond_broadcast(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
}

uint64_t events__next_seq(void)
{
	pthread_mutex_lock(&ev.lock);
	uint64_t n = ev.next;
	pthread_mutex_unlock(&ev.lock);
	return n;
}

json_t *events__wait(uint64_t *seq, int timeout_ms, int *closed)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	json_t *e = NULL;
	pthread_mutex_lock(&ev.lock);
	while (!ev.closed && *seq >= ev.next)
		if (pthread_cond_timedwait(&ev.cond, &ev.lock, &until))
			break;
	*closed = ev.closed;
	if (!ev.closed && *seq < ev.next) {
		if (ev.next - *seq > EVENTS_RING - 1)
			*seq = ev.next - (EVENTS_RING - 1); /* a reader that fell behind skips ahead */
		e = json_incref(ev.ring[*seq % EVENTS_RING]);
		(*seq)++;
	}
	pthread_mutex_unlock(&ev.lock);
	return e;
}

void events__shutdown(void)
{
	pthread_mutex_lock(&ev.lock);
	ev.closed = 1;
	pthread_cond_broadcast(&ev.cond);
	pthread_mutex_unlock(&ev.lock);
}
