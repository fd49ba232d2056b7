#include "common/sock.h"
#include "common/cleanup.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The system's maximum listen backlog (net.core.somaxconn, per network
 * namespace): a burst of clients is queued, not refused, while the server is
 * busy. The kernel caps a larger value at it anyway. */
static int listen_backlog(void)
{
	int backlog = SOMAXCONN;
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "re");
	if (f) {
		int v;
		if (fscanf(f, "%d", &v) == 1 && v > backlog)
			backlog = v;
		fclose(f);
	}
	return backlog;
}

int sock__unix_listen(const char *path, struct st_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return err__fail(err, 0, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err__fail_errno(err, "socket");
	unlink(path); /* a stale socket from an earlier run */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err__fail_errno(err, "cannot bind %s", path);
	if (listen(fd, listen_backlog()) < 0)
		return err__fail_errno(err, "listen on %s", path);
	return cleanup__steal_fd(&fd);
}

int sock__unix_connect(const char *path, struct st_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return err__fail(err, 0, "socket path %s is too long", path);
	strcpy(sa.sun_path, path);
	cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err__fail_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return err__fail_errno(err, "cannot connect to %s", path);
	return cleanup__steal_fd(&fd);
}

/* HOST:PORT (the last colon splits; [v6-address]:PORT works too) resolved
 * for a stream socket. */
static int tcp_resolve(const char *hostport, bool passive, struct addrinfo **ai, struct st_err *err)
{
	char host[256];
	const char *colon = strrchr(hostport, ':');
	if (!colon || colon == hostport || !colon[1] || (size_t)(colon - hostport) >= sizeof(host))
		return err__fail(err, 0, "'%s' is not HOST:PORT", hostport);
	size_t hlen = (size_t)(colon - hostport);
	const char *h = hostport;
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']')
		h++, hlen -= 2;
	snprintf(host, sizeof(host), "%.*s", (int)hlen, h);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)};
	int rc = getaddrinfo(host, colon + 1, &hints, ai);
	if (rc)
		return err__fail(err, 0, "%s: %s", hostport, gai_strerror(rc));
	return 0;
}

int sock__tcp_connect(const char *hostport, struct st_err *err)
{
	struct addrinfo *ai;
	if (tcp_resolve(hostport, false, &ai, err) < 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		err__fail_errno(err, "cannot connect to %s", hostport);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int sock__tcp_listen(const char *hostport, struct st_err *err)
{
	struct addrinfo *ai;
	if (tcp_resolve(hostport, true, &ai, err) < 0)
		return -1;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, listen_backlog()) < 0) {
		err__fail_errno(err, "cannot listen on %s", hostport);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

bool sock__is_loopback(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return false;
	if (ss.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) == 127;
	if (ss.ss_family != AF_INET6)
		return false;
	const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
	return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}
