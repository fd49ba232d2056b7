/* stratad's API routes, one file per kind of object: routes_domains.c,
 * routes_storage.c, routes_networks.c, routes_host.c (host, audit, events),
 * routes_images.c (the image cache), routes_templates.c (guest templates), console_ws.c (the console
 * as a WebSocket).
 * Each parses its requests and calls the plain functions of domains.h,
 * storage.h, networks.h ...; nothing below the route files sees an HTTP type.
 * Handlers run with host->lock held (api.c's wrap). */
#ifndef STRATA_HOST_ROUTES_H
#define STRATA_HOST_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/err.h"
#include "common/http_server.h"
#include "host/host.h"
#include "host/web_session.h"

extern const struct http_route routes__table_domains[], routes__table_storage[], routes__table_networks[],
	routes__table_host[], routes__table_session[], routes__table_images[], routes__table_virsh[],
	routes__table_templates[], routes__table_console[];
extern const size_t routes__nr_domains, routes__nr_storage, routes__nr_networks, routes__nr_host,
	routes__nr_session, routes__nr_images, routes__nr_virsh, routes__nr_templates, routes__nr_console;
/* A route's data saying it runs without the host lock and decides access
 * itself (the web login: routes_session.c). */
extern const char routes__open[];

/* Who asks, of which host: what the server (api.c) attaches to each request
 * it lets through (http_request__set_user). */
struct routes_ctx {
	struct host *h;
	uid_t uid;  /* -1 on TCP */
	pid_t pid;  /* the peer's, on the unix socket */
	bool can_write;
	bool tls;          /* the connection is HTTPS (cookies get Secure) */
	bool session;      /* authenticated by the web UI's session cookie: ws */
	struct web_session ws;
};

const struct routes_ctx *routes__ctx(const struct http_request *r);
struct host *routes__host(const struct http_request *r);

/* All of them in one malloc'd table (*n routes). */
struct http_route *routes__table(size_t *n);

/* For the route files: replies *out (status 0: 200) when rc is 0; else drops *out, fails.
 * A pointer, read after rc was computed: routes__json(rp, 200, fn(..., &out), &out). */
int routes__json(struct http_reply *rp, unsigned status, int rc, json_t **out);
/* The query parameter name as a number up to max into *out (left as it is
 * when the request has none); a bad one is a 400 naming it. */
int routes__query_u64(const struct http_request *r, const char *name, uint64_t max, uint64_t *out,
		      struct st_err *err);
/* A definition's body: libvirt XML (Content-Type *xml*, or a body
 * starting with '<') through import (a refusal is a 400), else JSON. */
typedef int (*routes_xml_import_fn)(const char *xml, size_t len, json_t **out, struct st_err *err);
int routes__body_def(const struct http_request *r, routes_xml_import_fn import, json_t **in, struct st_err *err);
/* A domain definition in the body: routes__body_def with domxml__import. */
int routes__domain_body(const struct http_request *r, json_t **out, struct st_err *err);
/* Replies the XML export of *info when rc is 0 (then drops *info); else fails. */
int routes__xml(struct http_reply *rp, int rc, json_t **info, char *(*export)(const json_t *info),
		struct st_err *err);
/* The body {"autostart": true|false}. */
int routes__autostart_body(const struct http_request *r, bool *on, struct st_err *err);

#endif
