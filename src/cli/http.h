/* A small HTTP/1.0 client for stratad's API: one connection per request,
 * over the unix socket or TCP (with a bearer token). */
#ifndef STRATA_CLI_HTTP_H
#define STRATA_CLI_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

struct http_target {
	const char *unix_path;
	const char *tcp; /* HOST:PORT, or NULL */
	const char *token;
};

struct http_resp {
	unsigned status;
	char *body;
	size_t len;
};

/* Sends a request with an optional in-memory body; reads the whole reply. */
int http__request(const struct http_target *t, const char *method, const char *path, const char *ctype,
		  const char *body, size_t len, struct http_resp *out, struct st_err *err);
/* Streams: the body from upload_fd (size bytes), or the reply body into
 * sink (download); progress on stderr when show_progress. */
int http__transfer(const struct http_target *t, const char *method, const char *path, int upload_fd,
		   uint64_t size, FILE *sink, int show_progress, struct http_resp *out, struct st_err *err);
/* Opens a GET request and returns the socket positioned after the headers:
 * the event stream, or with upgrade, the connection switched to that
 * protocol (the console). A refusal fails with the API's message. */
int http__open_stream(const struct http_target *t, const char *path, const char *upgrade, struct st_err *err);

/* The API's JSON reply, or an error from {"error": {"message"}} (errnum = status). */
int http__json(const struct http_target *t, const char *method, const char *path, const json_t *body,
	       json_t **out, struct st_err *err);

#endif
