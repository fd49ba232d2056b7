/* Console input (src/vm/console.c) on the main loop, no KVM: a socket
 * client's bytes reach the sink as it makes room (the UART's FIFO), recent
 * output is replayed to a new client, a client's hang-up stops input until the
 * next one, and Ctrl-A x on a raw terminal asks to quit. Waits are for the
 * condition, bounded by a generous deadline. */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "vm/console.h"
#include "vm/loop.h"

#define DEADLINE_S 10

static struct console con;
static struct {
	uint8_t got[256];
	size_t len;
	size_t room; /* the FIFO's free space: what take() accepts until refilled */
	int quits;
} sink;

static size_t take(void *opaque, const uint8_t *buf, size_t n)
{
	(void)opaque;
	if (n > sink.room)
		n = sink.room;
	if (n > sizeof(sink.got) - sink.len)
		n = sizeof(sink.got) - sink.len;
	memcpy(sink.got + sink.len, buf, n);
	sink.len += n;
	sink.room -= n;
	return n;
}

static void quit(void *opaque)
{
	(void)opaque;
	sink.quits++;
}

static const struct console_sink the_sink = {.take = take, .quit = quit};

static time_t deadline(void)
{
	return time(NULL) + DEADLINE_S;
}

/* Turns the main loop (feeding waiting input after each turn, as main.c does)
 * until done() or the deadline. */
static void run_until(int (*done)(void))
{
	time_t end = deadline();
	while (!done() && time(NULL) < end) {
		loop__run_once(console__input_waiting(&con) ? 5 : 50);
		console__feed(&con);
	}
	assert_true(done());
}

static size_t want_len;
static int got_enough(void) { return sink.len >= want_len; }
static int client_attached(void) { return con.in_fd >= 0; }
static int client_gone(void) { return con.in_fd < 0; }
static int quit_asked(void) { return sink.quits > 0; }

static int connect_client(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void read_exactly(int fd, void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t r = read(fd, (uint8_t *)buf + off, n - off);
		assert_true(r > 0);
		off += (size_t)r;
	}
}

static void test_socket_input_history_and_hangup(void **state)
{
	(void)state;
	char dir[] = "/tmp/test-console-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.sock", dir);
	struct st_err err = {0};
	char spec[80];
	snprintf(spec, sizeof(spec), "socket:%s", path);
	assert_int_equal(console__open(&con, spec, &err), 0);
	assert_int_equal(console__watch_input(&con, &the_sink, &err), 0);
	memset(&sink, 0, sizeof(sink));

	console__write(&con, (const uint8_t *)"boot log", 8); /* before any client */
	int cl = connect_client(path);
	run_until(client_attached);
	char hist[8];
	read_exactly(cl, hist, sizeof(hist));
	assert_memory_equal(hist, "boot log", 8);

	/* A FIFO with room for 3 bytes: the rest waits until it has room again. */
	sink.room = 3;
	assert_int_equal(write(cl, "abcdefgh", 8), 8);
	want_len = 3;
	run_until(got_enough);
	assert_true(console__input_waiting(&con));
	sink.room = 64;
	want_len = 8;
	run_until(got_enough);
	assert_false(console__input_waiting(&con));
	assert_memory_equal(sink.got, "abcdefgh", 8);

	/* Not a terminal: Ctrl-A x is data. */
	sink.room = 64;
	assert_int_equal(write(cl, "\x01x", 2), 2);
	want_len = 10;
	run_until(got_enough);
	assert_memory_equal(sink.got + 8, "\x01x", 2);
	assert_int_equal(sink.quits, 0);

	/* Hang-up: input stops; the next client takes over. */
	close(cl);
	run_until(client_gone);
	cl = connect_client(path);
	run_until(client_attached);
	read_exactly(cl, hist, sizeof(hist));
	sink.room = 64;
	assert_int_equal(write(cl, "z", 1), 1);
	want_len = 11;
	run_until(got_enough);
	assert_int_equal(sink.got[10], 'z');
	close(cl);
	run_until(client_gone); /* its watch goes: the next test reuses con */
	console__close(&con);
	assert_int_equal(access(path, F_OK), -1); /* the socket is removed */
	rmdir(dir);
}

static void test_ctrl_a_x_on_a_terminal_quits(void **state)
{
	(void)state;
	int master, slave;
	if (openpty(&master, &slave, NULL, NULL, NULL) < 0) {
		skip(); /* no pty here */
		return;
	}
	int saved_in = dup(STDIN_FILENO);
	assert_true(saved_in >= 0);
	assert_int_equal(dup2(slave, STDIN_FILENO), STDIN_FILENO);
	struct st_err err = {0};
	assert_int_equal(console__open(&con, "stdio", &err), 0);
	assert_true(con.tty_raw);
	assert_int_equal(console__watch_input(&con, &the_sink, &err), 0);
	memset(&sink, 0, sizeof(sink));
	sink.room = 64;

	assert_int_equal(write(master, "ok", 2), 2);
	want_len = 2;
	run_until(got_enough);
	assert_memory_equal(sink.got, "ok", 2);
	assert_int_equal(write(master, "\x01x", 2), 2);
	run_until(quit_asked);
	assert_int_equal(sink.quits, 1);
	assert_int_equal(sink.len, 2); /* the escape is not input */

	console__close(&con);
	dup2(saved_in, STDIN_FILENO);
	close(saved_in);
	close(slave);
	close(master);
}

int main(void)
{
	struct st_err err = {0};
	if (loop__init(&err) < 0) {
		fprintf(stderr, "loop__init: %s\n", err.msg);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_input_history_and_hangup),
		cmocka_unit_test(test_ctrl_a_x_on_a_terminal_quits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
