/* stratad's HTTP server: the common core with stratad's access rules
 * (peer credentials on the unix socket, a bearer token on TCP), the host
 * lock around every route and the audit table. */
#include "host/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/ratelimit.h"
#include "common/websocket.h"
#include "host/access.h"
#include "host/events.h"
#include "host/hoststats.h"
#include "host/routes.h"
#include "host/store.h"
#include "host/web_session.h"
#include "host/web_static.h"

enum { LISTENER_UNIX, LISTENER_TCP };

struct api {
	struct host *h;
	struct http_server *srv;
	struct http_route *routes;
	char *token;
	char *web_dir;
	struct ratelimit refused; /* audit rows of refused requests per uid (under h->lock) */
};

/* A flood of refused requests (3,000 a second from any local user) must not
 * fill the disk through the audit table: per read-only uid (full access may
 * change anything anyway and is always recorded), a burst of them is written,
 * then one a second, and one summary row a period counts what was left out. */
#define AUDIT_REFUSED_BURST 20
#define AUDIT_REFUSED_RATE 1.0
#define AUDIT_SUMMARY_PERIOD 5.0

/* Unix socket: the peer's credentials decide. */
static void peer_access(int fd, struct routes_ctx *p)
{
	struct ucred cred = {.uid = (uid_t)-1, .gid = (gid_t)-1};
	socklen_t len = sizeof(cred);
	p->can_write = false;
	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		p->uid = (uid_t)-1;
		p->pid = 0;
		return;
	}
	p->uid = cred.uid;
	p->pid = cred.pid;
	gid_t groups[256];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		len = 0;
	p->can_write = access__full(cred.uid, cred.gid, groups, len / sizeof(gid_t));
}

static bool token_ok(const struct api *a, const char *auth)
{
	if (!auth || strncmp(auth, "Bearer ", 7))
		return false;
	const char *given = auth + 7;
	size_t n = strlen(a->token), m = strlen(given);
	unsigned diff = (unsigned)(n ^ m);
	for (size_t i = 0; i < n; i++) /* constant time over the token's length */
		diff |= (unsigned)(a->token[i] ^ (i < m ? given[i] : 0));
	return diff == 0;
}

/* A request from a browser's page changes something only with the session's
 * CSRF token in X-CSRF-Token and, when the browser says where it comes from,
 * from this server's own origin: another site's page can make the browser send
 * the cookie (not with SameSite=Strict, but older browsers) but can neither
 * read the token nor fake Origin. */
static bool same_origin(const struct http_request *r, bool tls)
{
	const char *origin = http_request__header(r, "Origin");
	const char *site = http_request__header(r, "Sec-Fetch-Site");
	if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
		return false;
	if (!origin)
		return true;
	const char *host = http_request__header(r, "Host");
	const char *scheme = tls ? "https://" : "http://";
	size_t n = strlen(scheme);
	return host && !strncmp(origin, scheme, n) && !strcmp(origin + n, host);
}

static const char *csrf_header(const struct http_request *r)
{
	const char *v = http_request__header(r, "X-CSRF-Token");
	return v ? v : "";
}

static bool changes_something(const struct http_request *r)
{
	const char *m = http_request__method(r);
	return strcmp(m, "GET") && strcmp(m, "HEAD");
}

/* The web UI's own paths, open to anyone: its files and the login itself. */
static bool open_path(const char *path)
{
	return strncmp(path, "/v1/", 4) || !strcmp(path, "/v1/session");
}

static int authenticate(struct http_request *r, struct st_err *err)
{
	struct api *a = http_request__app(r);
	struct routes_ctx *p = calloc(1, sizeof(*p));
	if (!p)
		return err__fail(err, ENOMEM, "request");
	p->h = a->h;
	p->uid = (uid_t)-1;
	http_request__set_user(r, p, free);
	bool tcp = http_request__listener(r) == LISTENER_TCP;
	p->tls = tcp && !strcmp(http_server__scheme(http_request__server(r)), "https");
	const char *path = http_request__path(r);
	if (tcp && token_ok(a, http_request__header(r, "Authorization"))) {
		p->can_write = true;
		return 0;
	}
	if (web_session__find(http_request__header(r, "Cookie"), &p->ws)) {
		p->session = true;
		p->uid = p->ws.uid;
		p->can_write = p->ws.can_write;
		if (changes_something(r) && !same_origin(r, p->tls))
			return err__fail_class(err, EACCES, "cross-origin request refused");
		/* a WebSocket is not covered by CORS: a browser always sends Origin with it */
		if (websocket__requested(r) && (!http_request__header(r, "Origin") || !same_origin(r, p->tls)))
			return err__fail_class(err, EACCES, "cross-origin WebSocket refused");
		if (changes_something(r) &&
		    !web_session__equal(p->ws.csrf, csrf_header(r)))
			return err__fail_class(err, EACCES, "missing or wrong X-CSRF-Token for this session");
		return 0;
	}
	if (open_path(path)) { /* anonymous: the page and the login form; a login from elsewhere is refused */
		if (changes_something(r) && !same_origin(r, p->tls))
			return err__fail_class(err, EACCES, "cross-origin request refused");
		if (!tcp)
			peer_access(http_request__socket(r), p);
		return 0;
	}
	if (tcp)
		return err__fail_class(err, EKEYREJECTED,
				       "a valid 'Authorization: Bearer TOKEN' header or a login (POST /v1/session) is required");
	peer_access(http_request__socket(r), p);
	return 0;
}

/* Every route runs under the host lock; only GETs are open to read-only peers. */
static int wrap(struct http_request *r, struct http_reply *rp, http_handler_fn fn, struct st_err *err)
{
	const struct routes_ctx *p = routes__ctx(r);
	struct host *h = p->h;
	if (http_request__route(r)->data == routes__open)
		return fn(r, rp, err);
	pthread_mutex_lock(&h->lock);
	int rc;
	if (strcmp(http_request__method(r), "GET") && !p->can_write)
		rc = err__fail_class(err, EACCES,
				     "uid %d has read-only access (root or the 'strata' group can change things)",
				     (int)p->uid);
	else
		rc = fn(r, rp, err);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

/* Outside /v1/: the web UI's files. */
static int not_found(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct api *a = http_request__app(r);
	if (strncmp(http_request__path(r), "/v1/", 4))
		return web_static__serve(r, rp, a->web_dir, err);
	return err__fail_class(err, ENOENT, "no such endpoint");
}

/* The audit table: every authenticated request that is not a GET. */
static void audit(const struct http_request *r, unsigned status, void *app)
{
	struct api *a = app;
	const struct routes_ctx *p = routes__ctx(r);
	if (!p || !strcmp(http_request__method(r), "GET"))
		return;
	struct st_err err = {0};
	pthread_mutex_lock(&a->h->lock);
	double now = ratelimit__now();
	long uid;
	unsigned long n;
	while (ratelimit__take_suppressed(&a->refused, now, AUDIT_SUMMARY_PERIOD, &uid, &n)) {
		char what[96];
		snprintf(what, sizeof(what), "(%lu refused requests not recorded: rate limit)", n);
		log__warn("audit: uid %ld: %s", uid, what);
		if (store__audit(a->h->store, (uid_t)uid, 0, "-", what, 429, &err) < 0)
			log__warn("audit: %s", err.msg);
	}
	if ((status < 400 || p->can_write || ratelimit__allow(&a->refused, (long)p->uid, now)) &&
	    store__audit(a->h->store, p->uid, p->pid, http_request__method(r), http_request__path(r), status, &err) < 0)
		log__warn("audit: %s", err.msg);
	pthread_mutex_unlock(&a->h->lock);
}

int api__start(struct host *h, const struct api_opts *opts, struct api **out, struct st_err *err)
{
	if (opts->tcp_addr && (!opts->token || !*opts->token))
		return err__fail(err, 0, "--listen-tcp needs a token (--token-file)");
	struct api *a = calloc(1, sizeof(*a));
	if (!a)
		return err__fail(err, ENOMEM, "api");
	a->h = h;
	a->refused = (struct ratelimit){.rate = AUDIT_REFUSED_RATE, .burst = AUDIT_REFUSED_BURST};
	a->web_dir = strdup(opts->web_dir ? opts->web_dir : WEB_DIR_DEFAULT);
	size_t n;
	a->routes = routes__table(&n);
	if (web_session__open(h->store, &h->lock, err) < 0 || hoststats__start(err) < 0) {
		api__stop(a);
		return -1;
	}
	struct http_server_opts so = {.routes = a->routes, .nr_routes = n, .app = a, .body_max = API_BODY_MAX,
				      .authenticate = authenticate, .wrap = wrap, .log = audit,
				      .not_found = not_found, .tls_cert_file = opts->tls_cert,
				      .tls_key_file = opts->tls_key, .conn_max = opts->conn_max ? opts->conn_max : 256,
				      .conn_max_peer = opts->conn_max_peer ? opts->conn_max_peer : 32,
				      .request_timeout_s = opts->request_timeout_s};
	if (!a->routes || http_server__new(&so, &a->srv, err) < 0) {
		bool no_routes = !a->routes; /* a is gone after api__stop */
		api__stop(a);
		return no_routes ? err__fail(err, ENOMEM, "api") : -1;
	}
	if (http_server__listen_unix(a->srv, opts->unix_path, LISTENER_UNIX, err) < 0) {
		api__stop(a);
		return -1;
	}
	/* everyone may connect; what they may do is decided per request */
	chmod(opts->unix_path, 0666);
	if (opts->tcp_addr) {
		a->token = strdup(opts->token);
		if (!a->token || http_server__listen_tcp(a->srv, opts->tcp_addr, LISTENER_TCP, err) < 0) {
			api__stop(a);
			return err__prefix(err, "--listen-tcp");
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
	http_server__free(a->srv);
	hoststats__stop();
	free(a->routes);
	free(a->token);
	free(a->web_dir);
	web_session__clear();
	free(a);
}
