#include "ctr/terminal.h"
#include "common/cleanup.h"
#include "common/util.h"

#include <errno.h>
#include <poll.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdbool.h>
#include <termios.h>
#include <unistd.h>

int terminal__connect(const char *socket_path, struct st_err *err)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return err__fail(err, 0, "console socket path is too long: %s", socket_path);
	strcpy(addr.sun_path, socket_path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err__fail_errno(err, "socket");
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		return err__fail(err, e, "connect to console socket %s", socket_path);
	}
	return fd;
}

int terminal__send_fd(int sock, int fd, const void *data, size_t len, struct st_err *err)
{
	char byte = 0;
	struct iovec iov = {.iov_base = data ? (void *)data : &byte, .iov_len = data ? len : 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
		return err__fail_errno(err, "send the terminal to the console socket");
	return 0;
}

int terminal__recv_fd(int sock, void *data, size_t len, struct st_err *err)
{
	char byte;
	struct iovec iov = {.iov_base = data ? data : &byte, .iov_len = data ? len : 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return err__fail_errno(err, "receive a file descriptor");
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return err__fail(err, 0, "no file descriptor received");
	
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int terminal__setup(int *master, int bind_console, unsigned short rows, unsigned short cols,
		    struct st_err *err)
{
	int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0)
		return err__fail_errno(err, "open /dev/ptmx");
	char name[64];
	if (unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
		close(m);
		return err__fail_errno(err, "set up the pty");
	}
	int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0) {
		close(m);
		return err__fail_errno(err, "open %s", name);
	}
	if (rows && cols)
		ioctl(s, TIOCSWINSZ, &(struct winsize){.ws_row = rows, .ws_col = cols});
	if (bind_console) {
		int c = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		if (c >= 0)
			close(c);
		if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
			err__fail_errno(err, "bind %s on /dev/console", name);
	}
	/* The container's init leads a session already; an exec'd process not yet. */
	if ((getsid(0) != getpid() && setsid() < 0) || ioctl(s, TIOCSCTTY, 0) < 0 || dup2(s, 0) < 0 || dup2(s, 1) < 0 ||
	    dup2(s, 2) < 0) {
		close(s);
		close(m);
		return err__fail_errno(err, "make the pty the controlling terminal");
	}
	if (s > 2)
		close(s);
	*master = m;
	return 0;
}

void terminal__proxy(int master)
{
	struct termios saved, raw;
	bool restore = isatty(0) && tcgetattr(0, &saved) == 0;
	if (restore) {
		struct winsize ws;
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(master, TIOCSWINSZ, &ws);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = master, .events = POLLIN}};
	char buf[4096];
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0)
				p[0].fd = -1;
			else
				util__write_all(master, buf, (size_t)n, NULL);
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(master, buf, sizeof(buf));
			if (n <= 0)
				break;
			util__write_all(1, buf, (size_t)n, NULL);
		}
	}
	if (restore)
		tcsetattr(0, TCSANOW, &saved);
}
