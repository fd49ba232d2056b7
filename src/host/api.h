/* stratad's REST/JSON API: the common HTTP server core (common/http_server.h)
 * with stratad's routes (routes.h) and access rules. On the unix socket the
 * peer's uid decides what it may do (root and members of the `strata` group:
 * everything; others: GET only); on TCP a bearer token is required. Every
 * request that is not a GET is written to the audit table with who made it.
 * Route handlers run with host->lock held. */
#ifndef STRATA_HOST_API_H
#define STRATA_HOST_API_H

#include "common/err.h"
#include "host/host.h"

#define API_BODY_MAX (1u << 20)
#ifndef WEB_DIR_DEFAULT
#define WEB_DIR_DEFAULT "/usr/local/share/strata/web"
#endif

struct api;

struct api_opts {
	const char *unix_path;
	const char *tcp_addr; /* "HOST:PORT" or NULL */
	const char *token;    /* required with tcp_addr */
	const char *web_dir;  /* the web UI's files; NULL: WEB_DIR_DEFAULT */
	const char *tls_cert; /* PEM files: HTTPS on TCP (both or neither) */
	const char *tls_key;
	unsigned conn_max, conn_max_peer; /* 0: 256 in all, 32 per uid or address */
	unsigned request_timeout_s;       /* 0: the HTTP core's default */
};

int api__start(struct host *h, const struct api_opts *opts, struct api **out, struct st_err *err);
void api__stop(struct api *a);

#endif
