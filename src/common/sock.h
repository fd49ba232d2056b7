#ifndef STRATA_COMMON_SOCK_H
#define STRATA_COMMON_SOCK_H

#include <stdbool.h>

#include "common/err.h"

/* A non-blocking, close-on-exec listening unix stream socket at path (a stale
 * socket file there is replaced). Returns the fd or -1. */
int sock__unix_listen(const char *path, struct st_err *err);
/* A close-on-exec stream socket connected to the unix socket at path. */
int sock__unix_connect(const char *path, struct st_err *err);

/* TCP on "HOST:PORT" ("[::1]:PORT" for IPv6 literals): a connected socket,
 * or a listening one (SO_REUSEADDR). Close-on-exec, blocking. */
int sock__tcp_connect(const char *hostport, struct st_err *err);
int sock__tcp_listen(const char *hostport, struct st_err *err);
/* The socket is bound to a loopback address (127.0.0.0/8, ::1, or IPv4's
 * loopback mapped into IPv6): only this host can reach it. */
bool sock__is_loopback(int fd);

#endif
