/* Replies of the HTTP server core: what handlers fill (http_server.h) and how
 * a filled reply goes out on its connection. */
#include "common/http_server_int.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/http_conn.h"

void http_server_int__reply_init(struct http_reply *rp, struct http_request *req)
{
	*rp = (struct http_reply){.req = req, .status = 200, .kind = REPLY_JSON, .fd = -1};
}

void http_server_int__reply_release(struct http_reply *rp)
{
	json_decref(rp->json);
	free(rp->text);
	if (rp->fd >= 0)
		close(rp->fd);
	if (rp->free_cls)
		rp->free_cls(rp->cls);
	for (int i = 0; i < rp->nr_headers; i++) {
		free(rp->headers[i].name);
		free(rp->headers[i].value);
	}
	http_server_int__reply_init(rp, rp->req);
}

static void set_ctype(struct http_reply *rp, const char *ctype)
{
	snprintf(rp->ctype, sizeof(rp->ctype), "%s", ctype ? ctype : "application/octet-stream");
}

void http_reply__json(struct http_reply *rp, unsigned status, json_t *body)
{
	http_server_int__reply_release(rp);
	rp->status = status ? status : 200;
	rp->json = body;
}

void http_reply__text(struct http_reply *rp, unsigned status, const char *ctype, char *text)
{
	http_server_int__reply_release(rp);
	rp->status = status ? status : 200;
	rp->kind = REPLY_TEXT;
	rp->text = text;
	set_ctype(rp, ctype);
}

void http_reply__file(struct http_reply *rp, unsigned status, const char *ctype, int fd, uint64_t size)
{
	http_reply__file_range(rp, status, ctype, fd, 0, size);
}

void http_reply__file_range(struct http_reply *rp, unsigned status, const char *ctype, int fd,
			    uint64_t offset, uint64_t size)
{
	http_server_int__reply_release(rp);
	rp->status = status ? status : 200;
	rp->kind = REPLY_FILE;
	rp->fd = fd;
	rp->offset = offset;
	rp->size = size;
	set_ctype(rp, ctype);
}

void http_reply__stream(struct http_reply *rp, unsigned status, const char *ctype, http_stream_fn read, void *cls,
			void (*free_cls)(void *))
{
	http_server_int__reply_release(rp);
	rp->status = status ? status : 200;
	rp->kind = REPLY_STREAM;
	rp->fn = (void *)read;
	rp->cls = cls;
	rp->free_cls = free_cls;
	set_ctype(rp, ctype);
}

void http_reply__upgrade(struct http_reply *rp, const char *proto, http_upgrade_fn fn, void *cls,
			 void (*free_cls)(void *))
{
	http_server_int__reply_release(rp);
	rp->status = MHD_HTTP_SWITCHING_PROTOCOLS;
	rp->kind = REPLY_UPGRADE;
	rp->fn = (void *)fn;
	rp->cls = cls;
	rp->free_cls = free_cls;
	snprintf(rp->proto, sizeof(rp->proto), "%s", proto);
}

void http_reply__header(struct http_reply *rp, const char *name, const char *value)
{
	if (rp->nr_headers == HTTP_REPLY_HEADERS_MAX)
		return;
	rp->headers[rp->nr_headers].name = strdup(name);
	rp->headers[rp->nr_headers].value = strdup(value);
	rp->nr_headers++;
}

unsigned http_reply__status(const struct http_reply *rp)
{
	return rp->status;
}

/* Error messages echo names from the request: one line of valid UTF-8, so
 * the body always encodes (jansson refuses invalid UTF-8); control
 * characters are escaped as in C (\n, \x07). */
static void sanitize(const char *in, char *out, size_t size)
{
	size_t n = 0;
	const unsigned char *p = (const unsigned char *)in;
	while (*p && n + 4 < size) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		bool ok = len > 0;
		for (int i = 1; ok && i < len; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (ok && len == 2 && *p < 0xc2) /* overlong */
			ok = false;
		if (!ok) {
			out[n++] = '?';
			p++;
			continue;
		}
		if (len == 1 && (*p < 0x20 || *p == 0x7f)) { /* escaped: the name stays recognisable, the message one line */
			const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : NULL;
			n += (size_t)(named ? snprintf(out + n, size - n, "%s", named)
					    : snprintf(out + n, size - n, "\\x%02x", *p));
			p++;
			continue;
		}
		memcpy(out + n, p, (size_t)len);
		n += (size_t)len;
		p += len;
	}
	out[n] = 0;
}

static json_t *default_error(const struct http_request *req, unsigned status, const char *message, void *app)
{
	(void)req, (void)app;
	return json_pack("{s:{s:i, s:s}}", "error", "code", (int)status, "message", message);
}

json_t *http_server_int__error_json(const struct http_server *s, const struct http_request *req, unsigned status,
				    const char *message)
{
	char clean[ST_ERR_MSG_MAX * 2];
	sanitize(message, clean, sizeof(clean));
	http_error_fn fmt = s && s->opts.format_error ? s->opts.format_error : default_error;
	json_t *body = fmt(req, status, clean, s ? s->opts.app : NULL);
	return body ? body : default_error(req, status, "the error could not be formatted", NULL);
}

json_t *http_server_int__error_body(const struct http_request *req, unsigned status, const char *message)
{
	return http_server_int__error_json(req ? req->srv : NULL, req, status, message);
}

int http_reply__error(struct http_reply *rp, unsigned status, const char *message)
{
	http_reply__json(rp, status, http_server_int__error_body(rp->req, status, message));
	return 0;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_reply *copy = cls;
	(void)pos;
	ssize_t n = ((http_stream_fn)copy->fn)(copy->cls, buf, max);
	if (n == HTTP_STREAM_END)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	return n;
}

static void stream_free(void *cls)
{
	struct http_reply *copy = cls;
	if (copy->free_cls)
		copy->free_cls(copy->cls);
	free(copy);
}

static void upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in, size_t extra_in_size,
		     MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct http_upgrade_ctx *up = cls;
	(void)conn, (void)con_cls;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) & ~O_NONBLOCK); /* MHD's sockets are non-blocking: fn may block */
	up->fn(up->cls, sock, extra_in, extra_in_size, up->srv);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

/* The MHD response for rp; what it now owns is taken out of rp. */
static struct MHD_Response *response_of(struct http_reply *rp)
{
	struct http_request *req = rp->req;
	switch (rp->kind) {
	case REPLY_TEXT: {
		struct MHD_Response *r = MHD_create_response_from_buffer(strlen(rp->text), rp->text, MHD_RESPMEM_MUST_FREE);
		if (r)
			rp->text = NULL;
		return r;
	}
	case REPLY_FILE: {
		struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(rp->size, rp->fd, rp->offset);
		if (r)
			rp->fd = -1;
		return r;
	}
	case REPLY_STREAM: {
		struct http_reply *copy = malloc(sizeof(*copy));
		if (!copy)
			return NULL;
		*copy = *rp;
		struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, copy,
									   stream_free);
		if (!r) {
			free(copy);
			return NULL;
		}
		rp->free_cls = NULL;
		return r;
	}
	case REPLY_UPGRADE: {
		struct http_upgrade_ctx *up = calloc(1, sizeof(*up));
		if (!up)
			return NULL;
		*up = (struct http_upgrade_ctx){(http_upgrade_fn)rp->fn, rp->cls, rp->free_cls, req->srv};
		rp->free_cls = NULL;
		free(req->upgrade); /* cannot be set twice in one request; defensive */
		req->upgrade = up;
		struct MHD_Response *r = MHD_create_response_for_upgrade(upgraded, up);
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, rp->proto);
		return r;
	}
	case REPLY_JSON:
	default: {
		if (!rp->json)
			rp->json = json_object();
		char *text = json_dumps(rp->json, JSON_COMPACT | JSON_ENCODE_ANY);
		size_t n = text ? strlen(text) : 0;
		if (text)
			text[n] = '\n', n++; /* replaces the NUL: the buffer is freed by length, not as a string */
		set_ctype(rp, "application/json");
		return MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	}
	}
}

/* libmicrohttpd answers the protocol errors it finds itself (a malformed
 * request line or header, headers over its memory pool, a bad chunk, an
 * unsupported HTTP version) with HTML pages of its own, through its exported
 * MHD_queue_response. This definition, exported by the executable (meson's
 * export_dynamic_symbol), comes first in the dynamic lookup, so the library's
 * own calls land here: an error status gets the server's JSON error body
 * instead. The core's replies call the library's function directly. */
typedef enum MHD_Result (*queue_fn)(struct MHD_Connection *, unsigned, struct MHD_Response *);

static queue_fn real_queue;

static void find_real_queue(void)
{
	*(void **)&real_queue = dlsym(RTLD_NEXT, "MHD_queue_response");
}

static queue_fn real_queue_response(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, find_real_queue);
	return real_queue;
}

static const char *protocol_error(unsigned status)
{
	switch (status) {
	case 400: return "malformed HTTP request (request line, header, length or chunk encoding)";
	case 413: return "request body or chunk too large";
	case 414: return "request URI too long";
	case 431: return "request header fields too large";
	case 505: return "HTTP version not supported";
	default: return "the HTTP request could not be processed";
	}
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *conn, unsigned int status, struct MHD_Response *resp)
{
	queue_fn queue = real_queue_response();
	if (!queue)
		return MHD_NO;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	const struct http_server *s = http_conn__server(ci ? ci->socket_context : NULL);
	if (status < 400 || !s)
		return queue(conn, status, resp);
	json_t *body = http_server_int__error_json(s, NULL, status, protocol_error(status));
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct MHD_Response *json = NULL;
	if (text) {
		size_t n = strlen(text);
		text[n] = '\n'; /* replaces the NUL: freed by length */
		json = MHD_create_response_from_buffer(n + 1, text, MHD_RESPMEM_MUST_FREE);
		if (!json)
			free(text);
	}
	if (!json)
		return queue(conn, status, resp);
	MHD_add_response_header(json, "Content-Type", "application/json");
	enum MHD_Result r = queue(conn, status, json);
	MHD_destroy_response(json);
	return r;
}

enum MHD_Result http_server_int__send(struct http_reply *rp)
{
	struct http_request *req = rp->req;
	struct MHD_Response *resp = response_of(rp);
	if (!resp) {
		http_server_int__reply_release(rp);
		return MHD_NO;
	}
	if (rp->kind != REPLY_UPGRADE)
		MHD_add_response_header(resp, "Content-Type", rp->ctype);
	for (int i = 0; i < rp->nr_headers; i++)
		MHD_add_response_header(resp, rp->headers[i].name, rp->headers[i].value);
	if (req->srv->opts.request_id_header)
		MHD_add_response_header(resp, req->srv->opts.request_id_header, req->id);
	if (rp->status == MHD_HTTP_UNAUTHORIZED && req->srv->opts.challenge) {
		char *challenge = req->srv->opts.challenge(req, req->srv->opts.app);
		if (challenge)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
		free(challenge);
	}
	http_conn__phase(req->conn, HTTP_CONN_REPLY);
	enum MHD_Result r = real_queue_response()(req->conn, rp->status, resp);
	MHD_destroy_response(resp);
	if (req->srv->opts.log)
		req->srv->opts.log(req, rp->status, req->srv->opts.app);
	http_server_int__reply_release(rp);
	return r;
}
