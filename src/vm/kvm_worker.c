#include "vm/kvm_worker.h"
#include "common/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux 6.13 and later start a VM's NX huge page recovery worker (a vhost_task)
 * on the VM's first KVM_RUN, inside the caller's thread group, and that task
 * only exits when the VM is destroyed: a VMM whose own thread made that first
 * KVM_RUN cannot be reaped before KVM's teardown (~20 ms here), which is what
 * the teardown child keeps off the exit path. The same kernels no longer wait
 * for an RCU grace period when a vCPU changes threads, so the first KVM_RUN can
 * be made, with immediate_exit set (KVM returns EINTR without entering the
 * guest), by a short-lived process sharing our memory and files: the worker
 * lives in its thread group instead. */
static bool worker_runs_in_caller_group(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 13);
}

static int first_run(void *arg)
{
	const struct kvm_worker_start *s = arg;
	s->run->immediate_exit = 1;
	/* raw syscall: this task shares the caller's TLS, so no errno write */
	syscall(SYS_ioctl, s->vcpu_fd, KVM_RUN, 0);
	s->run->immediate_exit = 0;
	return 0;
}

/* Earlier machines' helpers (in-process reboots): each one's zombie becomes
 * reapable once its VM, and so the worker in its thread group, is gone. */
static pid_t helpers[8];

static void reap_helpers(void)
{
	for (unsigned i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (helpers[i] > 0 && waitpid(helpers[i], NULL, WNOHANG) != 0)
			helpers[i] = 0; /* reaped, or not ours any more */
}

void kvm_worker__start_apart(int vcpu_fd, struct kvm_run *run)
{
	static unsigned char stack[16384] __attribute__((aligned(16)));
	if (!worker_runs_in_caller_group())
		return;
	reap_helpers();
	struct kvm_worker_start s = {.vcpu_fd = vcpu_fd, .run = run};
	/* CLONE_VFORK: we go on once it has exited; its zombie stays until the VM goes. */
	pid_t pid = clone(first_run, stack + sizeof(stack), CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD,
			  &s);
	if (pid < 0) {
		st_debug("first KVM_RUN apart: %s", strerror(errno));
		return;
	}
	for (unsigned i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (!helpers[i]) {
			helpers[i] = pid;
			return;
		}
}
