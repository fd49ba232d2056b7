/* The HTTP server core's own types, shared by http_server.c (connections and
 * dispatch) and http_reply.c (building and sending replies). Not for users
 * of the core: they see only http_server.h. */
#ifndef STRATA_COMMON_HTTP_SERVER_INT_H
#define STRATA_COMMON_HTTP_SERVER_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <microhttpd.h>

#include "common/http_path.h"
#include "common/ratelimit.h"
#include "common/http_server.h"

#define HTTP_REPLY_HEADERS_MAX 8
#define HTTP_QUERY_ARGS_MAX 32

struct http_listener {
	struct http_server *srv;
	struct MHD_Daemon *daemon;
	int tag;
	bool unix_socket, tls;
};

struct http_server {
	struct http_server_opts opts;
	struct http_listener listeners[4];
	int nr_listeners;
	volatile int stopping;
	char *tls_cert, *tls_key; /* PEM text (MHD keeps pointers to it); NULL: plain HTTP */
	/* connections (http_conn.c) */
	pthread_mutex_t conn_lock;
	pthread_cond_t conn_wake;
	struct http_conn *conns;
	pthread_t watchdog;
	bool conn_init, watchdog_on, watchdog_quit;
	struct ratelimit refusal_log; /* under conn_lock */
};

enum http_reply_kind { REPLY_JSON, REPLY_TEXT, REPLY_FILE, REPLY_STREAM, REPLY_UPGRADE };

struct http_reply {
	struct http_request *req;
	unsigned status;
	enum http_reply_kind kind;
	json_t *json;
	char *text;
	char ctype[64];
	int fd;
	uint64_t size, offset; /* REPLY_FILE: size bytes from offset */
	void *fn; /* http_stream_fn or http_upgrade_fn */
	void *cls;
	void (*free_cls)(void *);
	char proto[64];
	struct {
		char *name, *value;
	} headers[HTTP_REPLY_HEADERS_MAX];
	int nr_headers;
};

struct http_request {
	struct http_server *srv;
	struct http_listener *ln;
	struct MHD_Connection *conn;
	char *uri;         /* raw; the query's '?' replaced by NUL */
	const char *query; /* raw, or NULL */
	const char *method;
	char id[48];
	bool started;
	const struct http_route *route;
	bool path_known; /* some route's path matched (405 rather than 404) */
	struct http_path_capture caps[HTTP_PATH_CAPTURES_MAX];
	char *cap_values[HTTP_PATH_CAPTURES_MAX];
	size_t nr_caps;
	struct {
		char *name, *value;
	} args[HTTP_QUERY_ARGS_MAX];
	size_t nr_args;
	char *body;
	size_t len, cap;
	bool too_large;
	bool failed; /* err holds the reply to give once the body is in */
	struct st_err err;
	void *upload;
	bool upload_open;
	void *user;
	void (*user_free)(void *);
	struct http_upgrade_ctx *upgrade; /* freed with the request: MHD keeps no destructor for it */
};

struct http_upgrade_ctx {
	http_upgrade_fn fn;
	void *cls;
	void (*free_cls)(void *);
	struct http_server *srv;
};

/* Reads and checks opts.tls_cert_file and tls_key_file into tls_cert and
 * tls_key (none: plain HTTP). */
int http_server_int__tls_load(struct http_server *s, struct st_err *err);
/* Queues rp on its connection and frees what it owns; the log hook runs. */
enum MHD_Result http_server_int__send(struct http_reply *rp);
void http_server_int__reply_init(struct http_reply *rp, struct http_request *req);
void http_server_int__reply_release(struct http_reply *rp);
/* The error body for status and message (made one line of valid UTF-8). */
json_t *http_server_int__error_body(const struct http_request *req, unsigned status, const char *message);
/* The same from server s's formatter, for errors outside a request (req NULL). */
json_t *http_server_int__error_json(const struct http_server *s, const struct http_request *req, unsigned status,
				    const char *message);

#endif
