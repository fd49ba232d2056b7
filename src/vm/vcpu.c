#include "vm/vcpu.h"
#include "common/log.h"
#include "vm/cpuid.h"
#include "vm/emulate.h"
#include "vm/guest_access.h"
#include "vm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu__kick_handler(int sig)
{
	(void)sig; /* only there to make KVM_RUN return EINTR */
}

int vcpu__init_signals(struct st_err *err)
{
	struct sigaction sa = {.sa_handler = vcpu__kick_handler};
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return err__fail_errno(err, "sigaction");
	return 0;
}

int vcpu__create(struct vm *vm, unsigned id, struct st_err *err)
{
	struct vcpu *v = &vm->vcpus[id];
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return err__fail_errno(err, "KVM_CREATE_VCPU %u", id);
	v->run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED)
		return err__fail_errno(err, "mmap of vcpu %u", id);
	if (cpuid__set_vcpu(vm->cpuid, v, err) < 0)
		return -1;
	/* MTRRs enabled, default write-back, as firmware leaves them. */
	uint64_t mtrr_def = 0xc06;
	if (guest_access__msr(v, 0x2ff, &mtrr_def, true) < 0)
		log__debug("vcpu%u: MTRRdefType not set", id);
	return 0;
}

void vcpu__kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu__describe_rip(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(buf, len, "RIP unknown");
		return;
	}
	/* Outside long mode the linear address includes the CS base. */
	uint64_t lin = regs.rip + ((sregs.efer & (1 << 10)) ? 0 : sregs.cs.base);
	uint8_t bytes[15];
	struct st_err err = {0};
	int n = snprintf(buf, len, "RIP 0x%llx", (unsigned long long)regs.rip);
	if (guest_access__read_gva(v, lin, bytes, sizeof(bytes), &err) == 0 && n > 0 && (size_t)n < len) {
		n += snprintf(buf + n, len - (size_t)n, ", bytes");
		for (int i = 0; i < 8 && n > 0 && (size_t)n < len; i++)
			n += snprintf(buf + n, len - (size_t)n, " %02x", bytes[i]);
	}
}

static void vcpu__handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	for (uint32_t i = 0; i < run->io.count; i++) {
		if (!io__dispatch(&v->vm->io, run->io.port, write, data, run->io.size))
			log__debug("vcpu%u: unclaimed port 0x%x %s", v->id, run->io.port,
				 write ? "write" : "read");
		data += run->io.size;
	}
}

static void vcpu__handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	unsigned len = run->mmio.len <= 8 ? run->mmio.len : 8;
	if (!mmio__dispatch(&v->vm->mmio, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data, len))
		log__debug("vcpu%u: unclaimed MMIO 0x%llx", v->id, (unsigned long long)run->mmio.phys_addr);
}

static void vcpu__crash(struct vcpu *v, const char *what)
{
	char where[128];
	vcpu__describe_rip(v, where, sizeof(where));
	vm__request_stop(v->vm, VM_EXIT_CRASH, "vcpu%u: %s at %s", v->id, what, where);
}

/* Returns false when the vCPU must stop running. */
static bool vcpu__handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu__handle_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu__handle_mmio(v);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		if (v->vm->nested && pvm_syscall__msr_exit(v))
			return true;
		run->msr.error = 1; /* only LSTAR is filtered: answer anything else with #GP */
		return true;
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC; treat as an idle guest. */
		usleep(1000);
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu__crash(v, "triple fault");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm__request_stop(v->vm, VM_EXIT_POWEROFF, "guest powered off");
			return false;
		case KVM_SYSTEM_EVENT_RESET:
			vm__request_reset(v->vm, "guest reset");
			return false;
		default:
			vcpu__crash(v, "guest crash event");
			return false;
		}
	case KVM_EXIT_INTERNAL_ERROR: {
		struct st_err err = {0};
		int r;
		if (v->vm->nested && pvm_syscall__complete(v, &err, &r)) {
			if (r == 0)
				return true;
			vm__request_stop(v->vm, VM_EXIT_CRASH, "vcpu%u: %s", v->id, err.msg);
			return false;
		}
		if (emulate__internal_error(v, &err) == 0) {
			v->assists++;
			return true;
		}
		vm__request_stop(v->vm, VM_EXIT_CRASH, "vcpu%u: %s", v->id, err.msg);
		return false;
	}
	case KVM_EXIT_FAIL_ENTRY: {
		char what[64];
		snprintf(what, sizeof(what), "VM entry failed (reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu__crash(v, what);
		return false;
	}
	default: {
		char what[64];
		snprintf(what, sizeof(what), "unexpected KVM exit %u", run->exit_reason);
		vcpu__crash(v, what);
		return false;
	}
	}
}

/* Called with vm->lock held. */
static void vcpu__take_snapshot(struct vcpu *v)
{
	if (!v->snap_requested)
		return;
	v->snap_valid = ioctl(v->fd, KVM_GET_REGS, &v->snap_regs) == 0 &&
			ioctl(v->fd, KVM_GET_SREGS, &v->snap_sregs) == 0 &&
			ioctl(v->fd, KVM_GET_MP_STATE, &v->snap_mp) == 0;
	v->snap_requested = false;
	pthread_cond_broadcast(&v->vm->cond);
}

unsigned vcpu__snapshot_all(struct vm *vm, unsigned timeout_ms)
{
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].snap_valid = false;
		vm->vcpus[i].snap_requested = vm->vcpus[i].started;
	}
	pthread_cond_broadcast(&vm->cond); /* parked (paused) vCPUs answer too */
	pthread_mutex_unlock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(&vm->vcpus[i]);

	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	deadline.tv_sec += timeout_ms / 1000 + deadline.tv_nsec / 1000000000L;
	deadline.tv_nsec %= 1000000000L;
	unsigned answered = 0;
	pthread_mutex_lock(&vm->lock);
	for (;;) {
		unsigned pending = 0;
		answered = 0;
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			pending += vm->vcpus[i].snap_requested;
			answered += vm->vcpus[i].snap_valid;
		}
		if (!pending || pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline))
			break;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].snap_requested = false;
	pthread_mutex_unlock(&vm->lock);
	return answered;
}

/* Parks the vCPU while the VM is paused; returns false when it must stop. */
static bool vcpu__wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	vcpu__take_snapshot(v);
	if (vm->state == VM_PAUSED) {
		vm->paused_vcpus++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->state == VM_PAUSED) {
			pthread_cond_wait(&vm->cond, &vm->lock);
			vcpu__take_snapshot(v);
		}
		vm->paused_vcpus--;
	}
	bool run = vm->state == VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	return run;
}

/* The start gate: vcpu__start_all() opens it once every thread has arrived. */
static void vcpu__wait_at_gate(struct vcpu *v)
{
	struct vm *vm = v->vm;
	pthread_mutex_lock(&vm->lock);
	vm->vcpus_up++;
	pthread_cond_broadcast(&vm->cond);
	while (!vm->vcpus_released)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
}

static void *vcpu__thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(pthread_self(), name);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	vcpu__wait_at_gate(v);
	for (;;) {
		/* Clear before looking at the state, so a kick after the look still lands. */
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (!vcpu__wait_runnable(v))
			break;
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			char what[96];
			snprintf(what, sizeof(what), "KVM_RUN failed: %s", strerror(errno));
			vcpu__crash(v, what);
			break;
		}
		if (!vcpu__handle_exit(v))
			break;
		if (v->vm->nested && !v->vm->lstar_trapped)
			pvm_syscall__poll(v);
	}
	return NULL;
}

static void vcpu__open_gate(struct vm *vm, unsigned started)
{
	pthread_mutex_lock(&vm->lock);
	while (vm->vcpus_up < started)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->vcpus_released = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vcpu__start_all(struct vm *vm, struct st_err *err)
{
	pthread_mutex_lock(&vm->lock);
	vm->vcpus_up = 0;
	vm->vcpus_released = false;
	pthread_mutex_unlock(&vm->lock);
	unsigned started = 0;
	for (; started < vm->nr_vcpus; started++) {
		struct vcpu *v = &vm->vcpus[started];
		int r = pthread_create(&v->thread, NULL, vcpu__thread, v);
		if (r) {
			/* the caller stops the VM; the threads already made must see that */
			vcpu__open_gate(vm, started);
			return err__fail(err, r, "cannot start vcpu%u thread", v->id);
		}
		v->started = true;
	}
	vcpu__open_gate(vm, started);
	return 0;
}

int vcpu__join_all(struct vm *vm, unsigned timeout_ms)
{
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		vcpu__kick(v);
		if (pthread_timedjoin_np(v->thread, NULL, &deadline))
			return -1;
		v->started = false;
	}
	return 0;
}

void vcpu__destroy(struct vcpu *v)
{
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, (size_t)v->vm->kvm.vcpu_mmap_size);
	if (v->fd >= 0)
		close(v->fd);
	struct vm *vm = v->vm;
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->fd = -1;
}
