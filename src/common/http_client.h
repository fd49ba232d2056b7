/* A small HTTP/1.0 client for Strata's APIs (the CLI's, tests', the cloud's
 * calls to stratad): one connection per request, over a unix socket or TCP
 * (with a bearer token). */
#ifndef STRATA_COMMON_HTTP_CLIENT_H
#define STRATA_COMMON_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/err.h"

struct http_client_target {
	const char *unix_path;
	const char *tcp; /* HOST:PORT, or NULL */
	const char *token;              /* sent as "Authorization: Bearer" on TCP */
	const char *const *headers;     /* more "Name: value" lines, NULL-terminated, or NULL */
	const char *server;             /* what messages call the server; NULL: stratad */
	unsigned timeout_ms;            /* per send/receive on the socket; 0: none */
};

struct http_client_resp {
	unsigned status;
	char *body;
	size_t len;
	bool keep_head; /* set by the caller: keep the reply's head for http_client__header */
	char *head;     /* the status line and headers */
	int64_t content_length; /* the reply's Content-Length, -1 when it has none */
};

/* Sends a request with an optional in-memory body; reads the whole reply. */
int http_client__request(const struct http_client_target *t, const char *method, const char *path, const char *ctype,
		  const char *body, size_t len, struct http_client_resp *out, struct st_err *err);
/* Streams: the body from upload_fd (size bytes), or the reply body into
 * sink (download); progress on stderr when show_progress. */
int http_client__transfer(const struct http_client_target *t, const char *method, const char *path, int upload_fd,
		   uint64_t size, FILE *sink, int show_progress, struct http_client_resp *out, struct st_err *err);
/* Opens a GET request and returns the socket positioned after the headers:
 * the event stream, or with upgrade, the connection switched to that
 * protocol (the console). A refusal fails with the API's message. */
int http_client__open_stream(const struct http_client_target *t, const char *path, const char *upgrade, struct st_err *err);

/* The API's JSON reply, or an error from {"error": {"message"}} (errnum = status). */
int http_client__json(const struct http_client_target *t, const char *method, const char *path, const json_t *body,
	       json_t **out, struct st_err *err);

/* A reply header's value copied into buf, or NULL when absent. */
const char *http_client__header(const struct http_client_resp *r, const char *name, char *buf, size_t size);
/* Frees what a request filled into r. */
void http_client__resp_free(struct http_client_resp *r);

#endif
