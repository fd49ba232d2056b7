#include "vm/machine.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "vm/boot/boot.h"
#include "vm/console.h"
#include "vm/control.h"
#include "vm/cpuid.h"
#include "vm/hw/acpi_pm.h"
#include "vm/hw/fw_cfg.h"
#include "vm/hw/legacy.h"
#include "vm/hw/serial8250.h"
#include "vm/kvm_worker.h"
#include "vm/loop.h"
#include "vm/nested.h"
#include "vm/pci_hotplug.h"
#include "vm/pvm_syscall.h"
#include "vm/sandbox.h"
#include "vm/vcpu.h"
#include "vm/virtio/devices.h"
#include "vm/vm.h"

/* The main loop's own watches: stop signals and the VM's wake-ups. */
static struct {
	struct vm *vm;
	struct loop_watch wake, sig;
} watches;

static void drop_kvm(void *arg);

static int setup_devices(struct vm *vm, struct console *console, struct st_err *err)
{
	static const struct {
		const char *name;
		int (*init)(struct vm *vm, struct st_err *err);
	} devices[] = {
		{"i8042", i8042__init},         {"rtc", rtc__init},
		{"acpi-pm", acpi_pm__init},     {"debug-exit", debug_exit__init},
		{"port80", port80__init},       {"fw_cfg", fw_cfg__init},
	};
	if (serial8250__init(vm, console, err) < 0)
		return err__prefix(err, "serial");
	for (size_t i = 0; i < ST_ARRAY_SIZE(devices); i++)
		if (devices[i].init(vm, err) < 0)
			return err__prefix(err, "%s", devices[i].name);
	return virtio__setup_devices(vm, err);
}

/* KVM VM creation waits in the kernel for milliseconds (SRCU grace periods when
 * the irqchip's routing and the RAM slots go in, a kthread for the PIT) while
 * using almost no CPU, so it runs on its own thread while this one reads the
 * kernel image and writes the boot tables. It works on a copy of struct kvm so
 * that nothing else reads vm_fd while it is being made. */
struct kvm_create_job {
	pthread_t thread;
	struct kvm kvm;
	const struct guest_mem *mem;
	struct st_err err;
	int rc;
};

static void *run_kvm_create(void *arg)
{
	struct kvm_create_job *job = arg;
	job->rc = kvm__create_vm(&job->kvm, job->mem, &job->err);
	return NULL;
}

/* The part of the machine a reboot makes anew: the KVM VM with its vCPUs, and
 * the kernel loaded into RAM. Devices, console and control socket live on. */
static int create_machine(struct vm *vm, struct st_err *err)
{
	struct kvm_create_job job = {.kvm = vm->kvm, .mem = &vm->mem};
	job.kvm.vm_fd = -1;
	bool threaded = pthread_create(&job.thread, NULL, run_kvm_create, &job) == 0;
	if (!threaded)
		run_kvm_create(&job);
	int loaded = boot__load(vm, err);
	if (threaded)
		pthread_join(job.thread, NULL);
	vm->kvm.vm_fd = job.kvm.vm_fd;
	if (job.rc < 0) {
		*err = job.err;
		return -1;
	}
	if (loaded < 0 || virtio__attach_kvm(vm, err) < 0)
		return -1;
	vm->lstar_trapped = vm->nested && pvm_syscall__trap_lstar(vm->kvm.vm_fd) == 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vcpu__create(vm, i, err) < 0)
			return -1;
	vm->kvm_guardian = kvm_worker__start_apart(vm->vcpus[0].fd, vm->vcpus[0].run, drop_kvm, vm);
	return boot__setup_bsp(vm, &vm->vcpus[0], err);
}

/* The vCPUs and the KVM VM; their threads must have ended. */
static void destroy_kvm_vm(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__destroy(&vm->vcpus[i]);
	kvm__destroy_vm(&vm->kvm);
}

static int setup_machine(struct vm *vm, struct console *console, struct st_err *err)
{
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	vm->start_ns = util__now_ns();
	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0)
		return err__fail_errno(err, "eventfd");
	if (kvm__open(&vm->kvm, vm->cfg.kvm_device, err) < 0)
		return -1;
	if (vm->cfg.cpus > (unsigned)vm->kvm.max_vcpus)
		return err__fail(err, 0, "too many vCPUs: %u (this host's KVM allows at most %d)",
			       vm->cfg.cpus, vm->kvm.max_vcpus);
	vm->nested = vm->cfg.profile == HOST_PROFILE_NESTED ||
		     (vm->cfg.profile == HOST_PROFILE_AUTO && nested__host_is_pvm());
	if (vm->nested)
		log__info("nested host profile: CPU template 'nested', Linux kernel options added");
	const char *tmpl = vm->cfg.cpu_template ? vm->cfg.cpu_template : vm->nested ? "nested" : "host";
	vm->nr_vcpus = vm->cfg.cpus;
	if (cpuid__init(vm->kvm.sys_fd, tmpl, vm->cfg.cpu_features, vm->nr_vcpus, &vm->cpuid, err) < 0)
		return -1;
	if (mem__init(&vm->mem, vm->cfg.mem_bytes, vm->cfg.mem_prealloc, err) < 0)
		return -1;
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err__fail(err, ENOMEM, "vcpus");
	if (setup_devices(vm, console, err) < 0)
		return -1;
	return create_machine(vm, err);
}

/* Console input goes to the UART as its FIFO drains; Ctrl-A x quits. */
static size_t console_take(void *opaque, const uint8_t *buf, size_t n)
{
	struct vm *vm = opaque;
	return serial8250__receive(vm->serial, buf, n);
}

static void console_quit(void *opaque)
{
	vm__request_stop(opaque, VM_EXIT_POWEROFF, "quit from the console (Ctrl-A x)");
}

static void on_wake(struct loop_watch *w, uint32_t events)
{
	(void)events;
	uint64_t v;
	if (read(w->fd, &v, sizeof(v)) < 0)
		return;
}

/* SIGTERM, SIGINT, SIGHUP: stop like a supervisor expects, sockets removed and the
 * terminal restored, with the conventional 128 + signal status. */
static void on_signal(struct loop_watch *w, uint32_t events)
{
	(void)events;
	struct signalfd_siginfo si;
	if (read(w->fd, &si, sizeof(si)) != sizeof(si))
		return;
	vm__request_stop(watches.vm, 128 + (int)si.ssi_signo, "terminated by signal %u (%s)",
			 si.ssi_signo, strsignal((int)si.ssi_signo));
}

static int setup_loop(struct vm *vm, struct console *console, struct st_err *err)
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
	watches.vm = vm;
	watches.sig = (struct loop_watch){.fd = signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK),
					  .fn = on_signal};
	if (watches.sig.fd < 0)
		return err__fail_errno(err, "signalfd");
	if (loop__add(&watches.sig, EPOLLIN, err) < 0)
		return -1;
	watches.wake = (struct loop_watch){.fd = vm->wake_fd, .fn = on_wake};
	if (loop__add(&watches.wake, EPOLLIN, err) < 0)
		return -1;
	struct console_sink sink = {.take = console_take, .quit = console_quit, .opaque = vm};
	if (console__watch_input(console, &sink, err) < 0)
		return -1;
	if (vm->cfg.control && control__open(vm, vm->cfg.control, err) < 0)
		return -1;
	return 0;
}

int machine__build(struct vm *vm, struct console *console, struct st_err *err)
{
	sandbox__configure(vm->cfg.seccomp); /* for helpers started before the filter */
	sigset_t kick;
	sigemptyset(&kick);
	sigaddset(&kick, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &kick, NULL); /* only vCPU threads take kicks */
	signal(SIGPIPE, SIG_IGN);

	if (console__open(console, vm->cfg.console, err) < 0 || setup_machine(vm, console, err) < 0 ||
	    setup_loop(vm, console, err) < 0 || vcpu__init_signals(err) < 0 ||
	    sandbox__apply(vm->cfg.seccomp, err) < 0) {
		console__close(console);
		control__close();
		return -1;
	}
	return 0;
}

int machine__start(struct vm *vm, struct st_err *err)
{
	return vcpu__start_all(vm, err);
}

int machine__rebuild(struct vm *vm, struct st_err *err)
{
	if (vcpu__join_all(vm, 2000) < 0)
		return err__fail(err, 0, "a vCPU did not stop for the reboot");
	/* Ejects the guest made are finished; hot-added disks stay, a detach it
	 * never answered is dropped. */
	if (vm->hotplug)
		pci_hotplug__reset(vm->hotplug);
	virtio__reset_all(vm); /* before the VM and RAM go: the I/O thread stops touching them */
	destroy_kvm_vm(vm);
	kvm_worker__release(); /* that VM is gone: its guardian has nothing to do */
	mem__clear(&vm->mem);
	serial8250__reset(vm->serial);
	acpi_pm__reset(vm->pm);
	if (create_machine(vm, err) < 0)
		return -1;
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_RUNNING;
	vm->exit_status = 0;
	vm->exit_reason[0] = 0;
	pthread_mutex_unlock(&vm->lock);
	return machine__start(vm, err);
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

/* What the guardian does once this process has ended, however: drops every
 * reference to the VM it can see (vCPU mappings and files, the VM's file). */
static void drop_kvm(void *arg)
{
	teardown_child(NULL);
	destroy_kvm_vm(arg);
}

void machine__teardown(struct vm *vm, struct console *console)
{
	static uint8_t stack[16384] __attribute__((aligned(16)));
	console__close(console);
	control__close();
	virtio__shutdown(vm); /* disks flushed and closed (qcow2 metadata, dirty flag) */
	/* vCPU threads may sit in KVM_RUN; exiting the process ends them with it. */
	fflush(NULL);
	if (vm->kvm_guardian)
		return;
	if (clone(teardown_child, stack + sizeof(stack), CLONE_VM | CLONE_FILES | SIGCHLD, NULL) < 0)
		log__debug("teardown child: %s", strerror(errno)); /* then we just wait for it */
}
