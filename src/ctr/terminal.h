/* process.terminal: a pty whose master goes to the caller's console socket
 * (SCM_RIGHTS) and whose slave becomes the process's controlling terminal. */
#ifndef STRATA_CTR_TERMINAL_H
#define STRATA_CTR_TERMINAL_H

#include "common/err.h"

int terminal__connect(const char *socket_path, struct st_err *err);
#include <stddef.h>

/* fd with data (or one byte when data is NULL) as SCM_RIGHTS; recv fills data. */
int terminal__send_fd(int sock, int fd, const void *data, size_t len, struct st_err *err);
int terminal__recv_fd(int sock, void *data, size_t len, struct st_err *err);
/* Copy stdin to master and master to stdout (raw mode) until master closes. */
void terminal__proxy(int master);
/* Open a pty in the container's /dev/pts; *master is returned, the slave is
 * made stdin/stdout/stderr and the controlling terminal; bound on /dev/console
 * when bind_console is set. */
int terminal__setup(int *master, int bind_console, unsigned short rows, unsigned short cols,
		    struct st_err *err);

#endif
