#include "vm/console.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/sock.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
			return err__fail_errno(err, "console file %s", spec + 5);
		return 0;
	}
	if (!strncmp(spec, "socket:", 7)) {
		c->kind = CONSOLE_SOCKET;
		c->listen_fd = sock__unix_listen(spec + 7, err);
		if (c->listen_fd < 0)
			return err__prefix(err, "console");
		c->socket_path = strdup(spec + 7);
		return 0;
	}
	return err__fail(err, 0, "unknown console '%s' (stdio, socket:PATH, file:PATH, none)", spec);
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

/* Accepts a socket client (replacing any previous one) and replays history. */
static void accept_client(struct console *c)
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

/* Reads input into buf; 0 on EOF/hang-up (input then stops), -1 if nothing now. */
static long read_input(struct console *c, uint8_t *buf, size_t n)
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

bool console__input_waiting(const struct console *c)
{
	return c->input.pending_len != 0;
}

void console__feed(struct console *c)
{
	struct console_input *in = &c->input;
	while (in->pending_off < in->pending_len) {
		size_t n = in->sink.take(in->sink.opaque, in->pending + in->pending_off,
					 in->pending_len - in->pending_off);
		if (!n)
			return;
		in->pending_off += n;
	}
	in->pending_len = in->pending_off = 0;
	if (!in->in_watched && in->in.fd >= 0) {
		struct st_err err = {0};
		in->in_watched = loop__add(&in->in, EPOLLIN, &err) == 0;
	}
}

static void on_input(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct console *c = ST_CONTAINER_OF(w, struct console, input.in);
	struct console_input *in = &c->input;
	long n = read_input(c, in->pending, sizeof(in->pending));
	if (n < 0)
		return;
	if (n == 0) { /* EOF or the client left: stop watching this fd */
		loop__del(w);
		in->in_watched = false;
		in->in.fd = -1;
		return;
	}
	size_t out = 0;
	for (long i = 0; i < n; i++) {
		uint8_t b = in->pending[i];
		if (c->tty_raw && c->escape) {
			c->escape = 0;
			if (b == 'x') {
				in->sink.quit(in->sink.opaque);
				return;
			}
		} else if (c->tty_raw && b == 0x01) {
			c->escape = 1;
			continue;
		}
		in->pending[out++] = b;
	}
	in->pending_len = out;
	in->pending_off = 0;
	loop__del(w); /* until the sink has taken all of it */
	in->in_watched = false;
	console__feed(c);
}

static void on_connect(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct console *c = ST_CONTAINER_OF(w, struct console, input.listen);
	struct console_input *in = &c->input;
	if (in->in_watched)
		loop__del(&in->in);
	accept_client(c);
	in->in.fd = c->in_fd;
	in->in_watched = false;
	console__feed(c);
}

int console__watch_input(struct console *c, const struct console_sink *sink, struct st_err *err)
{
	struct console_input *in = &c->input;
	in->sink = *sink;
	in->in = (struct loop_watch){.fd = c->in_fd, .fn = on_input};
	if (c->kind == CONSOLE_STDIO) {
		struct st_err ignored = {0};
		/* Regular files and /dev/null cannot be polled: no input then. */
		in->in_watched = loop__add(&in->in, EPOLLIN, &ignored) == 0;
		if (!in->in_watched)
			in->in.fd = -1;
	} else if (c->kind == CONSOLE_SOCKET) {
		in->listen = (struct loop_watch){.fd = c->listen_fd, .fn = on_connect};
		if (loop__add(&in->listen, EPOLLIN, err) < 0)
			return -1;
	}
	return 0;
}
