/* The REST/JSON API over HTTP (libmicrohttpd, one thread per connection):
 * on a unix socket, where the peer's uid decides what it may do (root and
 * members of the `strata` group: everything; others: GET only), and
 * optionally on TCP, where a bearer token is required. Every request that
 * is not a GET is written to the audit table with who made it. */
#ifndef STRATA_HOST_API_H
#define STRATA_HOST_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"
#include "host/host.h"

#define API_BODY_MAX (1u << 20)

struct api;

struct api_opts {
	const char *unix_path;
	const char *tcp_addr; /* "HOST:PORT" or NULL */
	const char *token;    /* required with tcp_addr */
};

int api__start(struct host *h, const struct api_opts *opts, struct api **out, struct st_err *err);
void api__stop(struct api *a);

/* What a route handler sees and fills. */
struct api_req {
	struct host *h;
	struct MHD_Connection *conn;
	const char *method;
	char *segs[8]; /* the path split on '/', after "v1" */
	int nsegs;
	const char *body;
	size_t len;
	const char *content_type;
	uid_t uid;
	pid_t pid; /* the peer's, on the unix socket */
	bool can_write;
};

struct api_reply {
	unsigned status;
	json_t *json;      /* body, or */
	char *text;        /* a malloc'd text body with ctype */
	const char *ctype;
	int fd;            /* a file to send (download), fd_size bytes; -1 otherwise */
	uint64_t fd_size;
	bool sse;          /* serve the event stream */
	char *console;     /* malloc'd console socket path: upgrade the connection to it */
};

/* The request asked to upgrade its connection to this protocol. */
bool api__wants_upgrade(const struct api_req *r, const char *proto);
#define API_CONSOLE_PROTO "strata-console"

const char *api__arg(const struct api_req *r, const char *name);
/* Parses the JSON body: fails (EINVAL) with the parser's message. */
int api__body_json(const struct api_req *r, json_t **out, struct st_err *err);

#endif
