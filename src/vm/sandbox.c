#include "vm/sandbox.h"
#include "vm/vm.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.h" /* generated: vm_seccomp_trap, vm_seccomp_log, vm_seccomp_names */

int sandbox__parse(const char *s, enum sandbox_mode *mode, struct st_err *err)
{
	if (!strcmp(s, "on"))
		*mode = SANDBOX_ON;
	else if (!strcmp(s, "log"))
		*mode = SANDBOX_LOG;
	else if (!strcmp(s, "off"))
		*mode = SANDBOX_OFF;
	else
		return err__fail(err, 0, "--seccomp: '%s' is not on, log or off", s);
	return 0;
}

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at + 1 < cap)
		buf[at++] = *s++;
	return at;
}

/* Async-signal-safe: one line naming the call, then the VMM ends as on a
 * crash (the guardian still tears the VM down). */
static void sandbox__refused(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)ctx;
	char buf[256], num[12];
	int nr = si->si_syscall;
	size_t n = sizeof(num) - 1;
	num[n] = 0;
	unsigned u = nr < 0 ? 0 : (unsigned)nr;
	do
		num[--n] = (char)('0' + u % 10);
	while ((u /= 10) && n);
	const char *name = nr >= 0 && (size_t)nr < sizeof(vm_seccomp_names) / sizeof(vm_seccomp_names[0]) &&
					   vm_seccomp_names[nr]
				   ? vm_seccomp_names[nr]
				   : "?";
	size_t at = append(buf, 0, sizeof(buf), "strata-vm: error: seccomp refused the system call ");
	at = append(buf, at, sizeof(buf), name);
	at = append(buf, at, sizeof(buf), " (");
	at = append(buf, at, sizeof(buf), num + n);
	at = append(buf, at, sizeof(buf), "); --seccomp log runs without refusing and logs it\n");
	ssize_t w = write(STDERR_FILENO, buf, at);
	(void)w;
	_exit(VM_EXIT_CRASH);
}

static enum sandbox_mode configured = SANDBOX_OFF;
static bool applied;

bool sandbox__applied(void)
{
	return applied;
}

void sandbox__configure(enum sandbox_mode mode)
{
	configured = mode;
}

static struct sock_fprog sandbox__program(enum sandbox_mode mode)
{
	if (mode == SANDBOX_ON)
		return (struct sock_fprog){.len = sizeof(vm_seccomp_trap) / sizeof(vm_seccomp_trap[0]),
					   .filter = (struct sock_filter *)vm_seccomp_trap};
	return (struct sock_fprog){.len = sizeof(vm_seccomp_log) / sizeof(vm_seccomp_log[0]),
				   .filter = (struct sock_filter *)vm_seccomp_log};
}

static long sandbox__install(enum sandbox_mode mode, unsigned flags)
{
	struct sock_fprog prog = sandbox__program(mode);
	struct sigaction sa = {.sa_sigaction = sandbox__refused, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -1;
	if (syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

void sandbox__confine_self(void)
{
	if (configured != SANDBOX_OFF && sandbox__install(configured, 0) < 0)
		syscall(SYS_exit_group, VM_EXIT_CRASH); /* never run unfiltered beside a filtered VMM */
}

int sandbox__apply(enum sandbox_mode mode, struct st_err *err)
{
	configured = mode;
	if (mode == SANDBOX_OFF)
		return 0;
	long r = sandbox__install(mode, SECCOMP_FILTER_FLAG_TSYNC);
	if (r < 0)
		return err__fail_errno(err, "seccomp: installing the filter");
	if (r > 0)
		return err__fail(err, 0, "seccomp: thread %ld could not take the filter", r);
	applied = true;
	return 0;
}
