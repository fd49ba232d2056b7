#include "common/http_client.h"
#include "common/cleanup.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* What the server is called in messages. */
static const char *server_name(const struct http_client_target *t)
{
	return t->server ? t->server : "stratad";
}

static int connect_target(const struct http_client_target *t, struct st_err *err)
{
	int fd = t->tcp ? sock__tcp_connect(t->tcp, err) : sock__unix_connect(t->unix_path, err);
	if (fd < 0 && err && err->errnum) /* a refused connection: say whose */
		return err__fail(err, err->errnum, "cannot connect to %s at %s%s", server_name(t),
			       t->tcp ? t->tcp : t->unix_path,
			       t->tcp || t->server ? "" : " (is it running? --socket or STRATA_SOCKET)");
	if (fd >= 0 && t->timeout_ms) {
		/* a hung server fails the call (EAGAIN) instead of holding the caller */
		struct timeval tv = {.tv_sec = t->timeout_ms / 1000, .tv_usec = (t->timeout_ms % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

/* Writes to the server without SIGPIPE: a server that hangs up is one error
 * line (errnum EPIPE or ECONNRESET), never a client killed without a word. */
static int send_all(int fd, const struct http_client_target *t, const void *buf, size_t len, struct st_err *err)
{
	const char *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return err__fail_errno(err, "%s closed the connection while the request was being sent",
					       server_name(t));
		if (n < 0)
			return err__fail_errno(err, "sending the request to %s", server_name(t));
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* snprintf at *n that stops at the end of buf: a too long head is then seen by *n >= size. */
static void append(char *buf, size_t size, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	if (*n >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	*n += r < 0 ? size : (size_t)r;
}

static int send_head_upgrade(int fd, const struct http_client_target *t, const char *method, const char *path,
			     const char *ctype, int64_t len, const char *upgrade, struct st_err *err)
{
	char head[4096];
	size_t n = 0;
	append(head, sizeof(head), &n, "%s %s HTTP/1.%d\r\nHost: %s\r\n", method, path, upgrade ? 1 : 0,
	       t->tcp ? t->tcp : "localhost");
	if (upgrade)
		append(head, sizeof(head), &n, "Connection: Upgrade\r\nUpgrade: %s\r\n", upgrade);
	if (t->tcp && t->token)
		append(head, sizeof(head), &n, "Authorization: Bearer %s\r\n", t->token);
	for (const char *const *h = t->headers; h && *h; h++)
		append(head, sizeof(head), &n, "%s\r\n", *h);
	if (ctype)
		append(head, sizeof(head), &n, "Content-Type: %s\r\n", ctype);
	if (len >= 0)
		append(head, sizeof(head), &n, "Content-Length: %lld\r\n", (long long)len);
	append(head, sizeof(head), &n, "\r\n");
	if (n >= sizeof(head))
		return err__fail(err, 0, "request head too long");
	return send_all(fd, t, head, n, err);
}

static int send_head(int fd, const struct http_client_target *t, const char *method, const char *path, const char *ctype,
		     int64_t len, struct st_err *err)
{
	return send_head_upgrade(fd, t, method, path, ctype, len, NULL, err);
}

/* Reads up to the end of the headers; leftover body bytes go to *rest. */
static int read_head(int fd, const struct http_client_target *t, struct http_client_resp *out, char *rest,
		     size_t *rest_len, struct st_err *err)
{
	char buf[8192];
	size_t have = 0;
	char *end = NULL;
	while (!end) {
		if (have == sizeof(buf) - 1)
			return err__fail(err, 0, "reply headers too long");
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err__fail(err, n < 0 ? errno : 0, "%s closed the connection without a reply", server_name(t));
		have += (size_t)n;
		buf[have] = 0;
		end = strstr(buf, "\r\n\r\n");
	}
	if (sscanf(buf, "HTTP/%*s %u", &out->status) != 1)
		return err__fail(err, 0, "unreadable reply from %s", server_name(t));
	size_t head = (size_t)(end + 4 - buf);
	out->content_length = -1;
	for (const char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line, "\r\n")) {
		line += 2;
		if (!strncasecmp(line, "Content-Length:", 15))
			out->content_length = strtoll(line + 15, NULL, 10);
	}
	if (out->keep_head) {
		free(out->head);
		out->head = strndup(buf, head);
	}
	*rest_len = have - head;
	memcpy(rest, end + 4, *rest_len);
	return 0;
}

/* After sending: a server may refuse a request (413, 404) and hang up before
 * reading all of it; its reply then says why, else the failed send does. */
static int read_head_after(int fd, const struct http_client_target *t, int sent, struct http_client_resp *out,
			   char *rest, size_t *rest_len, struct st_err *err)
{
	if (sent == 0)
		return read_head(fd, t, out, rest, rest_len, err);
	if (err->errnum != EPIPE && err->errnum != ECONNRESET)
		return -1;
	struct st_err no_reply = {0};
	return read_head(fd, t, out, rest, rest_len, &no_reply);
}

/* A reply shorter than its Content-Length was cut off: never a result. */
static int check_complete(const struct http_client_target *t, const struct http_client_resp *out, uint64_t got,
			  struct st_err *err)
{
	if (out->content_length >= 0 && got < (uint64_t)out->content_length)
		return err__fail(err, 0, "the reply from %s ended early (%llu of %lld bytes)", server_name(t),
				 (unsigned long long)got, (long long)out->content_length);
	return 0;
}

static void progress(const char *what, uint64_t done, uint64_t total)
{
	if (total)
		fprintf(stderr, "\r%s %llu/%llu MiB (%u%%)", what, (unsigned long long)(done >> 20),
			(unsigned long long)(total >> 20), (unsigned)(done * 100 / total));
	else
		fprintf(stderr, "\r%s %llu MiB", what, (unsigned long long)(done >> 20));
}

int http_client__transfer(const struct http_client_target *t, const char *method, const char *path, int upload_fd,
		   uint64_t size, FILE *sink, int show_progress, struct http_client_resp *out, struct st_err *err)
{
	cleanup_close int fd = connect_target(t, err);
	if (fd < 0)
		return -1;
	int sent = send_head(fd, t, method, path, upload_fd >= 0 ? "application/octet-stream" : NULL,
			     upload_fd >= 0 ? (int64_t)size : -1, err);
	static char buf[1 << 16];
	if (sent == 0 && upload_fd >= 0) {
		uint64_t done = 0;
		while (done < size) {
			ssize_t n = read(upload_fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return err__fail(err, n < 0 ? errno : 0, "the file ended early");
			if ((sent = send_all(fd, t, buf, (size_t)n, err)) < 0)
				break;
			done += (size_t)n;
			if (show_progress && (done % (8u << 20) < (uint64_t)n || done == size))
				progress("uploaded", done, size);
		}
		if (show_progress && sent == 0)
			fputc('\n', stderr);
	}
	char rest[8192];
	size_t rest_len;
	if (read_head_after(fd, t, sent, out, rest, &rest_len, err) < 0)
		return -1;
	size_t cap = 4096;
	out->len = 0;
	out->body = malloc(cap);
	bool to_sink = sink && out->status == 200;
	uint64_t got = 0;
	for (;;) {
		size_t n;
		const char *p;
		if (rest_len) {
			p = rest;
			n = rest_len;
			rest_len = 0;
		} else {
			ssize_t r = read(fd, buf, sizeof(buf));
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return err__fail_errno(err, "reading the reply");
			if (r == 0)
				break;
			p = buf;
			n = (size_t)r;
		}
		if (to_sink) {
			if (fwrite(p, 1, n, sink) != n)
				return err__fail_errno(err, "writing the download");
			got += n;
			if (show_progress && got % (8u << 20) < n)
				progress("downloaded", got, size);
			continue;
		}
		if (out->len + n + 1 > cap) {
			while (out->len + n + 1 > cap)
				cap *= 2;
			char *b = realloc(out->body, cap);
			if (!b)
				return err__fail(err, ENOMEM, "reply");
			out->body = b;
		}
		memcpy(out->body + out->len, p, n);
		out->len += n;
	}
	if (to_sink && show_progress)
		progress("downloaded", got, size), fputc('\n', stderr);
	out->body[out->len] = 0;
	return check_complete(t, out, to_sink ? got : out->len, err);
}

int http_client__request(const struct http_client_target *t, const char *method, const char *path, const char *ctype,
		  const char *body, size_t len, struct http_client_resp *out, struct st_err *err)
{
	cleanup_close int fd = connect_target(t, err);
	if (fd < 0)
		return -1;
	int sent = send_head(fd, t, method, path, body ? ctype : NULL, body ? (int64_t)len : -1, err);
	if (sent == 0 && body)
		sent = send_all(fd, t, body, len, err);
	char rest[8192];
	size_t rest_len;
	if (read_head_after(fd, t, sent, out, rest, &rest_len, err) < 0)
		return -1;
	size_t cap = rest_len + 4096;
	out->body = malloc(cap);
	if (!out->body)
		return err__fail(err, ENOMEM, "reply");
	memcpy(out->body, rest, rest_len);
	out->len = rest_len;
	for (;;) {
		if (out->len + 4096 + 1 > cap) {
			char *b = realloc(out->body, cap *= 2);
			if (!b)
				return err__fail(err, ENOMEM, "reply");
			out->body = b;
		}
		ssize_t n = read(fd, out->body + out->len, cap - out->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err__fail_errno(err, "reading the reply");
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	out->body[out->len] = 0;
	return check_complete(t, out, out->len, err);
}

/* The error message of a refused stream request (its JSON body: HTTP/1.1
 * keeps the connection open, so Content-Length says where it ends). */
static int stream_refused(int fd, unsigned status, size_t len, struct st_err *err)
{
	char body[4096];
	size_t n = 0;
	len = ST_MIN(len, sizeof(body) - 1);
	for (ssize_t r; n < len && (r = read(fd, body + n, len - n)) > 0;)
		n += (size_t)r;
	json_t *j = json_loadb(body, n, 0, NULL);
	const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	err__fail(err, 0, "%s", msg ? msg : "the request was refused");
	json_decref(j);
	return -(int)status;
}

int http_client__open_stream(const struct http_client_target *t, const char *path, const char *upgrade, struct st_err *err)
{
	cleanup_close int fd = connect_target(t, err);
	if (fd < 0)
		return -1;
	/* the headers are read byte by byte so nothing of the stream is consumed */
	if (send_head_upgrade(fd, t, "GET", path, NULL, -1, upgrade, err) < 0)
		return -1;
	char line[4096];
	size_t n = 0;
	unsigned status = 0;
	size_t body_len = SIZE_MAX;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r <= 0)
			return err__fail(err, 0, "%s closed the connection", server_name(t));
		if (c != '\n') {
			if (n < sizeof(line) - 1)
				line[n++] = c;
			continue;
		}
		line[n && line[n - 1] == '\r' ? n - 1 : n] = 0;
		if (!status && sscanf(line, "HTTP/%*s %u", &status) != 1)
			return err__fail(err, 0, "unreadable reply from %s", server_name(t));
		if (!strncasecmp(line, "Content-Length:", 15))
			body_len = strtoull(line + 15, NULL, 10);
		if (!line[0])
			break;
		n = 0;
	}
	if (status != (upgrade ? 101u : 200u))
		return stream_refused(fd, status, body_len, err);
	return cleanup__steal_fd(&fd);
}

int http_client__json(const struct http_client_target *t, const char *method, const char *path, const json_t *body,
	       json_t **out, struct st_err *err)
{
	cleanup_free char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct http_client_resp r = {0};
	if (http_client__request(t, method, path, "application/json", text, text ? strlen(text) : 0, &r, err) < 0) {
		http_client__resp_free(&r);
		return -1;
	}
	json_t *j = json_loadb(r.body, r.len, 0, NULL);
	http_client__resp_free(&r);
	if (r.status >= 300) {
		const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		err__fail(err, 0, "%s", msg ? msg : "request failed");
		err->errnum = 0;
		json_decref(j);
		return -(int)r.status;
	}
	if (!j)
		return err__fail(err, 0, "unreadable reply from %s", server_name(t));
	*out = j;
	return 0;
}

const char *http_client__header(const struct http_client_resp *r, const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);
	for (const char *line = r->head ? strstr(r->head, "\r\n") : NULL; line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, n) || line[n] != ':')
			continue;
		const char *v = line + n + 1;
		v += strspn(v, " \t");
		snprintf(buf, size, "%.*s", (int)strcspn(v, "\r\n"), v);
		return buf;
	}
	return NULL;
}

void http_client__resp_free(struct http_client_resp *r)
{
	free(r->body);
	free(r->head);
	r->body = r->head = NULL;
	r->len = 0;
}
