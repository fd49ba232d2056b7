/* PUT and GET /v2/images/{id}/file, PUT .../stage: the upload streams through the server's
 * upload_ops into the store (never buffered); the download is the stored
 * file, whole (with Content-MD5) or one byte range, both sent from the file
 * (sendfile). */
#include "cloud/images/routes_images.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

/* What an upload carries from its headers to its handler. A wrong Content-Type
 * is answered (415) once the body has been read and dropped. */
struct upload_state {
	struct images_upload *up;
	bool wrong_type;
};

static int upload_begin(struct http_request *r, void **state, struct st_err *err)
{
	struct upload_state *s = calloc(1, sizeof(*s));
	if (!s)
		return err__fail(err, ENOMEM, "out of memory");
	const char *ctype = http_request__header(r, "Content-Type");
	if (!ctype || strncmp(ctype, "application/octet-stream", 24)) {
		s->wrong_type = true;
		*state = s;
		return 0;
	}
	struct images_caller c;
	const char *cl = http_request__header(r, "Content-Length");
	int64_t declared = cl ? (int64_t)strtoll(cl, NULL, 10) : -1;
	/* PUT .../stage (route data set) keeps the data aside for an import */
	int (*begin)(struct images *, const struct images_caller *, const char *, int64_t,
		     struct images_upload **, struct st_err *) =
		http_request__route(r)->data ? images__stage_begin : images__upload_begin;
	if (routes_images__caller(r, &c, err) < 0 ||
	    begin(routes_images__service(r), &c, http_request__capture(r, "id"), declared, &s->up,
		  err) < 0) {
		free(s);
		/* outside the server's wrap: identity's "authenticate first" is a 401 */
		if (err->errnum == EACCES)
			err->errnum = EKEYREJECTED;
		return -1;
	}
	*state = s;
	return 0;
}

static int upload_write(void *state, const char *data, size_t len, struct st_err *err)
{
	struct upload_state *s = state;
	return s->wrong_type ? 0 : images__upload_write(s->up, data, len, err);
}

static void upload_abort(void *state)
{
	struct upload_state *s = state;
	if (s)
		images__upload_abort(s->up);
	free(s);
}

static const struct http_upload_ops upload_ops = {upload_begin, upload_write, upload_abort};

static int image_upload(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct upload_state *s = http_request__upload_state(r);
	if (s->wrong_type) {
		free(s);
		return http_reply__error(rp, 415, "The image data must be sent as"
						  " application/octet-stream.");
	}
	struct images_upload *up = s->up;
	free(s);
	if (images__upload_finish(up, http_request__header(r, "Content-MD5"), err) < 0)
		return -1;
	http_reply__text(rp, 204, "text/plain", strdup(""));
	return 0;
}

/* "bytes=A-B", "bytes=A-" or "bytes=-N" within size: [*from, *to]. */
static bool parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
	if (strncmp(h, "bytes=", 6) || strchr(h, ',') || size == 0)
		return false;
	h += 6;
	char *end;
	if (*h == '-') {
		uint64_t n = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end || n == 0)
			return false;
		*from = n >= size ? 0 : size - n;
		*to = size - 1;
		return true;
	}
	*from = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return false;
	h = end + 1;
	*to = *h ? strtoull(h, &end, 10) : size - 1;
	if ((*h && *end) || *from > *to || *from >= size)
		return false;
	if (*to >= size)
		*to = size - 1;
	return true;
}

static int image_download(struct http_request *r, struct http_reply *rp, struct st_err *err)
{
	struct images_caller c;
	int fd;
	uint64_t size, from, to;
	char md5[33], text[96];
	if (routes_images__caller(r, &c, err) < 0)
		return -1;
	if (images__download(routes_images__service(r), &c, http_request__capture(r, "id"), &fd, &size,
			     md5, err) < 0) {
		if (err->errnum != ENODATA)
			return -1;
		http_reply__text(rp, 204, "text/plain", strdup("")); /* Glance: no data yet */
		return 0;
	}
	const char *range = http_request__header(r, "Range");
	if (!range) {
		http_reply__file(rp, 200, "application/octet-stream", fd, size);
		if (*md5)
			http_reply__header(rp, "Content-MD5", md5);
		return 0;
	}
	if (!parse_range(range, size, &from, &to)) {
		close(fd);
		http_reply__error(rp, 416, "Requested range not satisfiable");
		snprintf(text, sizeof(text), "bytes */%" PRIu64, size);
		http_reply__header(rp, "Content-Range", text);
		return 0;
	}
	http_reply__file_range(rp, 206, "application/octet-stream", fd, from, to - from + 1);
	snprintf(text, sizeof(text), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, size);
	http_reply__header(rp, "Content-Range", text);
	return 0;
}

static const struct http_route routes[] = {
	{"PUT", "/image/v2/images/{id}/file", image_upload, &upload_ops, NULL},
	{"PUT", "/image/v2/images/{id}/stage", image_upload, &upload_ops, "stage"},
	{"GET", "/image/v2/images/{id}/file", image_download, NULL, NULL},
};

const struct http_route *routes_images__data(size_t *n)
{
	*n = sizeof(routes) / sizeof(routes[0]);
	return routes;
}
