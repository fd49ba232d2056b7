/* common/sock: unix and TCP listen/connect, HOST:PORT parsing, bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/sock.h"
#include "tmpdir.h"

/* bytes written on one end arrive on the other */
static void echo(int a, int b)
{
	assert_int_equal(write(a, "ping", 4), 4);
	char buf[8] = {0};
	assert_int_equal(read(b, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "ping");
}

static void unix_round_trip(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/a.sock", tmpdir);
	struct st_err err = {0};
	int l = sock__unix_listen(path, &err);
	assert_true(l >= 0);
	/* the listener is non-blocking and close-on-exec: accept with nothing waiting does not hang */
	assert_true(fcntl(l, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(accept(l, NULL, NULL), -1);
	assert_int_equal(errno, EAGAIN);
	int c = sock__unix_connect(path, &err);
	assert_true(c >= 0);
	assert_true(fcntl(c, F_GETFD) & FD_CLOEXEC);
	int s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	echo(c, s);
	echo(s, c);
	close(s);
	close(c);
	close(l);
	/* a stale socket file (nobody listens) is replaced */
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	l = sock__unix_listen(path, &err);
	assert_true(l >= 0);
	c = sock__unix_connect(path, &err);
	assert_true(c >= 0);
	close(c);
	close(l);
}

static void unix_bad_input(void **state)
{
	(void)state;
	struct st_err err = {0};
	char path[128];
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	assert_int_equal(sock__unix_connect(path, &err), -1);
	assert_int_equal(err.errnum, ENOENT);
	assert_non_null(strstr(err.msg, "cannot connect to"));
	char longpath[200];
	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = 0;
	assert_int_equal(sock__unix_listen(longpath, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
	assert_int_equal(sock__unix_connect(longpath, &err), -1);
	assert_non_null(strstr(err.msg, "too long"));
	snprintf(path, sizeof(path), "%s/nodir/x.sock", tmpdir);
	assert_int_equal(sock__unix_listen(path, &err), -1);
	assert_non_null(strstr(err.msg, "cannot bind"));
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

static void tcp_round_trip(const char *listen_at, const char *host_fmt)
{
	struct st_err err = {0};
	int l = sock__tcp_listen(listen_at, &err);
	if (l < 0 && strstr(listen_at, "::1")) {
		/* loudly: a machine without IPv6 loopback cannot test this */
		print_message("SKIP: no IPv6 loopback here (%s)\n", err.msg);
		return;
	}
	assert_true(l >= 0);
	assert_true(fcntl(l, F_GETFD) & FD_CLOEXEC);
	char hp[64];
	snprintf(hp, sizeof(hp), host_fmt, port_of(l));
	int c = sock__tcp_connect(hp, &err);
	assert_true(c >= 0);
	int s = accept(l, NULL, NULL);
	assert_true(s >= 0);
	echo(c, s);
	close(s);
	close(c);
	close(l);
}

static void tcp_v4_and_v6(void **state)
{
	(void)state;
	tcp_round_trip("127.0.0.1:0", "127.0.0.1:%d");
	tcp_round_trip("[::1]:0", "[::1]:%d");
}

static void tcp_bad_input(void **state)
{
	(void)state;
	struct st_err err = {0};
	static const char *const not_hostport[] = {"nohost", ":80", "127.0.0.1:", ""};
	for (size_t i = 0; i < sizeof(not_hostport) / sizeof(not_hostport[0]); i++) {
		assert_int_equal(sock__tcp_connect(not_hostport[i], &err), -1);
		assert_non_null(strstr(err.msg, "is not HOST:PORT"));
		assert_int_equal(sock__tcp_listen(not_hostport[i], &err), -1);
	}
	/* numeric ports only, and a host that does not resolve: gai's message */
	assert_int_equal(sock__tcp_connect("127.0.0.1:http", &err), -1);
	assert_non_null(strstr(err.msg, "127.0.0.1:http: "));
	/* nobody listens: refused, with errno */
	int l = sock__tcp_listen("127.0.0.1:0", &err);
	assert_true(l >= 0);
	char hp[64];
	snprintf(hp, sizeof(hp), "127.0.0.1:%d", port_of(l));
	close(l);
	assert_int_equal(sock__tcp_connect(hp, &err), -1);
	assert_int_equal(err.errnum, ECONNREFUSED);
	assert_non_null(strstr(err.msg, "cannot connect to"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unix_round_trip), cmocka_unit_test(unix_bad_input),
		cmocka_unit_test(tcp_v4_and_v6),   cmocka_unit_test(tcp_bad_input),
	};
	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
