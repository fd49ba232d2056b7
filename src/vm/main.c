/* strata-vm: one process per guest. Builds the machine from the command line,
 * runs the vCPU threads, and serves the console and the control socket from
 * the main thread until the guest stops. */
#include "common/err.h"
#include "common/log.h"
#include "common/util.h"
#include "vm/boot/boot.h"
#include "vm/console.h"
#include "vm/control.h"
#include "vm/cpuid.h"
#include "vm/hw/acpi_pm.h"
#include "vm/hw/legacy.h"
#include "vm/hw/serial8250.h"
#include "vm/kvm_worker.h"
#include "vm/loop.h"
#include "vm/nested.h"
#include "vm/pvm_syscall.h"
#include "vm/sandbox.h"
#include "vm/options.h"
#include "vm/pci_hotplug.h"
#include "vm/vcpu.h"
#include "vm/virtio/devices.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Static so that everything hanging off it stays reachable for the leak checker. */
static struct vm the_vm;
static void vm__drop_kvm(void *arg);
static struct console console;

static struct {
	struct loop_watch in, listen, wake, sig;
	uint8_t pending[4096];
	size_t pending_len, pending_off;
	bool in_watched;
} io;

static int vm__build_cmdline(struct vm *vm, struct st_err *err)
{
	const char *user = vm->cfg.cmdline;
	const char *ours = nested__kernel_options();
	size_t n = strlen(user) + strlen(ours) + 2;
	vm->cmdline = malloc(n);
	if (!vm->cmdline)
		return st_fail(err, ENOMEM, "cmdline");
	/* The user's own options come last, so they win where they repeat ours. */
	if (vm->nested)
		snprintf(vm->cmdline, n, "%s%s%s", ours, *user ? " " : "", user);
	else
		snprintf(vm->cmdline, n, "%s", user);
	return 0;
}

static int vm__setup_devices(struct vm *vm, struct st_err *err)
{
	static const struct {
		const char *name;
		int (*init)(struct vm *vm, struct st_err *err);
	} devices[] = {
		{"i8042", i8042__init},         {"rtc", rtc__init},
		{"acpi-pm", acpi_pm__init},     {"debug-exit", debug_exit__init},
		{"port80", port80__init},
	};
	if (serial8250__init(vm, &console, err) < 0)
		return st_err_prefix(err, "serial");
	for (size_t i = 0; i < ST_ARRAY_SIZE(devices); i++)
		if (devices[i].init(vm, err) < 0)
			return st_err_prefix(err, "%s", devices[i].name);
	return virtio__setup_devices(vm, err);
}

/* KVM VM creation waits in the kernel for milliseconds (SRCU grace periods when
 * the irqchip's routing and the RAM slots go in, a kthread for the PIT) while
 * using almost no CPU, so it runs on its own thread while this one reads the
 * kernel image and writes the boot tables. It works on a copy of struct kvm so
 * that nothing else reads vm_fd while it is being made. */
struct vm_builder {
	pthread_t thread;
	struct kvm kvm;
	const struct guest_mem *mem;
	struct st_err err;
	int rc;
};

static void *vm_builder__run(void *arg)
{
	struct vm_builder *b = arg;
	b->rc = kvm__create_vm(&b->kvm, b->mem, &b->err);
	return NULL;
}

/* The part of the machine a reboot makes anew: the KVM VM with its vCPUs, and
 * the kernel loaded into RAM. Devices, console and control socket live on. */
static int vm__create_machine(struct vm *vm, struct st_err *err)
{
	struct vm_builder b = {.kvm = vm->kvm, .mem = &vm->mem};
	b.kvm.vm_fd = -1;
	bool threaded = pthread_create(&b.thread, NULL, vm_builder__run, &b) == 0;
	if (!threaded)
		vm_builder__run(&b);
	int loaded = boot__load(vm, err);
	if (threaded)
		pthread_join(b.thread, NULL);
	vm->kvm.vm_fd = b.kvm.vm_fd;
	if (b.rc < 0) {
		*err = b.err;
		return -1;
	}
	if (loaded < 0 || virtio__attach_kvm(vm, err) < 0)
		return -1;
	vm->lstar_trapped = vm->nested && pvm_syscall__trap_lstar(vm->kvm.vm_fd) == 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu__create(vm, i, err) < 0)
			return -1;
	vm->kvm_guardian = kvm_worker__start_apart(vm->vcpus[0].fd, vm->vcpus[0].run, vm__drop_kvm, vm);
	return boot__setup_bsp(vm, &vm->vcpus[0], err);
}

/* A guest reset under --on-reboot=restart: a fresh machine in this process, so
 * that control connections and the console carry on across the reboot. */
static int vm__reboot(struct vm *vm, struct st_err *err)
{
	if (vcpu__join_all(vm, 2000) < 0)
		return st_fail(err, 0, "a vCPU did not stop for the reboot");
	/* Ejects the guest made are finished; hot-added disks stay, a detach it
	 * never answered is dropped. */
	if (vm->hotplug)
		pci_hotplug__reset(vm->hotplug);
	virtio__reset_all(vm); /* before the VM and RAM go: the I/O thread stops touching them */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	kvm__destroy_vm(&vm->kvm);
	kvm_worker__release(); /* that VM is gone: its guardian has nothing to do */
	mem__clear(&vm->mem);
	serial8250__reset(vm->serial);
	acpi_pm__reset(vm->pm);
	if (vm__create_machine(vm, err) < 0)
		return -1;
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_RUNNING;
	vm->exit_status = 0;
	vm->exit_reason[0] = 0;
	pthread_mutex_unlock(&vm->lock);
	return vcpu__start_all(vm, err);
}

static int vm__setup(struct vm *vm, struct st_err *err)
{
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->start_ns = st_now_ns();
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0)
		return st_fail_errno(err, "eventfd");
	if (kvm__open(&vm->kvm, vm->cfg.kvm_device, err) < 0)
		return -1;
	if (vm->cfg.cpus > (unsigned)vm->kvm.max_vcpus)
		return st_fail(err, 0, "too many vCPUs: %u (this host's KVM allows at most %d)",
			       vm->cfg.cpus, vm->kvm.max_vcpus);
	vm->nested = vm->cfg.profile == HOST_PROFILE_NESTED ||
		     (vm->cfg.profile == HOST_PROFILE_AUTO && nested__host_is_pvm());
	if (vm->nested)
		st_info("nested host profile: CPU template 'nested', kernel options added");
	if (vm__build_cmdline(vm, err) < 0)
		return -1;
	const char *tmpl = vm->cfg.cpu_template ? vm->cfg.cpu_template : vm->nested ? "nested" : "host";
	vm->nr_vcpus = vm->cfg.cpus;
	if (cpuid__init(vm->kvm.sys_fd, tmpl, vm->cfg.cpu_features, vm->nr_vcpus, &vm->cpuid, err) < 0)
		return -1;
	if (mem__init(&vm->mem, vm->cfg.mem_bytes, vm->cfg.mem_prealloc, err) < 0)
		return -1;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return st_fail(err, ENOMEM, "vcpus");
	if (vm__setup_devices(vm, err) < 0)
		return -1;
	return vm__create_machine(vm, err);
}

/* Console input: fed to the UART as its FIFO drains; Ctrl-A x quits on a tty. */
static void io__feed_pending(void)
{
	struct vm *vm = &the_vm;
	while (io.pending_off < io.pending_len) {
		size_t n = serial8250__receive(vm->serial, io.pending + io.pending_off,
					       io.pending_len - io.pending_off);
		if (!n)
			return;
		io.pending_off += n;
	}
	io.pending_len = io.pending_off = 0;
	if (!io.in_watched && io.in.fd >= 0) {
		struct st_err err = {0};
		io.in_watched = loop__add(&io.in, EPOLLIN, &err) == 0;
	}
}

static void io__input(struct loop_watch *w, uint32_t events)
{
	(void)events;
	long n = console__read(&console, io.pending, sizeof(io.pending));
	if (n < 0)
		return;
	if (n == 0) { /* EOF or the client left: stop watching this fd */
		loop__del(w);
		io.in_watched = false;
		io.in.fd = -1;
		return;
	}
	size_t out = 0;
	for (long i = 0; i < n; i++) {
		uint8_t b = io.pending[i];
		if (console.tty_raw && console.escape) {
			console.escape = 0;
			if (b == 'x') {
				vm__request_stop(&the_vm, VM_EXIT_POWEROFF, "quit from the console (Ctrl-A x)");
				return;
			}
		} else if (console.tty_raw && b == 0x01) {
			console.escape = 1;
			continue;
		}
		io.pending[out++] = b;
	}
	io.pending_len = out;
	io.pending_off = 0;
	loop__del(w); /* until the FIFO has taken all of it */
	io.in_watched = false;
	io__feed_pending();
}

static void io__accept(struct loop_watch *w, uint32_t events)
{
	(void)w, (void)events;
	if (io.in_watched)
		loop__del(&io.in);
	console__accept(&console);
	io.in.fd = console.in_fd;
	io.in_watched = false;
	io__feed_pending();
}

static void io__wake(struct loop_watch *w, uint32_t events)
{
	(void)events;
	uint64_t v;
	if (read(w->fd, &v, sizeof(v)) < 0)
		return;
}

/* SIGTERM, SIGINT, SIGHUP: stop like a supervisor expects, sockets removed and the
 * terminal restored, with the conventional 128 + signal status. */
static void io__signal(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm__request_stop(&the_vm, 128 + (int)si.ssi_signo, "terminated by signal %u (%s)",
			 si.ssi_signo, strsignal((int)si.ssi_signo));
}

static int io__setup(struct vm *vm, struct st_err *err)
{
	if (loop__init(err) < 0)
		return -1;
	if (vm->hotplug && pci_hotplug__watch(vm->hotplug, err) < 0)
		return -1;
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	io.sig = (struct loop_watch){.fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK),
				     .fn = io__signal};
	if (io.sig.fd < 0)
		return st_fail_errno(err, "signalfd");
	if (loop__add(&io.sig, EPOLLIN, err) < 0)
		return -1;
	io.wake = (struct loop_watch){.fd = vm->wake_fd, .fn = io__wake};
	if (loop__add(&io.wake, EPOLLIN, err) < 0)
		return -1;
	io.in = (struct loop_watch){.fd = console.in_fd, .fn = io__input};
	if (console.kind == CONSOLE_STDIO) {
		struct st_err ignored = {0};
		/* Regular files and /dev/null cannot be polled: no input then. */
		io.in_watched = loop__add(&io.in, EPOLLIN, &ignored) == 0;
		if (!io.in_watched)
			io.in.fd = -1;
	} else if (console.kind == CONSOLE_SOCKET) {
		io.listen = (struct loop_watch){.fd = console.listen_fd, .fn = io__accept};
		if (loop__add(&io.listen, EPOLLIN, err) < 0)
			return -1;
	}
	if (vm->cfg.control && control__open(vm, vm->cfg.control, err) < 0)
		return -1;
	return 0;
}


/* Tearing a VM down (guest memory, the in-kernel PIT) takes KVM tens of
 * milliseconds, and a process's exit waits for the last reference to go. A child
 * sharing our memory and file table keeps those references, so this process
 * exits (and its supervisor learns the status) at once while the child pays.
 * Where KVM's guardian runs (kvm_worker.c) it is that child already. */
static int teardown_child(void *arg)
{
	(void)arg;
	close(STDIN_FILENO); /* readers waiting for EOF need not wait for the teardown */
	close(STDOUT_FILENO);
	close(STDERR_FILENO);
	return 0;
}

static void vm__detach_teardown(struct vm *vm)
{
	static uint8_t stack[16384] __attribute__((aligned(16)));
	if (vm->kvm_guardian)
		return;
	if (clone(teardown_child, stack + sizeof(stack), CLONE_VM | CLONE_FILES | SIGCHLD, NULL) < 0)
		st_debug("teardown child: %s", strerror(errno)); /* then we just wait for it */
}

/* What the guardian does once this process has ended, however: drops every
 * reference to the VM it can see (vCPU mappings and files, the VM's file). */
static void vm__drop_kvm(void *arg)
{
	struct vm *vm = arg;
	teardown_child(NULL);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	kvm__destroy_vm(&vm->kvm);
}

int main(int argc, char **argv)
{
	struct vm *vm = &the_vm;
	struct st_err err = {0};
	st_set_progname(argv[0]);
	/* A failing VMM must not leave a core the size of guest RAM behind. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});

	int r = options__parse(argc, argv, &vm->cfg, &err);
	if (r != 0) {
		if (r < 0)
			st_err_print(&err);
		return r < 0 ? VM_EXIT_SETUP : 0;
	}
	sandbox__configure(vm->cfg.seccomp); /* for helpers started before the filter */
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, NULL); /* only vCPU threads take kicks */
	signal(SIGPIPE, SIG_IGN);

	/* the filter comes last: set-up may do what a running VMM never needs to */
	if (console__open(&console, vm->cfg.console, &err) < 0 || vm__setup(vm, &err) < 0 ||
	    io__setup(vm, &err) < 0 || vcpu__init_signals(&err) < 0 || sandbox__apply(vm->cfg.seccomp, &err) < 0) {
		st_err_print(&err);
		console__close(&console);
		control__close();
		return VM_EXIT_SETUP;
	}
	if (vcpu__start_all(vm, &err) < 0)
		vm__request_stop(vm, VM_EXIT_SETUP, "%s", err.msg);
	for (;;) {
		while (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_STOPPING)
			loop__run_once(io.pending_len ? 5 : -1), io__feed_pending();
		if (vm->exit_status != VM_EXIT_REBOOT || !vm->cfg.reboot_restart)
			break;
		st_info("%s: restarting", vm->exit_reason);
		if (vm__reboot(vm, &err) < 0) {
			st_err_print(&err);
			vm->exit_status = VM_EXIT_SETUP;
			break;
		}
	}
	if (vm->exit_status == VM_EXIT_CRASH)
		fprintf(stderr, "%s: error: %s\n", st_progname(), vm->exit_reason);
	else if (vm->exit_status > 128)
		fprintf(stderr, "%s: %s\n", st_progname(), vm->exit_reason);
	else
		st_info("%s", vm->exit_reason);
	console__close(&console);
	control__close();
	virtio__shutdown(vm); /* disks flushed and closed (qcow2 metadata, dirty flag) */
	/* vCPU threads may sit in KVM_RUN; exiting the process ends them with it. */
	fflush(NULL);
	vm__detach_teardown(vm);
	_exit(vm->exit_status);
}
