/* The web UI's static files (index.html, ES modules, CSS, vendored
 * libraries), served by stratad at "/" beside the API at "/v1". Only regular
 * files inside the web directory are served: a path with a "." or ".."
 * segment, an encoded '/', a backslash or a NUL is refused (400), and the file
 * is opened beneath the directory (openat2 RESOLVE_BENEATH), so a symbolic
 * link pointing out of the tree is refused too (404). */
#ifndef STRATA_HOST_WEB_STATIC_H
#define STRATA_HOST_WEB_STATIC_H

#include "common/err.h"
#include "common/http_server.h"

/* Replies to a GET or HEAD of the raw request path with the file under
 * root_dir ("/" is index.html); fails EINVAL (bad path), ENOENT (no such file)
 * or EACCES-free: every other method is a 405 reply. */
int web_static__serve(struct http_request *r, struct http_reply *rp, const char *root_dir, struct st_err *err);

/* The content type stratad sends for a file name (by its extension). */
const char *web_static__content_type(const char *name);

#endif
