/* /v1/host, /v1/audit and /v1/events (the event stream, server-sent events). */
#include "host/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "host/domains.h"
#include "host/events.h"
#include "host/host_resources.h"
#include "host/hoststats.h"
#include "host/store.h"

#define SSE_KEEPALIVE_MS 15000

static int host_info(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)err;
	struct host *h = routes__host(r);
	const struct routes_ctx *p = routes__ctx(r);
	unsigned running = 0;
	for (struct dom *d = h->doms; d; d = d->next)
		running += d->state != DOM_SHUTOFF;
	http_reply__json(rp, 200,
			 json_pack("{s:s, s:i, s:i, s:i, s:i, s:b, s:o}", "version", STRATA_VERSION, "schema",
				   store__schema_version(h->store), "domains", (int)h->nr_doms, "active", (int)running,
				   "uid", (int)p->uid, "write_access", p->can_write, "resources",
				   host_resources__get(h->state_dir)));
	return 0;
}

/* The dashboard's figures: the host's samples after ?since= (epoch ms) and the guests by state. */
static int host_stats(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	uint64_t since = 0;
	if (routes__query_u64(r, "since", UINT64_MAX / 2, &since, err) < 0)
		return -1;
	struct host *h = routes__host(r);
	json_t *guests = json_pack("{s:i, s:i, s:i}", "running", 0, "paused", 0, "shutoff", 0);
	for (struct dom *d = h->doms; d; d = d->next) {
		const char *state = domains__state_name(d);
		json_object_set_new(guests, state, json_integer(json_integer_value(json_object_get(guests, state)) + 1));
	}
	json_t *o = hoststats__since((int64_t)since);
	json_object_set_new(o, "guests", guests);
	http_reply__json(rp, 200, o);
	return 0;
}

static int audit_list(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	uint64_t limit = 100;
	if (routes__query_u64(r, "limit", 100000, &limit, err) < 0)
		return -1;
	if (!routes__ctx(r)->can_write)
		return err__fail_class(err, EACCES, "the audit log needs full access");
	http_reply__json(rp, 200, store__audit_list(routes__host(r)->store, (unsigned)limit));
	return 0;
}

/* The event stream: "event: KIND\ndata: {json}\n\n" per event, a comment
 * line as keepalive; the first line says the subscription is live. */
struct sse {
	uint64_t seq;
	char *filter; /* domain name, or NULL */
	char *pending;
	size_t plen, poff;
};

static ssize_t sse_read(void *cls, char *buf, size_t max)
{
	struct sse *s = cls;
	while (s->poff == s->plen) {
		free(s->pending);
		s->pending = NULL;
		s->plen = s->poff = 0;
		int closed = 0;
		json_t *e = events__wait(&s->seq, SSE_KEEPALIVE_MS, &closed);
		if (closed)
			return HTTP_STREAM_END;
		if (!e) {
			s->pending = strdup(": keepalive\n\n");
		} else {
			const char *name = json_string_value(json_object_get(e, "name"));
			if (s->filter && strcmp(s->filter, name)) {
				json_decref(e);
				continue;
			}
			char *data = json_dumps(e, JSON_COMPACT);
			if (asprintf(&s->pending, "id: %lld\nevent: %s\ndata: %s\n\n",
				     (long long)json_integer_value(json_object_get(e, "seq")),
				     json_string_value(json_object_get(e, "event")), data) < 0)
				s->pending = NULL;
			free(data);
			json_decref(e);
		}
		if (!s->pending)
			return HTTP_STREAM_ERROR;
		s->plen = strlen(s->pending);
	}
	size_t n = ST_MIN(s->plen - s->poff, max);
	memcpy(buf, s->pending + s->poff, n);
	s->poff += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *s = cls;
	free(s->pending);
	free(s->filter);
	free(s);
}

static int events_stream(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct sse *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "events");
	const char *since = http_request__query(r, "since"), *dom = http_request__query(r, "domain");
	s->seq = since ? strtoull(since, NULL, 10) : events__next_seq();
	s->filter = dom ? strdup(dom) : NULL;
	if (asprintf(&s->pending, ": subscribed seq=%llu\n\n", (unsigned long long)s->seq) < 0)
		s->pending = NULL;
	s->plen = s->pending ? strlen(s->pending) : 0;
	http_reply__stream(rp, 200, "text/event-stream", sse_read, s, sse_free);
	http_reply__header(rp, "Cache-Control", "no-cache");
	return 0;
}

const struct http_route routes__table_host[] = {
	{"GET", "/v1/host", host_info, NULL, NULL},
	{"GET", "/v1/host/stats", host_stats, NULL, NULL},
	{"GET", "/v1/audit", audit_list, NULL, NULL},
	{"GET", "/v1/events", events_stream, NULL, NULL},
};
const size_t routes__nr_host = sizeof(routes__table_host) / sizeof(routes__table_host[0]);
