/* The HTTP server core's connections (internal to the core): who is
 * connected, how many per peer, and deadlines a client cannot stretch by
 * trickling bytes. A peer is a uid on a unix socket (SO_PEERCRED) and an
 * address on TCP. With a thread per connection, these bounds are what keeps
 * one hostile client from taking every thread:
 *   - a connection over opts.conn_max_peer for its peer is answered 429, one
 *     over opts.conn_max in all 503 (JSON, then closed); the last
 *     opts.conn_reserve places are root's (uid 0 on a unix socket);
 *   - a request's line and headers must be in within opts.request_timeout_s
 *     of its connection's start (later requests on a kept-alive connection:
 *     of their request line), however the bytes trickle;
 *   - a body must keep coming at HTTP_CONN_BODY_MIN_RATE bytes a second,
 *     measured over windows of request_timeout_s.
 * A connection that misses a deadline is shut down (the client sees the
 * connection close). Replies (downloads, event streams, upgrades) have no
 * deadline: MHD's idle timeout (opts.timeout_s) covers a client that stops
 * reading. */
#ifndef STRATA_COMMON_HTTP_CONN_H
#define STRATA_COMMON_HTTP_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include <microhttpd.h>

#include "common/err.h"

#define HTTP_CONN_BODY_MIN_RATE 1024u

struct http_server;
struct http_listener;

enum http_conn_phase {
	HTTP_CONN_HEAD,  /* waiting for a request's line and headers */
	HTTP_CONN_IDLE,  /* kept alive between requests */
	HTTP_CONN_BODY,  /* receiving a request's body */
	HTTP_CONN_REPLY, /* the handler runs or the reply goes out */
};

/* Starts the deadline watchdog; http_conn__stop ends it. */
int http_conn__start(struct http_server *s, struct st_err *err);
void http_conn__stop(struct http_server *s);

/* MHD_OPTION_NOTIFY_CONNECTION (cls: the listener): counts and refuses. */
void http_conn__notify(void *cls, struct MHD_Connection *conn, void **socket_context,
		       enum MHD_ConnectionNotificationCode code);

/* The server of a connection's context (MHD's socket context), or NULL. */
const struct http_server *http_conn__server(const void *socket_context);
/* A connection refused at its start: no request on it may run. */
bool http_conn__refused(struct MHD_Connection *conn);
/* The connection's request moved on (see enum http_conn_phase). */
void http_conn__phase(struct MHD_Connection *conn, enum http_conn_phase phase);
/* n more bytes of a request's body arrived. */
void http_conn__body(struct MHD_Connection *conn, size_t n);

#endif
