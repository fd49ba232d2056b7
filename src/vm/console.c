#include "vm/console.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static struct termios saved_tty;

static void console__restore_tty(void)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

int console__open(struct console *c, const char *spec, struct st_err *err)
{
	memset(c, 0, offsetof(struct console, history));
	pthread_mutex_init(&c->lock, NULL);
	c->out_fd = c->in_fd = c->listen_fd = -1;
	if (!spec || !strcmp(spec, "stdio")) {
		c->kind = CONSOLE_STDIO;
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
			struct termios raw = saved_tty;
			cfmakeraw(&raw);
			raw.c_oflag |= OPOST; /* keep \n -> \r\n for our own messages */
			tcsetattr(STDIN_FILENO, TCSANOW, &raw);
			atexit(console__restore_tty);
			c->tty_raw = 1;
			fprintf(stderr, "strata-vm: console on this terminal; Ctrl-A x quits\r\n");
		}
		return 0;
	}
	if (!strcmp(spec, "none")) {
		c->kind = CONSOLE_NONE;
		return 0;
	}
	if (!strncmp(spec, "file:", 5)) {
		c->kind = CONSOLE_FILE;
		c->out_fd = open(spec + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (c->out_fd < 0)
			return st_fail_errno(err, "console file %s", spec + 5);
		return 0;
	}
	if (!strncmp(spec, "socket:", 7)) {
		c->kind = CONSOLE_SOCKET;
		c->listen_fd = st_unix_listen(spec + 7, err);
		if (c->listen_fd < 0)
			return st_err_prefix(err, "console");
		c->socket_path = strdup(spec + 7);
		return 0;
	}
	return st_fail(err, 0, "unknown console '%s' (stdio, socket:PATH, file:PATH, none)", spec);
}

static void console__history_add(struct console *c, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		c->history[(c->hist_head + c->hist_len) % CONSOLE_HISTORY] = buf[i];
		if (c->hist_len < CONSOLE_HISTORY)
			c->hist_len++;
		else
			c->hist_head = (c->hist_head + 1) % CONSOLE_HISTORY;
	}
}

static void console__send(int fd, const uint8_t *buf, size_t n, int is_socket)
{
	while (n) {
		ssize_t w = is_socket ? send(fd, buf, n, MSG_NOSIGNAL) : write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* a slow or gone reader never stalls the guest's vCPU */
		buf += w;
		n -= (size_t)w;
	}
}

void console__write(struct console *c, const uint8_t *buf, size_t n)
{
	pthread_mutex_lock(&c->lock);
	if (c->kind == CONSOLE_SOCKET) {
		console__history_add(c, buf, n);
		if (c->in_fd >= 0)
			console__send(c->in_fd, buf, n, 1);
	} else if (c->out_fd >= 0) {
		console__send(c->out_fd, buf, n, 0);
	}
	pthread_mutex_unlock(&c->lock);
}

void console__accept(struct console *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->in_fd >= 0)
		close(c->in_fd);
	c->in_fd = fd;
	size_t first = CONSOLE_HISTORY - c->hist_head;
	if (first > c->hist_len)
		first = c->hist_len;
	console__send(fd, c->history + c->hist_head, first, 1);
	console__send(fd, c->history, c->hist_len - first, 1);
	pthread_mutex_unlock(&c->lock);
}

long console__read(struct console *c, uint8_t *buf, size_t n)
{
	ssize_t r = read(c->in_fd, buf, n);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? -1 : 0;
	if (r == 0) {
		pthread_mutex_lock(&c->lock);
		if (c->kind == CONSOLE_SOCKET)
			close(c->in_fd);
		c->in_fd = -1;
		pthread_mutex_unlock(&c->lock);
	}
	return r;
}

void console__close(struct console *c)
{
	if (c->socket_path) {
		unlink(c->socket_path);
		free(c->socket_path);
		c->socket_path = NULL;
	}
}
