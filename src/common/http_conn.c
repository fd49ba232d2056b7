/* Connections of the HTTP server core: per-peer and total limits, and the
 * watchdog that closes requests whose bytes come too slowly (http_conn.h). */
#include "common/http_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "common/http_server_int.h"
#include "common/log.h"
#include "common/ratelimit.h"
#include "common/util.h"

struct http_conn {
	struct http_server *srv;
	int fd;
	char peer[INET6_ADDRSTRLEN + 8]; /* "uid 1000" or the address */
	bool root;
	bool refused, expired;
	bool linked;
	enum http_conn_phase phase;
	double since;       /* when the phase (or the body's window) began */
	size_t window_bytes; /* body bytes in the current window */
	struct http_conn *prev, *next;
};

static void peer_of(struct http_conn *c, bool unix_socket)
{
	if (unix_socket) {
		struct ucred cred = {.uid = (uid_t)-1};
		socklen_t len = sizeof(cred);
		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
			cred.uid = (uid_t)-1;
		c->root = cred.uid == 0;
		snprintf(c->peer, sizeof(c->peer), "uid %d", (int)cred.uid);
		return;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	snprintf(c->peer, sizeof(c->peer), "?");
	if (getpeername(c->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, c->peer, sizeof(c->peer));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, c->peer, sizeof(c->peer));
}

/* Why c may not have a place, or NULL; the caller holds conn_lock. */
static const char *refusal(struct http_server *s, const struct http_conn *c, unsigned *status, char *msg,
			   size_t size)
{
	const struct http_server_opts *o = &s->opts;
	unsigned all = 0, mine = 0;
	for (const struct http_conn *p = s->conns; p; p = p->next) {
		all++;
		mine += !strcmp(p->peer, c->peer);
	}
	unsigned cap = c->root ? o->conn_max : o->conn_max - ST_MIN(o->conn_reserve, o->conn_max);
	if (all >= cap) {
		*status = 503;
		snprintf(msg, size, "the server is at its connection limit (%u); try again later", cap);
		return msg;
	}
	if (!c->root && mine >= o->conn_max_peer) {
		*status = 429;
		snprintf(msg, size, "too many connections from %s (at most %u at once)", c->peer, o->conn_max_peer);
		return msg;
	}
	return NULL;
}

/* A refused connection's reply, written before MHD reads anything from it
 * (in the clear only: on TLS the connection is just closed). */
static void refuse(struct http_conn *c, bool tls, unsigned status, const char *msg)
{
	c->refused = true;
	if (!tls) {
		json_t *body = http_server_int__error_json(c->srv, NULL, status, msg);
		char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		char head[256];
		int n = snprintf(head, sizeof(head),
				 "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Retry-After: 1\r\nConnection: close\r\n\r\n",
				 status, status == 429 ? "Too Many Requests" : "Service Unavailable",
				 text ? strlen(text) + 1 : 0);
		if (text && n > 0 && send(c->fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n &&
		    send(c->fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
			send(c->fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		free(text);
	}
	/* MHD's thread for it sees the end of the stream at once */
	shutdown(c->fd, SHUT_RDWR);
}

/* A flood of refused connections must not drown the log: a burst of lines,
 * then one a second, and every 10 s one line counting those left out. */
static void log_refusal(struct http_server *s, const char *why)
{
	double now = ratelimit__now();
	long key;
	unsigned long n;
	if (ratelimit__take_suppressed(&s->refusal_log, now, 10, &key, &n))
		log__warn("refused %lu more connections (not logged one by one)", n);
	if (ratelimit__allow(&s->refusal_log, 0, now))
		log__warn("refusing a connection: %s", why);
}

static void link_conn(struct http_server *s, struct http_conn *c)
{
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	c->linked = true;
}

static void unlink_conn(struct http_server *s, struct http_conn *c)
{
	if (!c->linked)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->linked = false;
}

static void conn_started(struct http_listener *ln, struct MHD_Connection *conn, void **ctx)
{
	struct http_server *s = ln->srv;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c || !ci) { /* no bookkeeping, no service */
		free(c);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		return;
	}
	c->srv = s;
	c->fd = ci->connect_fd;
	peer_of(c, ln->unix_socket);
	c->phase = HTTP_CONN_HEAD;
	c->since = ratelimit__now();
	*ctx = c;
	char msg[160];
	unsigned status = 0;
	pthread_mutex_lock(&s->conn_lock);
	const char *why = refusal(s, c, &status, msg, sizeof(msg));
	if (!why)
		link_conn(s, c);
	else
		log_refusal(s, why);
	pthread_mutex_unlock(&s->conn_lock);
	if (why)
		refuse(c, ln->tls, status, why);
}

void http_conn__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code)
{
	struct http_listener *ln = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_started(ln, conn, socket_context);
		return;
	}
	struct http_conn *c = *socket_context;
	if (!c)
		return;
	pthread_mutex_lock(&ln->srv->conn_lock);
	unlink_conn(ln->srv, c); /* before MHD closes the fd: the watchdog never sees a reused one */
	pthread_mutex_unlock(&ln->srv->conn_lock);
	free(c);
	*socket_context = NULL;
}

static struct http_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

const struct http_server *http_conn__server(const void *socket_context)
{
	const struct http_conn *c = socket_context;
	return c ? c->srv : NULL;
}

bool http_conn__refused(struct MHD_Connection *conn)
{
	struct http_conn *c = conn_of(conn);
	return !c || c->refused;
}

void http_conn__phase(struct MHD_Connection *conn, enum http_conn_phase phase)
{
	struct http_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->srv->conn_lock);
	/* a kept-alive connection's next request line starts its head's deadline */
	if (!(phase == HTTP_CONN_HEAD && c->phase == HTTP_CONN_HEAD)) {
		c->phase = phase;
		c->since = ratelimit__now();
		c->window_bytes = 0;
	}
	pthread_mutex_unlock(&c->srv->conn_lock);
}

void http_conn__body(struct MHD_Connection *conn, size_t n)
{
	struct http_conn *c = conn_of(conn);
	if (!c)
		return;
	pthread_mutex_lock(&c->srv->conn_lock);
	c->window_bytes += n;
	pthread_mutex_unlock(&c->srv->conn_lock);
}

/* Why c's time is up, or NULL (and a body's window moves on). */
static const char *expired(struct http_server *s, struct http_conn *c, double now)
{
	double limit = s->opts.request_timeout_s, age = now - c->since;
	switch (c->phase) {
	case HTTP_CONN_HEAD:
		return age >= limit ? "no complete request line and headers" : NULL;
	case HTTP_CONN_IDLE:
		return age >= s->opts.timeout_s ? "idle" : NULL;
	case HTTP_CONN_BODY:
		if (age < limit)
			return NULL;
		if (c->window_bytes < limit * HTTP_CONN_BODY_MIN_RATE)
			return "the request body comes too slowly";
		c->since = now;
		c->window_bytes = 0;
		return NULL;
	case HTTP_CONN_REPLY:
	default:
		return NULL;
	}
}

static void *watchdog(void *arg)
{
	struct http_server *s = arg;
	pthread_mutex_lock(&s->conn_lock);
	while (!s->watchdog_quit) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 250 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&s->conn_wake, &s->conn_lock, &ts);
		double now = ratelimit__now();
		for (struct http_conn *c = s->conns; c; c = c->next) {
			const char *why = c->expired ? NULL : expired(s, c, now);
			if (!why)
				continue;
			c->expired = true;
			log__info("closing a connection from %s: %s within %u s", c->peer, why,
				  c->phase == HTTP_CONN_IDLE ? s->opts.timeout_s : s->opts.request_timeout_s);
			shutdown(c->fd, SHUT_RDWR); /* fd stays valid: MHD closes it only after NOTIFY_CLOSED */
		}
	}
	pthread_mutex_unlock(&s->conn_lock);
	return NULL;
}

int http_conn__start(struct http_server *s, struct st_err *err)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->conn_wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->conn_lock, NULL);
	s->refusal_log = (struct ratelimit){.rate = 1, .burst = 10};
	s->conn_init = true;
	if (pthread_create(&s->watchdog, NULL, watchdog, s))
		return err__fail(err, 0, "cannot start the HTTP server's watchdog");
	s->watchdog_on = true;
	return 0;
}

void http_conn__stop(struct http_server *s)
{
	if (s->watchdog_on) {
		pthread_mutex_lock(&s->conn_lock);
		s->watchdog_quit = true;
		pthread_cond_signal(&s->conn_wake);
		pthread_mutex_unlock(&s->conn_lock);
		pthread_join(s->watchdog, NULL);
		s->watchdog_on = false;
	}
}
