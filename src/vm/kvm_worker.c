#include "vm/kvm_worker.h"
#include "common/log.h"
#include "vm/sandbox.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux 6.13 and later start a VM's NX huge page recovery worker (a vhost_task)
 * on the VM's first KVM_RUN, inside the caller's thread group, and that task
 * only exits when the VM is destroyed: a VMM whose own thread made that first
 * KVM_RUN cannot be reaped before KVM's teardown (~20 ms here). The same kernels
 * no longer wait for an RCU grace period when a vCPU changes threads, so the
 * first KVM_RUN can be made, with immediate_exit set (KVM returns EINTR without
 * entering the guest), by another process sharing our memory and files: the
 * worker lives in its thread group instead, and that process, the guardian
 * below, also sees that the VM dies with us. */
static bool worker_runs_in_caller_group(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 13);
}

/* The guardian: the worker KVM starts lives in its thread group, and holds our
 * address space, whose kvm_run mappings hold the vCPU files, which hold the VM,
 * which stops the worker only when destroyed. That cycle outlives this process
 * unless someone breaks it, so the guardian waits for us to end (a pidfd) and
 * then closes what holds the VM. Until then it costs a sleeping task.
 * It shares the caller's TLS: raw syscalls only, no errno. Each guardian has
 * its own stack and file descriptors, kept until it is reaped. */
struct guardian {
	pid_t pid;
	int vcpu_fd;
	struct kvm_run *run;
	int parent_pidfd;
	int release_fd; /* an eventfd: written when we destroy the VM ourselves */
	int ready_fd;   /* an eventfd: written once the first KVM_RUN is done */
	kvm_worker_teardown_fn *teardown;
	void *arg;
	struct guardian *next;
	uint8_t stack[16384] __attribute__((aligned(16)));
};

static int guardian__run(void *arg)
{
	const struct guardian *g = arg;
	g->run->immediate_exit = 1;
	syscall(SYS_ioctl, g->vcpu_fd, KVM_RUN, 0);
	g->run->immediate_exit = 0;
	uint64_t one = 1;
	syscall(SYS_write, g->ready_fd, &one, sizeof(one));
	syscall(SYS_prctl, PR_SET_NAME, "strata-guardian", 0, 0, 0);
	sandbox__confine_self(); /* it shares our memory: no way around the filter */
	struct pollfd p[2] = {{.fd = g->parent_pidfd, .events = POLLIN},
			      {.fd = g->release_fd, .events = POLLIN}};
	for (int tries = 0; tries < 1000; tries++)
		if (syscall(SYS_poll, p, 2, -1) > 0)
			break;
	if (p[0].revents && !p[1].revents)
		g->teardown(g->arg);
	return 0;
}

/* The live machine's guardian first, then earlier machines' (in-process
 * reboots): each of those becomes reapable once its VM, and so the worker in
 * its thread group, is gone. */
static struct guardian *guardians;

static void guardian__free(struct guardian *g)
{
	int fds[] = {g->parent_pidfd, g->release_fd, g->ready_fd};
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(g);
}

static void reap_guardians(void)
{
	for (struct guardian **pp = &guardians; *pp;) {
		struct guardian *g = *pp;
		if (g->pid > 0 && waitpid(g->pid, NULL, WNOHANG) == 0) {
			pp = &g->next;
			continue;
		}
		*pp = g->next; /* reaped, or not ours any more: its stack is free */
		guardian__free(g);
	}
}

void kvm_worker__release(void)
{
	struct guardian *g = guardians;
	if (!g || !g->teardown)
		return;
	uint64_t one = 1;
	if (write(g->release_fd, &one, sizeof(one)) < 0)
		log__debug("releasing the VM guardian: %s", strerror(errno));
	g->teardown = NULL; /* released: the next machine's guardian goes first */
	/* Its exit, racing the next machine's KVM_CREATE_VM, made that fail with
	 * EINTR now and then (3 runs in 10 of a few hundred reboots each): the VM is
	 * destroyed already, so it goes at once; give it up to a second. */
	int pidfd = (int)syscall(SYS_pidfd_open, g->pid, 0);
	if (pidfd >= 0) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		if (poll(&p, 1, 1000) == 1 && waitpid(g->pid, NULL, WNOHANG) == g->pid)
			g->pid = 0; /* reaped: reap_guardians frees it */
		close(pidfd);
	}
}

bool kvm_worker__start_apart(int vcpu_fd, struct kvm_run *run, kvm_worker_teardown_fn *teardown,
			     void *arg)
{
	if (!worker_runs_in_caller_group())
		return false;
	reap_guardians();
	struct guardian *g = malloc(sizeof(*g));
	if (!g)
		return false;
	*g = (struct guardian){.vcpu_fd = vcpu_fd, .run = run, .teardown = teardown, .arg = arg,
			       .parent_pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0),
			       .release_fd = eventfd(0, EFD_CLOEXEC),
			       .ready_fd = eventfd(0, EFD_CLOEXEC),
			       .pid = -1};
	if (g->parent_pidfd >= 0 && g->release_fd >= 0 && g->ready_fd >= 0)
		g->pid = clone(guardian__run, g->stack + sizeof(g->stack), CLONE_VM | CLONE_FILES | SIGCHLD,
			       g);
	if (g->pid < 0) {
		log__debug("first KVM_RUN apart: %s", strerror(errno));
		guardian__free(g);
		return false;
	}
	uint64_t done;
	while (read(g->ready_fd, &done, sizeof(done)) < 0 && errno == EINTR)
		; /* our vCPU thread may enter KVM_RUN only after the guardian's */
	g->next = guardians;
	guardians = g;
	return true;
}
