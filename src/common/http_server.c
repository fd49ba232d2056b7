/* The HTTP server core: listeners, requests, routing and the body (buffered or
 * streamed to an upload route). Replies are built and sent in http_reply.c. */
#include "common/http_server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/http_conn.h"
#include "common/http_server_int.h"
#include "common/sock.h"
#include "common/util.h"

#define BODY_MAX_DEFAULT (1u << 20)

unsigned http_server__status_of(const struct st_err *err)
{
	switch (err->errnum) {
	case EINVAL: return 400;
	case EKEYREJECTED: return 401;
	case EACCES: case EPERM: return 403;
	case ENOENT: return 404;
	case EEXIST: case EBUSY: return 409;
	case E2BIG: return 413;
	case EREMOTEIO: return 502;
	case ENOSPC: case EDQUOT: return 507;
	default: return 500;
	}
}

bool http_server__stopping(const struct http_server *s)
{
	return s->stopping;
}

const char *http_server__scheme(const struct http_server *s)
{
	return s->tls_cert ? "https" : "http";
}

/* --- the request, as handlers see it --- */

const char *http_request__method(const struct http_request *r)
{
	return r->method;
}

const char *http_request__path(const struct http_request *r)
{
	return r->uri;
}

const char *http_request__id(const struct http_request *r)
{
	return r->id;
}

const char *http_request__capture(const struct http_request *r, const char *name)
{
	size_t n = strlen(name);
	for (size_t i = 0; i < r->nr_caps; i++)
		if (r->caps[i].name_len == n && !memcmp(r->caps[i].name, name, n))
			return r->cap_values[i];
	return NULL;
}

const char *http_request__query(const struct http_request *r, const char *name)
{
	return http_request__query_nth(r, name, 0);
}

const char *http_request__query_nth(const struct http_request *r, const char *name, size_t nth)
{
	for (size_t i = 0; i < r->nr_args; i++)
		if (!strcmp(r->args[i].name, name) && nth-- == 0)
			return r->args[i].value;
	return NULL;
}

bool http_request__query_at(const struct http_request *r, size_t i, const char **name,
			    const char **value)
{
	if (i >= r->nr_args)
		return false;
	*name = r->args[i].name;
	*value = r->args[i].value;
	return true;
}

bool http_request__query_flag(const struct http_request *r, const char *name)
{
	const char *v = http_request__query(r, name);
	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes"));
}

const char *http_request__header(const struct http_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_request__body(const struct http_request *r, size_t *len)
{
	if (len)
		*len = r->len;
	return r->body ? r->body : "";
}

int http_request__body_json(const struct http_request *r, json_t **out, struct st_err *err)
{
	json_error_t jerr;
	if (!r->len)
		return err__fail_class(err, EINVAL, "the request needs a JSON body");
	*out = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return err__fail_class(err, EINVAL, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column,
					 jerr.text);
	return 0;
}

bool http_request__wants_upgrade(const struct http_request *r, const char *proto)
{
	const char *up = http_request__header(r, "Upgrade");
	return up && !strcasecmp(up, proto);
}

const struct http_route *http_request__route(const struct http_request *r)
{
	return r->route;
}

void *http_request__app(const struct http_request *r)
{
	return r->srv->opts.app;
}

const struct http_server *http_request__server(const struct http_request *r)
{
	return r->srv;
}

int http_request__listener(const struct http_request *r)
{
	return r->ln->tag;
}

int http_request__socket(const struct http_request *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	return ci ? ci->connect_fd : -1;
}

void *http_request__upload_state(const struct http_request *r)
{
	return r->upload;
}

void http_request__set_user(struct http_request *r, void *user, void (*free_fn)(void *))
{
	if (r->user_free)
		r->user_free(r->user);
	r->user = user;
	r->user_free = free_fn;
}

void *http_request__user(const struct http_request *r)
{
	return r->user;
}

/* --- the request's life --- */

static void request_id(char out[48])
{
	uint8_t b[16] = {0};
	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != sizeof(b))
		for (size_t i = 0; i < sizeof(b); i++) /* never blocks a reply; ids need only be unique-ish */
			b[i] = (uint8_t)(rand() >> 7);
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 48, "req-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
		 b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* MHD's URI log callback: the only place that sees the URI before MHD
 * decodes it, so the request starts here. */
static void *request_new(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_listener *ln = cls;
	if (http_conn__refused(conn))
		return NULL;
	http_conn__phase(conn, HTTP_CONN_HEAD);
	struct http_request *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->srv = ln->srv;
	r->ln = ln;
	r->conn = conn;
	r->uri = strdup(uri);
	if (!r->uri) {
		free(r);
		return NULL;
	}
	char *q = strchr(r->uri, '?');
	if (q) {
		*q = 0;
		r->query = q + 1;
	}
	request_id(r->id);
	return r;
}

static void request_free(struct http_request *r)
{
	if (r->upload_open && r->route && r->route->upload->abort)
		r->route->upload->abort(r->upload);
	for (size_t i = 0; i < r->nr_caps; i++)
		free(r->cap_values[i]);
	for (size_t i = 0; i < r->nr_args; i++) {
		free(r->args[i].name);
		free(r->args[i].value);
	}
	if (r->user_free)
		r->user_free(r->user);
	if (r->upgrade) {
		if (r->upgrade->free_cls)
			r->upgrade->free_cls(r->upgrade->cls);
		free(r->upgrade);
	}
	free(r->body);
	free(r->uri);
	free(r);
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)toe;
	if (*con_cls)
		request_free(*con_cls);
	*con_cls = NULL;
	http_conn__phase(conn, HTTP_CONN_IDLE);
}

static int parse_query(struct http_request *r, struct st_err *err)
{
	for (const char *p = r->query; p && *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t nlen = eq ? (size_t)(eq - p) : len;
		if (len && r->nr_args == HTTP_QUERY_ARGS_MAX)
			return err__fail_class(err, EINVAL, "too many query arguments");
		if (len) {
			char **name = &r->args[r->nr_args].name, **value = &r->args[r->nr_args].value;
			if (http_path__decode(p, nlen, false, true, name, err) < 0)
				return -1;
			r->nr_args++;
			if (http_path__decode(eq ? eq + 1 : p + len, eq ? len - nlen - 1 : 0, false, true, value, err) < 0)
				return -1;
		}
		p += len + (p[len] == '&');
	}
	return 0;
}

/* The route for the request's method and path; captures decoded. */
static int find_route(struct http_request *r, struct st_err *err)
{
	const struct http_server_opts *o = &r->srv->opts;
	struct http_path_capture caps[HTTP_PATH_CAPTURES_MAX];
	size_t n;
	for (size_t i = 0; i < o->nr_routes; i++) {
		if (!http_path__match(o->routes[i].path, r->uri, caps, &n))
			continue;
		r->path_known = true;
		if (strcmp(o->routes[i].method, r->method)) {
			/* a bad name is a 400 whatever the method */
			for (size_t k = 0; k < n; k++) {
				char *v;
				if (http_path__decode(caps[k].raw, caps[k].raw_len, true, false, &v, err) < 0)
					return -1;
				free(v);
			}
			continue;
		}
		r->route = &o->routes[i];
		memcpy(r->caps, caps, sizeof(caps));
		for (r->nr_caps = 0; r->nr_caps < n; r->nr_caps++)
			if (http_path__decode(caps[r->nr_caps].raw, caps[r->nr_caps].raw_len, true, false,
					      &r->cap_values[r->nr_caps], err) < 0)
				return -1;
		return 0;
	}
	return 0;
}

static enum MHD_Result reply_error_now(struct http_request *r, unsigned status, const char *msg)
{
	struct http_reply rp;
	http_server_int__reply_init(&rp, r);
	http_reply__error(&rp, status, msg);
	return http_server_int__send(&rp);
}

static const char *size_text(size_t n, char *buf, size_t len)
{
	if (n % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", n >> 20);
	else if (n % 1024 == 0)
		snprintf(buf, len, "%zu KiB", n >> 10);
	else
		snprintf(buf, len, "%zu bytes", n);
	return buf;
}

static enum MHD_Result too_large(struct http_request *r)
{
	char size[32], msg[64];
	snprintf(msg, sizeof(msg), "request body larger than %s", size_text(r->srv->opts.body_max, size, sizeof(size)));
	return reply_error_now(r, 413, msg);
}

/* A refusal sent while the client is still writing its body is often lost:
 * the connection closes with the body unread, the kernel answers the rest
 * with a reset, and the client sees EPIPE or ECONNRESET instead of the 4xx.
 * So a body of known, moderate size is read and dropped before the answer (as
 * nginx's lingering close does); a huge or unknown one, or one the client
 * holds back until "100 Continue", is answered at once. */
#define HTTP_DRAIN_MAX (64u << 20)

static bool drains(struct http_request *r, const char *content_length)
{
	if (!content_length || strtoull(content_length, NULL, 10) > HTTP_DRAIN_MAX)
		return false;
	const char *expect = http_request__header(r, "Expect");
	return !expect || strcasecmp(expect, "100-continue");
}

/* The headers are in: authenticate, route, open an upload. */
static enum MHD_Result request_start(struct http_request *r)
{
	const struct http_server_opts *o = &r->srv->opts;
	r->started = true;
	http_conn__phase(r->conn, HTTP_CONN_BODY);
	const char *cl = http_request__header(r, "Content-Length");
	bool over = cl && strtoull(cl, NULL, 10) > o->body_max;
	bool large = !cl || over; /* an unknown length may be large too */
	bool answer_now = !drains(r, cl);
	if (o->authenticate && o->authenticate(r, &r->err) < 0) {
		if (answer_now)
			return reply_error_now(r, http_server__status_of(&r->err), r->err.msg);
		r->failed = true; /* request_run answers once the body is dropped */
		return MHD_YES;
	}
	if (parse_query(r, &r->err) < 0 || find_route(r, &r->err) < 0) {
		r->failed = true;
		r->route = NULL;
	} else if (r->route && r->route->upload) {
		if (r->route->upload->begin(r, &r->upload, &r->err) < 0) {
			r->failed = true;
			if (large && answer_now)
				return reply_error_now(r, http_server__status_of(&r->err), r->err.msg);
		} else {
			r->upload_open = true;
		}
		return MHD_YES;
	}
	if (over) {
		if (answer_now)
			return too_large(r);
		r->too_large = true; /* request_data drops the body, request_run answers */
	}
	return MHD_YES;
}

static enum MHD_Result request_data(struct http_request *r, const char *data, size_t size)
{
	http_conn__body(r->conn, size);
	if (r->route && r->route->upload) {
		if (r->upload_open && r->route->upload->write(r->upload, data, size, &r->err) < 0) {
			r->route->upload->abort(r->upload);
			r->upload_open = false;
			r->failed = true;
		}
		return MHD_YES;
	}
	size_t max = r->srv->opts.body_max;
	if (r->failed)
		return MHD_YES; /* refused already: the body is dropped */
	if (r->too_large || r->len + size > max) {
		r->too_large = true;
		return MHD_YES;
	}
	if (r->len + size + 1 > r->cap) {
		size_t cap = ST_MIN((r->len + size + 1) * 2, max + 1);
		char *b = realloc(r->body, cap);
		if (!b)
			return MHD_NO;
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, size);
	r->len += size;
	r->body[r->len] = 0;
	return MHD_YES;
}

/* The whole request is in: run its route. */
static enum MHD_Result request_run(struct http_request *r)
{
	const struct http_server_opts *o = &r->srv->opts;
	if (r->too_large && !r->failed)
		return too_large(r);
	struct http_reply rp;
	http_server_int__reply_init(&rp, r);
	struct st_err err = {0};
	int rc;
	if (r->failed) {
		rc = -1;
		err = r->err;
	} else if (!r->route && r->path_known) {
		rc = http_reply__error(&rp, 405, "method not allowed here");
	} else if (!r->route) {
		rc = o->not_found ? o->not_found(r, &rp, &err) : err__fail_class(&err, ENOENT, "no such endpoint");
	} else {
		r->upload_open = false; /* the handler owns the upload's state now */
		rc = o->wrap ? o->wrap(r, &rp, r->route->handler, &err) : r->route->handler(r, &rp, &err);
	}
	if (rc < 0)
		http_reply__error(&rp, http_server__status_of(&err), err.msg[0] ? err.msg : "internal error");
	return http_server_int__send(&rp);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)url, (void)version;
	(void)cls, (void)conn;
	struct http_request *r = *con_cls; /* made by request_new */
	if (!r)
		return MHD_NO;
	if (!r->started) {
		r->method = method;
		return request_start(r);
	}
	if (*upload_size) {
		enum MHD_Result res = request_data(r, upload_data, *upload_size);
		*upload_size = 0;
		return res;
	}
	return request_run(r);
}

/* --- the server --- */

int http_server__new(const struct http_server_opts *opts, struct http_server **out, struct st_err *err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "HTTP server");
	s->opts = *opts;
	if (!s->opts.body_max)
		s->opts.body_max = BODY_MAX_DEFAULT;
	if (!s->opts.timeout_s)
		s->opts.timeout_s = 120;
	if (!s->opts.conn_max)
		s->opts.conn_max = 512;
	if (!s->opts.conn_max_peer)
		s->opts.conn_max_peer = s->opts.conn_max;
	if (!s->opts.conn_reserve)
		s->opts.conn_reserve = ST_MIN(8u, s->opts.conn_max / 4);
	if (!s->opts.request_timeout_s)
		s->opts.request_timeout_s = 30;
	if (http_server_int__tls_load(s, err) < 0 || http_conn__start(s, err) < 0) {
		http_server__free(s);
		return -1;
	}
	*out = s;
	return 0;
}

static const unsigned daemon_flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				     MHD_USE_ITC | MHD_ALLOW_UPGRADE;

static bool is_unix(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_UNIX;
}

static int serve_fd(struct http_server *s, int fd, int tag, bool tls, const char *where, struct st_err *err)
{
	if (s->nr_listeners == (int)(sizeof(s->listeners) / sizeof(s->listeners[0]))) {
		close(fd);
		return err__fail(err, 0, "too many listeners");
	}
	struct http_listener *ln = &s->listeners[s->nr_listeners];
	*ln = (struct http_listener){.srv = s, .tag = tag, .unix_socket = is_unix(fd), .tls = tls};
	/* The TLS options come last: MHD_OPTION_END ends the list early without them. */
	ln->daemon = MHD_start_daemon(daemon_flags | (tls ? MHD_USE_TLS : 0), 0, NULL, NULL, handle, ln,
				      MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_URI_LOG_CALLBACK, request_new, ln,
				      MHD_OPTION_NOTIFY_COMPLETED, request_completed, ln, MHD_OPTION_NOTIFY_CONNECTION,
				      http_conn__notify, ln, MHD_OPTION_CONNECTION_TIMEOUT,
				      s->opts.timeout_s,
				      /* a thread per connection: a small stack makes creating one cheap */
				      MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20),
				      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128u << 10),
				      MHD_OPTION_CONNECTION_MEMORY_INCREMENT, (size_t)(32u << 10),
				      tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
				      MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
	if (!ln->daemon) {
		close(fd);
		return err__fail(err, 0, "cannot start the HTTP%s server on %s", tls ? "S" : "", where);
	}
	s->nr_listeners++;
	return 0;
}

int http_server__listen_unix(struct http_server *s, const char *path, int tag, struct st_err *err)
{
	int fd = sock__unix_listen(path, err);
	return fd < 0 ? -1 : serve_fd(s, fd, tag, false, path, err);
}

int http_server__listen_tcp(struct http_server *s, const char *addr, int tag, struct st_err *err)
{
	int fd = sock__tcp_listen(addr, err);
	if (fd < 0)
		return -1;
	if (!s->tls_cert && !sock__is_loopback(fd)) {
		close(fd);
		return err__fail_class(err, EINVAL,
				       "%s is not a loopback address: plain HTTP is refused there, give a TLS "
				       "certificate and key", addr);
	}
	return serve_fd(s, fd, tag, s->tls_cert != NULL, addr, err);
}

void http_server__free(struct http_server *s)
{
	if (!s)
		return;
	s->stopping = 1;
	http_conn__stop(s);
	for (int i = 0; i < s->nr_listeners; i++)
		MHD_stop_daemon(s->listeners[i].daemon);
	if (s->conn_init) {
		pthread_mutex_destroy(&s->conn_lock);
		pthread_cond_destroy(&s->conn_wake);
	}
	free(s->tls_cert);
	free(s->tls_key);
	free(s);
}
