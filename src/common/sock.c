#include "common/sock.h"
#include "common/cleanup.h"

#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int st_unix_listen(const char *path, struct st_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return st_fail(err, 0, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return st_fail_errno(err, "socket");
	unlink(path); /* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return st_fail_errno(err, "cannot bind %s", path);
	if (listen(fd, 8) < 0)
		return st_fail_errno(err, "listen on %s", path);
	return st_steal_fd(&fd);
}
