/* strata-vm's seccomp filter (src/vm/sandbox.c, policy in
 * src/vm/seccomp/policy.c): each case runs in a child that installs it and
 * then makes one call; refused calls must end that child with the VMM's crash
 * status and one line naming the call, allowed ones must work. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/sandbox.h"
#include "vm/vm.h"
#include "seccomp_bpf.h"

struct outcome {
	int status;    /* wait status */
	char err[512]; /* what the child wrote on stderr */
};

/* Runs fn (returns 0 when the call behaved as allowed) in a child under the
 * filter of the given mode. */
static struct outcome run_filtered(enum sandbox_mode mode, int (*fn)(void))
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		struct st_err err = {0};
		if (sandbox__apply(mode, &err) < 0) {
			dprintf(STDERR_FILENO, "apply: %s\n", err.msg);
			_exit(100);
		}
		_exit(fn() == 0 ? 0 : 101);
	}
	close(p[1]);
	struct outcome o = {0};
	size_t have = 0;
	ssize_t n;
	while ((n = read(p[0], o.err + have, sizeof(o.err) - 1 - have)) > 0)
		have += (size_t)n;
	close(p[0]);
	assert_int_equal(waitpid(pid, &o.status, 0), pid);
	return o;
}

static void expect_refused(int (*fn)(void), const char *name)
{
	struct outcome o = run_filtered(SANDBOX_ON, fn);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != VM_EXIT_CRASH)
		fail_msg("%s: child status %#x, stderr '%s'", name, o.status, o.err);
	char want[96];
	snprintf(want, sizeof(want), "seccomp refused the system call %s (", name);
	if (!strstr(o.err, want) || strchr(o.err, '\n') != o.err + strlen(o.err) - 1)
		fail_msg("%s: expected one line naming it, got '%s'", name, o.err);
}

static void expect_allowed(enum sandbox_mode mode, int (*fn)(void), const char *what)
{
	struct outcome o = run_filtered(mode, fn);
	if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
		fail_msg("%s: child status %#x, stderr '%s'", what, o.status, o.err);
}

static int do_execve(void)
{
	char *argv[] = {"true", NULL};
	execve("/bin/true", argv, NULL);
	return 0;
}

static int do_inet_socket(void) { return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : -1; }
static int do_unix_socket(void) { return socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : -1; }
static int do_fork(void) { return (int)syscall(SYS_fork) >= 0 ? 0 : -1; }
static int do_libc_fork(void) { return fork() >= 0 ? 0 : -1; } /* clone without CLONE_VM */
static int do_create(void) { return open("/tmp/strata-sandbox-test", O_CREAT | O_WRONLY, 0600) >= 0 ? 0 : -1; }
static int do_open_existing(void) { return open("/proc/self/stat", O_RDONLY) >= 0 ? 0 : -1; }
static int do_tiocsti(void)
{
	char c = 'x';
	return ioctl(STDIN_FILENO, TIOCSTI, &c);
}
static int do_ptrace(void) { return (int)syscall(SYS_ptrace, 0, 0, 0, 0); }

/* a new io_uring is answered EPERM: its operations would be out of sight */
static int do_uring_setup(void)
{
	char params[120] = {0};
	return syscall(SYS_io_uring_setup, 4, params) == -1 && errno == EPERM ? 0 : -1;
}

static void *thread_fn(void *arg) { return arg; }

/* pthread_create: clone3 is answered ENOSYS, glibc falls back to clone */
static int do_thread(void)
{
	if (syscall(SYS_clone3, NULL, 0) != -1 || errno != ENOSYS)
		return -1;
	pthread_t t;
	void *ret = NULL;
	if (pthread_create(&t, NULL, thread_fn, (void *)42) != 0 || pthread_join(t, &ret) != 0)
		return -1;
	return ret == (void *)42 ? 0 : -1;
}

static int do_io(void)
{
	int p[2];
	char c = 'a';
	if (pipe2(p, O_CLOEXEC) < 0 || write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
		return -1;
	return close(p[0]) | close(p[1]);
}

static void test_refused_calls_end_the_vmm_with_one_line(void **state)
{
	(void)state;
	expect_refused(do_execve, "execve");
	expect_refused(do_inet_socket, "socket");
	expect_refused(do_fork, "fork");
	expect_refused(do_libc_fork, "clone");
	expect_refused(do_tiocsti, "ioctl");
	expect_refused(do_ptrace, "ptrace");
	if (!VM_SECCOMP_SANITIZER) /* the sanitizer runtimes need openat unrestricted */
		expect_refused(do_create, "openat");
}

static void test_what_a_vmm_does_is_allowed(void **state)
{
	(void)state;
	expect_allowed(SANDBOX_ON, do_unix_socket, "AF_UNIX socket");
	expect_allowed(SANDBOX_ON, do_open_existing, "open an existing file read-only");
	expect_allowed(SANDBOX_ON, do_thread, "a thread");
	expect_allowed(SANDBOX_ON, do_io, "pipe I/O");
	expect_allowed(SANDBOX_ON, do_uring_setup, "io_uring_setup answered EPERM");
}

static void test_log_mode_refuses_nothing(void **state)
{
	(void)state;
	expect_allowed(SANDBOX_LOG, do_inet_socket, "AF_INET socket in log mode");
	expect_allowed(SANDBOX_OFF, do_inet_socket, "AF_INET socket with the filter off");
}

static void test_modes_parse(void **state)
{
	(void)state;
	enum sandbox_mode m;
	struct st_err err = {0};
	assert_int_equal(sandbox__parse("log", &m, &err), 0);
	assert_int_equal(m, SANDBOX_LOG);
	assert_true(sandbox__parse("yes", &m, &err) < 0);
	assert_non_null(strstr(err.msg, "'yes' is not on, log or off"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_calls_end_the_vmm_with_one_line),
		cmocka_unit_test(test_what_a_vmm_does_is_allowed),
		cmocka_unit_test(test_log_mode_refuses_nothing),
		cmocka_unit_test(test_modes_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
