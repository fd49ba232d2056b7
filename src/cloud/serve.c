/* The daemon: one HTTP server with every service's route table, Keystone's
 * error bodies, an access-log line per request, and a clean stop on SIGTERM
 * (the server waits for the requests in flight). */
#include "cloud/serve.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/http_server.h"
#include "common/log.h"
#include "cloud/compute/routes_compute.h"
#include "cloud/compute/routes_servers.h"
#include "cloud/images/routes_images.h"
#include "cloud/identity/routes_identity.h"
#include "cloud/network/routes_network.h"

#define CLOUD_BODY_MAX (1 << 20)

static const char *title_of(unsigned status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Requested Range Not Satisfiable";
	default: return status < 500 ? "Client Error" : "Internal Server Error";
	}
}

/* Nova's bodies under /compute, else Keystone's {"error": {"code",
 * "title", "message"}}. */
static json_t *format_error(const struct http_request *req, unsigned status, const char *message,
			    void *app)
{
	(void)app;
	if (req && routes_images__owns(http_request__path(req)))
		return routes_images__error(status, title_of(status), message);
	if (req && routes_network__owns(http_request__path(req)))
		return routes_network__error(status, message ? message : title_of(status));
	json_t *nova = routes_compute__error_body(req, status, message ? message : title_of(status));
	if (nova)
		return nova;
	return json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)status, "title", title_of(status),
			 "message", message ? message : title_of(status));
}

/* The services speak identity.h's classes, where EACCES is "authenticate
 * first" (401); the server core's 401 class is EKEYREJECTED. */
static int wrap(struct http_request *req, struct http_reply *reply, http_handler_fn fn,
		struct st_err *err)
{
	int rc = fn(req, reply, err);
	if (rc < 0 && err->errnum == EACCES)
		err->errnum = EKEYREJECTED;
	return rc;
}

static int not_found(struct http_request *req, struct http_reply *reply, struct st_err *err)
{
	(void)req;
	(void)reply;
	return err__fail_class(err, ENOENT, "The resource could not be found.");
}

/* Keystone's challenge on a 401: where to authenticate (its base URL). */
static char *challenge(const struct http_request *req, void *app)
{
	(void)app;
	const char *host = http_request__header(req, "Host");
	char *out;
	if (!host || strpbrk(host, "\"\\\r\n") || asprintf(&out, "Keystone uri=\"%s://%s/identity\"",
						      http_server__scheme(http_request__server(req)), host) < 0)
		return NULL;
	return out;
}

static void access_log(const struct http_request *req, unsigned status, void *app)
{
	(void)app;
	log__info("%s %s %u %s", http_request__method(req), http_request__path(req), status,
		  http_request__id(req) ? http_request__id(req) : "-");
}

/* Every service's routes in one table. */
static const struct http_route *(*const tables[])(size_t *n) = {
	routes_identity__auth, routes_identity__crud,
	routes_compute__versions, routes_compute__flavors, routes_compute__keypairs,
	routes_compute__aggregates, routes_compute__quotas, routes_servers__api,
	routes_servers__meta, routes_servers__actions,
	routes_compute__aggregates, routes_compute__quotas, routes_compute__services,
	routes_images__api, routes_images__data, routes_images__members, routes_images__schemas,
	routes_images__import, routes_network__api,
};

static struct http_route *all_routes(size_t *n)
{
	size_t total = 0, k;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		tables[i](&k);
		total += k;
	}
	struct http_route *all = calloc(total, sizeof(*all));
	if (!all)
		return NULL;
	*n = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		const struct http_route *t = tables[i](&k);
		memcpy(all + *n, t, k * sizeof(*t));
		*n += k;
	}
	return all;
}

int serve__run(struct cloud *cloud, const struct serve_opts *so, struct st_err *err)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Before any thread starts, so that they all inherit the mask and the
	 * signals wait for sigwait below. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* A request's memory stays with its thread's arena for the next one:
	 * glibc otherwise gave a list page's few hundred KiB back to the kernel
	 * after each request and took page faults for them on the next (an
	 * eighth of a GET /v2/images' CPU time). Big blocks (an upload's) are
	 * still mapped and unmapped on their own. */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	/* the access log is info; STRATA_LOG still chooses */
	if (!getenv("STRATA_LOG"))
		log__set_level(ST_LOG_INFO);
	size_t n = 0;
	cleanup_free struct http_route *routes = all_routes(&n);
	if (!routes)
		return err__fail(err, ENOMEM, "out of memory");
	struct http_server_opts o = {.routes = routes, .nr_routes = n, .app = cloud,
				     .body_max = CLOUD_BODY_MAX,
				     .request_id_header = "x-openstack-request-id",
				     .format_error = format_error, .wrap = wrap, .log = access_log,
				     .not_found = not_found, .challenge = challenge,
				     .tls_cert_file = so->tls_cert, .tls_key_file = so->tls_key};
	struct http_server *srv;
	if (http_server__new(&o, &srv, err) < 0)
		return -1;
	if (http_server__listen_tcp(srv, so->listen, 0, err) < 0) {
		http_server__free(srv);
		return err__prefix(err, "--listen");
	}
	if (so->listening && so->listening(so->listening_arg, err) < 0) {
		http_server__free(srv);
		return -1;
	}
	log__info("serving on %s://%s (identity at /identity/v3, compute at /compute/v2.1, images at /image)", http_server__scheme(srv),
		  so->listen);
	int sig;
	sigwait(&set, &sig);
	log__info("signal %d, stopping", sig);
	http_server__free(srv);
	return 0;
}
