/* stratad's HTTP server: the common core with stratad's access rules
 * (peer credentials on the unix socket, a bearer token on TCP), the host
 * lock around every route and the audit table. */
#include "host/api.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/log.h"
#include "host/events.h"
#include "host/routes.h"
#include "host/store.h"

enum { LISTENER_UNIX, LISTENER_TCP };

struct api {
	struct host *h;
	struct http_server *srv;
	struct http_route *routes;
	char *token;
};

static gid_t strata_gid(void)
{
	struct group gr, *res = NULL;
	char buf[4096];
	if (getgrnam_r("strata", &gr, buf, sizeof(buf), &res) || !res)
		return (gid_t)-1;
	return gr.gr_gid;
}

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
	if (cred.uid == 0) {
		p->can_write = true;
		return;
	}
	gid_t g = strata_gid();
	if (g == (gid_t)-1)
		return;
	if (cred.gid == g) {
		p->can_write = true;
		return;
	}
	gid_t groups[256];
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		for (size_t i = 0; i < len / sizeof(gid_t); i++)
			if (groups[i] == g)
				p->can_write = true;
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

static int authenticate(struct http_request *r, struct st_err *err)
{
	struct api *a = http_request__app(r);
	struct routes_ctx *p = calloc(1, sizeof(*p));
	if (!p)
		return err__fail(err, ENOMEM, "request");
	p->h = a->h;
	p->uid = (uid_t)-1;
	if (http_request__listener(r) == LISTENER_TCP) {
		if (!token_ok(a, http_request__header(r, "Authorization"))) {
			free(p);
			return err__fail_class(err, EKEYREJECTED,
					       "a valid 'Authorization: Bearer TOKEN' header is required");
		}
		p->can_write = true;
	} else {
		peer_access(http_request__socket(r), p);
	}
	http_request__set_user(r, p, free);
	return 0;
}

/* Every route runs under the host lock; only GETs are open to read-only peers. */
static int wrap(struct http_request *r, struct http_reply *rp, http_handler_fn fn, struct st_err *err)
{
	const struct routes_ctx *p = routes__ctx(r);
	struct host *h = p->h;
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

static int not_found(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	(void)rp;
	if (strncmp(http_request__path(r), "/v1/", 4))
		return err__fail_class(err, ENOENT, "no such endpoint (the API lives under /v1/)");
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
	if (store__audit(a->h->store, p->uid, p->pid, http_request__method(r), http_request__path(r), status, &err) < 0)
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
	size_t n;
	a->routes = routes__table(&n);
	struct http_server_opts so = {.routes = a->routes, .nr_routes = n, .app = a, .body_max = API_BODY_MAX,
				      .authenticate = authenticate, .wrap = wrap, .log = audit,
				      .not_found = not_found};
	if (!a->routes || http_server__new(&so, &a->srv, err) < 0) {
		api__stop(a);
		return a->routes ? -1 : err__fail(err, ENOMEM, "api");
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
	free(a->routes);
	free(a->token);
	free(a);
}
