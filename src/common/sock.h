#ifndef STRATA_COMMON_SOCK_H
#define STRATA_COMMON_SOCK_H

#include "common/err.h"

/* A non-blocking, close-on-exec listening unix stream socket at path (a stale
 * socket file there is replaced). Returns the fd or -1. */
int st_unix_listen(const char *path, struct st_err *err);

#endif
