/* process.terminal: a pty whose master goes to the caller's console socket
 * (SCM_RIGHTS) and whose slave becomes the process's controlling terminal. */
#ifndef STRATA_CTR_TERMINAL_H
#define STRATA_CTR_TERMINAL_H

#include "common/err.h"

int terminal__connect(const char *socket_path, struct st_err *err);
int terminal__send_fd(int sock, int fd, struct st_err *err);
int terminal__recv_fd(int sock, struct st_err *err);
/* Open a pty in the container's /dev/pts; *master is returned, the slave is
 * made stdin/stdout/stderr and the controlling terminal; bound on /dev/console
 * when bind_console is set. */
int terminal__setup(int *master, int bind_console, struct st_err *err);

#endif
