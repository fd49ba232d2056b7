/* One HTTP server core for every Strata daemon (stratad, strata-cloud, the web
 * UI): libmicrohttpd with a thread per connection, listening on unix sockets
 * and TCP, dispatching on a table of routes by method and path template.
 *
 *   static const struct http_route routes[] = {
 *       {"GET", "/v1/domains/{name}", dom_info},
 *       {"PUT", "/v1/pools/{pool}/volumes/{vol}/data", vol_uploaded, .upload = &upload_ops},
 *   };
 *
 * Routing is on the raw (undecoded) path, so "%2F" never splits a segment;
 * captures are decoded after the match, and one holding a NUL or a '/' is a
 * 400. A handler returns 0 with the reply filled (http_reply__json() ...), or
 * -1 with err: the error's class (errnum) picks the status
 * (http_server__status_of; set it with err__fail_class from common/err.h) and
 * the server's error formatter the body. */
#ifndef STRATA_COMMON_HTTP_SERVER_H
#define STRATA_COMMON_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"

struct http_server;
struct http_request;
struct http_reply;

typedef int (*http_handler_fn)(struct http_request *req, struct http_reply *reply, struct st_err *err);

/* A route whose body is streamed to the application instead of buffered
 * (uploads of any size). begin runs once the headers are in; write for each
 * piece of the body; then the route's handler runs with the state
 * (http_request__upload_state). If begin fails, the error is the reply: at
 * once when the body is larger than the server's body_max (or of unknown
 * size), else after the body was read and dropped (a client still sending
 * would see an early reply as a broken pipe). If write fails, the rest of
 * the body is dropped and that error is the reply. abort runs whenever the
 * state is not handed to the handler (failure, dropped connection). */
struct http_upload_ops {
	int (*begin)(struct http_request *req, void **state, struct st_err *err);
	int (*write)(void *state, const char *data, size_t len, struct st_err *err);
	void (*abort)(void *state);
};

struct http_route {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* "/v1/domains/{name}/disks/{target}": a {capture} is one segment */
	http_handler_fn handler;
	const struct http_upload_ops *upload; /* NULL: the body is buffered (up to body_max) */
	const void *data;     /* the route's own datum, for handlers shared by routes */
};

/* A per-server error body: stratad's {"error": {"code", "message"}}, OpenStack's
 * {"error": {"code", "title", "message"}}, Nova's {"itemNotFound": {...}}.
 * req is NULL for errors found before a request was parsed. Returns a new
 * reference. */
typedef json_t *(*http_error_fn)(const struct http_request *req, unsigned status, const char *message, void *app);

/* Runs around every route handler (not the upload callbacks): a place for
 * locks, access checks and policy. It calls fn(req, reply, err) itself. */
typedef int (*http_wrap_fn)(struct http_request *req, struct http_reply *reply, http_handler_fn fn,
			    struct st_err *err);

/* Once per request, when its headers are in and before any route runs:
 * authentication. Failing refuses the request (its status from the error's
 * class: EKEYREJECTED 401, EACCES 403). May attach its findings with
 * http_request__set_user(). */
typedef int (*http_auth_fn)(struct http_request *req, struct st_err *err);

/* After each reply is queued: access logs, audit tables. */
typedef void (*http_log_fn)(const struct http_request *req, unsigned status, void *app);

/* The WWW-Authenticate challenge sent with every 401 (RFC 9110 wants one),
 * e.g. Keystone's `Keystone uri="https://host/identity"`. Returns a malloc'd
 * value, or NULL for none. */
typedef char *(*http_challenge_fn)(const struct http_request *req, void *app);

struct http_server_opts {
	const struct http_route *routes;
	size_t nr_routes;
	void *app;                     /* the application's context: http_request__app() */
	size_t body_max;               /* largest buffered body; 0: 1 MiB */
	const char *request_id_header; /* e.g. "x-openstack-request-id"; NULL: none */
	http_error_fn format_error;    /* NULL: {"error": {"code", "message"}} */
	http_auth_fn authenticate;     /* optional */
	http_wrap_fn wrap;             /* optional */
	http_log_fn log;               /* optional */
	http_handler_fn not_found;     /* no route's path matches; NULL: 404 "no such endpoint" */
	unsigned timeout_s;            /* idle connection timeout; 0: 120 */
	/* Connections (common/http_conn.h has the rules): a peer is a uid on a
	 * unix socket, an address on TCP; root keeps conn_reserve places. */
	unsigned conn_max;             /* in all; 0: 512 */
	unsigned conn_max_peer;        /* per peer; 0: conn_max (behind a proxy every client is one address) */
	unsigned conn_reserve;         /* of conn_max, root's only; 0: 8 */
	unsigned request_timeout_s;    /* a request's line and headers, and each window of its body; 0: 30 */
	http_challenge_fn challenge;   /* optional */
	/* HTTPS (GnuTLS through libmicrohttpd) on every TCP listener: PEM files of
	 * the certificate (chain) and its private key, both or neither; checked by
	 * http_server__new. Without them a TCP listener must be on a loopback
	 * address: plain HTTP elsewhere is refused. */
	const char *tls_cert_file;
	const char *tls_key_file;
};

int http_server__new(const struct http_server_opts *opts, struct http_server **out, struct st_err *err);
/* Serves on a unix socket (created; an old socket file is replaced) or on
 * "HOST:PORT" (HTTPS when the server has a certificate; plain HTTP only on a
 * loopback address); tag tells the listeners apart (http_request__listener). */
int http_server__listen_unix(struct http_server *s, const char *path, int tag, struct st_err *err);
int http_server__listen_tcp(struct http_server *s, const char *addr, int tag, struct st_err *err);
/* Stops every listener (waits for their connections: upgraded ones see
 * http_server__stopping()) and frees the server. */
void http_server__free(struct http_server *s);
bool http_server__stopping(const struct http_server *s);
/* The scheme TCP clients use: "https" with a certificate, else "http". */
const char *http_server__scheme(const struct http_server *s);

/* The status for an error class: EINVAL 400, EKEYREJECTED 401, EACCES/EPERM 403,
 * ENOENT 404, EEXIST/EBUSY 409, E2BIG 413, EREMOTEIO 502 (a server this one
 * fetched from failed), ENOSPC/EDQUOT 507 (a full disk or quota); anything
 * else 500. */
unsigned http_server__status_of(const struct st_err *err);

/* --- the request --- */
const char *http_request__method(const struct http_request *r);
const char *http_request__path(const struct http_request *r); /* raw, without the query */
const char *http_request__id(const struct http_request *r);
/* A decoded capture of the route's template by name, or NULL. */
const char *http_request__capture(const struct http_request *r, const char *name);
/* A decoded query argument ("a+b" is "a b"), or NULL when absent. */
const char *http_request__query(const struct http_request *r, const char *name);
/* A query flag: present as 1, true or yes. */
bool http_request__query_flag(const struct http_request *r, const char *name);
/* Repeated names ("tag=a&tag=b"): the nth value of name (0 is the one
 * http_request__query gives), NULL past the last. */
const char *http_request__query_nth(const struct http_request *r, const char *name, size_t nth);
/* Every argument in the request's order: the ith's name and value (decoded);
 * false past the last. */
bool http_request__query_at(const struct http_request *r, size_t i, const char **name,
			    const char **value);
const char *http_request__header(const struct http_request *r, const char *name);
/* The buffered body ("" and 0 when none). */
const char *http_request__body(const struct http_request *r, size_t *len);
/* The body as JSON: fails (EINVAL) without a body or with the parser's message. */
int http_request__body_json(const struct http_request *r, json_t **out, struct st_err *err);
bool http_request__wants_upgrade(const struct http_request *r, const char *proto);
const struct http_route *http_request__route(const struct http_request *r);
void *http_request__app(const struct http_request *r);
const struct http_server *http_request__server(const struct http_request *r);
int http_request__listener(const struct http_request *r); /* the listener's tag */
int http_request__socket(const struct http_request *r);   /* the connection's fd (peer credentials) */
void *http_request__upload_state(const struct http_request *r);
/* The authentication hook's findings, freed with free_fn after the request. */
void http_request__set_user(struct http_request *r, void *user, void (*free_fn)(void *));
void *http_request__user(const struct http_request *r);

/* --- the reply (each setter takes ownership of what it is given) --- */
/* A JSON body (a trailing newline is added); status 0 keeps the default 200. */
void http_reply__json(struct http_reply *rp, unsigned status, json_t *body);
/* A malloc'd text body of the given content type, sent as is. */
void http_reply__text(struct http_reply *rp, unsigned status, const char *ctype, char *text);
/* An error body through the server's formatter, with an explicit status; returns 0. */
int http_reply__error(struct http_reply *rp, unsigned status, const char *message);
/* size bytes of a file from its start (downloads; sent with sendfile on
 * plain HTTP); the fd is the reply's. */
void http_reply__file(struct http_reply *rp, unsigned status, const char *ctype, int fd, uint64_t size);
/* size bytes of a file from offset (a Range's 206). */
void http_reply__file_range(struct http_reply *rp, unsigned status, const char *ctype, int fd,
			    uint64_t offset, uint64_t size);

/* A body produced piece by piece (event streams): read fills buf (at most max
 * bytes) and returns how many, HTTP_STREAM_END or HTTP_STREAM_ERROR; it may
 * block. free_cls runs when the reply is done. */
#define HTTP_STREAM_END ((ssize_t)-1)
#define HTTP_STREAM_ERROR ((ssize_t)-2)
typedef ssize_t (*http_stream_fn)(void *cls, char *buf, size_t max);
void http_reply__stream(struct http_reply *rp, unsigned status, const char *ctype, http_stream_fn read, void *cls,
			void (*free_cls)(void *));

/* 101 Switching Protocols to proto; fn then owns the connection's socket (in
 * blocking mode) on the connection's thread (it may block; extra holds bytes the client sent
 * after the headers) until it returns, and the connection is closed. */
typedef void (*http_upgrade_fn)(void *cls, int sock, const char *extra, size_t extra_len,
				const struct http_server *s);
void http_reply__upgrade(struct http_reply *rp, const char *proto, http_upgrade_fn fn, void *cls,
			 void (*free_cls)(void *));

/* An extra header on the reply (copied). */
void http_reply__header(struct http_reply *rp, const char *name, const char *value);
/* The status the reply has so far (200 by default). */
unsigned http_reply__status(const struct http_reply *rp);

#endif
