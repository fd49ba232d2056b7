#include "host/api.h"
#include "common/cleanup.h"
#include "host/helper.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"
#include "host/events.h"
#include "host/routes.h"
#include "host/storage.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define SSE_KEEPALIVE_MS 15000

struct api {
	struct host *h;
	struct MHD_Daemon *unix_d, *tcp_d;
	char *token;
	volatile int closing; /* console sessions end: MHD_stop_daemon waits for them */
};

/* Per request: the body accumulates here (or streams to upload_fd). */
struct conn_state {
	char *body;
	size_t len, cap;
	bool too_large;
	bool upload;
	int upload_fd;
	uint64_t uploaded;
	struct st_err upload_err;
	char pool[80], vol[80];
	/* the peer, looked up once per request */
	uid_t uid;
	pid_t pid;
	bool can_write;
	char *console; /* the upgraded connection's console socket */
};

const char *api__arg(const struct api_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int api__body_json(const struct api_req *r, json_t **out, struct st_err *err)
{
	json_error_t jerr;
	if (!r->len)
		return host__fail(err, EINVAL, "the request needs a JSON body");
	*out = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out)
		return host__fail(err, EINVAL, "invalid JSON at line %d column %d: %s", jerr.line, jerr.column, jerr.text);
	return 0;
}

static gid_t strata_gid(void)
{
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r("strata", &gr, buf, sizeof(buf), &res) || !res)
		return (gid_t)-1;
	return gr.gr_gid;
}

/* Unix socket: the peer's credentials decide. */
static void peer_access(struct MHD_Connection *conn, uid_t *uid, pid_t *pid, bool *can_write)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cred = {.uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	*can_write = false;
	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		*uid = (uid_t)-1;
		*pid = 0;
		return;
	}
	*uid = cred.uid;
	*pid = cred.pid;
	if (cred.uid == 0) {
		*can_write = true;
		return;
	}
	gid_t g = strata_gid();
	if (g == (gid_t)-1)
		return;
	if (cred.gid == g) {
		*can_write = true;
		return;
	}
	gid_t groups[256];
	len = sizeof(groups);
	if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == g)
				*can_write = true;
}

static bool token_ok(const struct api *a, struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!auth || strncmp(auth, "Bearer ", 7))
		return false;
	const char *given = auth + 7;
	size_t n = strlen(a->token), m = strlen(given);
	unsigned diff = (unsigned)(n ^ m);
	for (size_t i = 0; i < n; i++) /* constant time over the token's length */
		diff |= (unsigned)(a->token[i] ^ (i < m ? given[i] : 0));
	return diff == 0;
}

static enum MHD_Result send_json(struct MHD_Connection *conn, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	size_t n = text ? strlen(text) : 0;
	if (text)
		text[n] = '\n', n++; /* replaces the NUL: the buffer is freed by length, not as a string */
	struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return send_json(conn, status, json_pack("{s:{s:i, s:s}}", "error", "code", (int)status, "message", msg));
}

/* The event stream: "event: KIND\ndata: {json}\n\n" per event, a comment
 * line as keepalive; the first line says the subscription is live. */
struct sse {
	uint64_t seq;
	char *filter; /* domain name, or NULL */
	char *pending;
	size_t plen, poff;
};

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *s = cls;
	(void)pos;
	while (s->poff == s->plen) {
		free(s->pending);
		s->pending = NULL;
		s->plen = s->poff = 0;
		int closed = 0;
		json_t *e = events__wait(&s->seq, SSE_KEEPALIVE_MS, &closed);
		if (closed)
			return MHD_CONTENT_READER_END_OF_STREAM;
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
			return MHD_CONTENT_READER_END_WITH_ERROR;
		s->plen = strlen(s->pending);
	}
	size_t n = s->plen - s->poff < max ? s->plen - s->poff : max;
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

static enum MHD_Result send_sse(struct api_req *r)
{
	struct sse *s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	const char *since = api__arg(r, "since"), *dom = api__arg(r, "domain");
	s->seq = since ? strtoull(since, NULL, 10) : events__next_seq();
	s->filter = dom ? strdup(dom) : NULL;
	if (asprintf(&s->pending, ": subscribed seq=%llu\n\n", (unsigned long long)s->seq) < 0)
		s->pending = NULL;
	s->plen = s->pending ? strlen(s->pending) : 0;
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	enum MHD_Result rc = MHD_queue_response(r->conn, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

bool api__wants_upgrade(const struct api_req *r, const char *proto)
{
	const char *up = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Upgrade");
	return up && !strcasecmp(up, proto);
}

/* Copies bytes both ways until either side closes (or stratad ends). */
static void console_pump(int client, int con, volatile int *quitting)
{
	char buf[4096];
	struct pollfd p[2] = {{.fd = client, .events = POLLIN}, {.fd = con, .events = POLLIN}};
	fcntl(client, F_SETFL, fcntl(client, F_GETFL) & ~O_NONBLOCK);
	while (!*quitting) {
		int n = poll(p, 2, 500);
		if (n < 0 && errno != EINTR)
			return;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t got = read(p[i].fd, buf, sizeof(buf));
			if (got <= 0 || st_write_all(p[1 - i].fd, buf, (size_t)got, NULL) < 0)
				return;
		}
	}
}

/* Runs on the connection's own thread (one per connection), so it may block. */
static void console_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
			     size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct api *a = cls;
	struct conn_state *cs = con_cls;
	(void)conn;
	struct st_err err = {0};
	cleanup_close int con = st_unix_connect(cs->console, &err);
	if (con < 0)
		st_warn("console %s: %s", cs->console, err.msg);
	else if (!extra_in_size || st_write_all(con, extra_in, extra_in_size, NULL) == 0)
		console_pump(sock, con, &a->closing);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

static enum MHD_Result send_console(struct api *a, struct api_req *r, struct conn_state *cs, char *path)
{
	free(cs->console);
	cs->console = path;
	struct MHD_Response *resp = MHD_create_response_for_upgrade(console_upgraded, a);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, API_CONSOLE_PROTO);
	enum MHD_Result rc = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_reply(struct api *a, struct api_req *r, struct conn_state *cs, struct api_reply *out)
{
	if (out->console)
		return send_console(a, r, cs, out->console);
	if (out->sse)
		return send_sse(r);
	if (out->fd >= 0) {
		struct MHD_Response *resp = MHD_create_response_from_fd64(out->fd_size, out->fd);
		MHD_add_response_header(resp, "Content-Type", out->ctype);
		enum MHD_Result rc = MHD_queue_response(r->conn, out->status, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	if (out->text) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(out->text), out->text,
									    MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(resp, "Content-Type", out->ctype);
		enum MHD_Result rc = MHD_queue_response(r->conn, out->status, resp);
		MHD_destroy_response(resp);
		return rc;
	}
	return send_json(r->conn, out->status, out->json ? out->json : json_object());
}

static int split_path(const char *url, char *copy, size_t len, struct api_req *r)
{
	if (strncmp(url, "/v1/", 4) || strlen(url) >= len)
		return -1;
	snprintf(copy, len, "%s", url + 4);
	r->nsegs = 0;
	for (char *save, *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
		if (r->nsegs == (int)(sizeof(r->segs) / sizeof(r->segs[0])))
			return -1;
		r->segs[r->nsegs++] = s;
	}
	return 0;
}

static bool is_upload(const char *method, const struct api_req *r)
{
	return !strcmp(method, "PUT") && r->nsegs == 5 && !strcmp(r->segs[0], "pools") &&
	       !strcmp(r->segs[2], "volumes") && !strcmp(r->segs[4], "data");
}

static void audit(struct api *a, const struct api_req *r, const char *url, unsigned status)
{
	if (!strcmp(r->method, "GET"))
		return;
	struct st_err err = {0};
	if (store__audit(a->h->store, r->uid, r->pid, r->method, url, status, &err) < 0)
		st_warn("audit: %s", err.msg);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_size, void **con_cls,
			      bool tcp)
{
	struct api *a = cls;
	(void)version;
	struct conn_state *cs = *con_cls;
	char copy[1024];
	struct api_req r = {.h = a->h, .conn = conn, .method = method, .uid = (uid_t)-1};
	if (split_path(url, copy, sizeof(copy), &r) < 0)
		return send_error(conn, 404, "no such endpoint (the API lives under /v1/)");
	if (!cs) {
		cs = calloc(1, sizeof(*cs));
		if (!cs)
			return MHD_NO;
		cs->upload_fd = -1;
		cs->uid = (uid_t)-1;
		*con_cls = cs;
		if (tcp) {
			cs->can_write = token_ok(a, conn);
			if (!cs->can_write)
				return send_error(conn, 401, "a valid 'Authorization: Bearer TOKEN' header is required");
		} else {
			peer_access(conn, &cs->uid, &cs->pid, &cs->can_write);
		}
		r.uid = cs->uid, r.pid = cs->pid, r.can_write = cs->can_write;
		const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		if (is_upload(method, &r)) {
			if (!r.can_write)
				return send_error(conn, 403, "uploading needs full access");
			cs->upload = true;
			pthread_mutex_lock(&a->h->lock);
			cs->upload_fd = storage__volume_open_upload(a->h, r.segs[1], r.segs[3], &cs->upload_err);
			snprintf(cs->pool, sizeof(cs->pool), "%s", r.segs[1]);
			snprintf(cs->vol, sizeof(cs->vol), "%s", r.segs[3]);
			pthread_mutex_unlock(&a->h->lock);
			/* A refused small upload is answered after its body: a client still
			 * sending would see the early answer as a broken pipe. A large one is
			 * answered at once (clients send those after Expect: 100-continue). */
			if (cs->upload_fd < 0 && (!cl || strtoull(cl, NULL, 10) > API_BODY_MAX))
				return send_error(conn, routes__status_of(&cs->upload_err), cs->upload_err.msg);
			if (cs->upload_fd < 0)
				cs->upload_fd = -2; /* the body is read and dropped */
		} else if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
			return send_error(conn, 413, "request body larger than 1 MiB");
		}
		return MHD_YES;
	}
	r.uid = cs->uid, r.pid = cs->pid, r.can_write = cs->can_write;
	if (*upload_size) {
		if (cs->upload) {
			if (cs->upload_fd >= 0 && st_write_all(cs->upload_fd, upload_data, *upload_size, &cs->upload_err) < 0) {
				close(cs->upload_fd);
				cs->upload_fd = -2;
			}
			cs->uploaded += *upload_size;
		} else if (cs->too_large || cs->len + *upload_size > API_BODY_MAX) {
			cs->too_large = true;
		} else {
			if (cs->len + *upload_size + 1 > cs->cap) {
				size_t cap = (cs->len + *upload_size + 1) * 2;
				char *b = realloc(cs->body, cap > API_BODY_MAX + 1 ? API_BODY_MAX + 1 : cap);
				if (!b)
					return MHD_NO;
				cs->body = b;
				cs->cap = cap > API_BODY_MAX + 1 ? API_BODY_MAX + 1 : cap;
			}
			memcpy(cs->body + cs->len, upload_data, *upload_size);
			cs->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (cs->too_large)
		return send_error(conn, 413, "request body larger than 1 MiB");
	r.body = cs->body ? cs->body : "";
	r.len = cs->len;
	r.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	struct api_reply out = {.status = 200, .fd = -1};
	struct st_err err = {0};
	int rc;
	pthread_mutex_lock(&a->h->lock);
	if (cs->upload) {
		rc = 0;
		if (cs->upload_fd == -2)
			rc = -1, err = cs->upload_err;
		else if (fsync(cs->upload_fd) < 0)
			rc = st_fail_errno(&err, "upload");
		if (cs->upload_fd >= 0)
			close(cs->upload_fd);
		cs->upload_fd = -1;
		if (rc == 0)
			rc = storage__volume_info(a->h, cs->pool, cs->vol, &out.json, &err);
	} else {
		rc = routes__dispatch(&r, &out, &err);
	}
	if (rc < 0) {
		json_decref(out.json);
		free(out.text);
		free(out.console);
		if (out.fd >= 0)
			close(out.fd);
		out = (struct api_reply){.status = routes__status_of(&err), .fd = -1};
		out.json = json_pack("{s:{s:i, s:s}}", "error", "code", (int)out.status, "message", err.msg);
	}
	audit(a, &r, url, out.status);
	pthread_mutex_unlock(&a->h->lock);
	return send_reply(a, &r, cs, &out);
}

static enum MHD_Result handle_unix(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				   const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	return handle(cls, conn, url, method, version, upload_data, upload_size, con_cls, false);
}

static enum MHD_Result handle_tcp(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	return handle(cls, conn, url, method, version, upload_data, upload_size, con_cls, true);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)conn, (void)toe;
	struct conn_state *cs = *con_cls;
	if (!cs)
		return;
	if (cs->upload_fd >= 0)
		close(cs->upload_fd);
	free(cs->body);
	free(cs->console);
	free(cs);
	*con_cls = NULL;
}

static const unsigned daemon_flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				     MHD_USE_POLL | MHD_USE_ITC | MHD_ALLOW_UPGRADE;

static struct MHD_Daemon *serve(struct api *a, MHD_AccessHandlerCallback handler, int listen_fd)
{
	return MHD_start_daemon(daemon_flags, 0, NULL, NULL, handler, a, MHD_OPTION_LISTEN_SOCKET, listen_fd,
				MHD_OPTION_NOTIFY_COMPLETED, completed, a, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				/* a thread per connection: a small stack makes creating one cheap */
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20), MHD_OPTION_END);
}

int api__start(struct host *h, const struct api_opts *opts, struct api **out, struct st_err *err)
{
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return st_fail(err, ENOMEM, "api");
	a->h = h;
	int fd = st_unix_listen(opts->unix_path, err);
	if (fd < 0) {
		free(a);
		return -1;
	}
	/* everyone may connect; what they may do is decided per request */
	chmod(opts->unix_path, 0666);
	a->unix_d = serve(a, handle_unix, fd);
	if (!a->unix_d) {
		close(fd);
		free(a);
		return st_fail(err, 0, "cannot start the HTTP server on %s", opts->unix_path);
	}
	if (opts->tcp_addr) {
		if (!opts->token || !*opts->token) {
			api__stop(a);
			return st_fail(err, 0, "--listen-tcp needs a token (--token-file)");
		}
		a->token = strdup(opts->token);
		int tfd = st_tcp_listen(opts->tcp_addr, err);
		if (tfd < 0) {
			api__stop(a);
			return st_err_prefix(err, "--listen-tcp");
		}
		a->tcp_d = serve(a, handle_tcp, tfd);
		if (!a->tcp_d) {
			close(tfd);
			api__stop(a);
			return st_fail(err, 0, "cannot start the HTTP server on %s", opts->tcp_addr);
		}
	}
	*out = a;
	return 0;
}

void api__stop(struct api *a)
{
	if (!a)
		return;
	events__shutdown();
	a->closing = 1;
	if (a->unix_d)
		MHD_stop_daemon(a->unix_d);
	if (a->tcp_d)
		MHD_stop_daemon(a->tcp_d);
	free(a->token);
	free(a);
}
