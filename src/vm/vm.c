/* Lifecycle of the machine: stop requests, reset, pause and resume. */
#include "vm/vm.h"
#include "common/log.h"
#include "vm/vcpu.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

static void vm__kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu__kick(&vm->vcpus[i]);
}

void vm__request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STOPPING) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->state = VM_STOPPING;
	vm->exit_status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	vm__kick_all(vm);
	uint64_t one = 1;
	if (write(vm->wake_fd, &one, sizeof(one)) < 0)
		log__warn("cannot wake the main loop: %s", strerror(errno));
}

void vm__request_reset(struct vm *vm, const char *why)
{
	vm__request_stop(vm, VM_EXIT_REBOOT, "%s", why);
}

int vm__pause(struct vm *vm, struct st_err *err)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_RUNNING) {
		pthread_mutex_unlock(&vm->lock);
		return err__fail(err, 0, "the VM is %s", vm__state_name(vm));
	}
	vm->state = VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	vm__kick_all(vm);

	/* Wait until every vCPU has parked, so "paused" means no guest code runs. */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	pthread_mutex_lock(&vm->lock);
	int r = 0;
	while (vm->state == VM_PAUSED && vm->paused_vcpus < vm->nr_vcpus && r == 0)
		r = pthread_cond_timedwait(&vm->cond, &vm->lock, &deadline);
	unsigned parked = vm->paused_vcpus;
	pthread_mutex_unlock(&vm->lock);
	if (parked < vm->nr_vcpus)
		return err__fail(err, 0, "only %u of %u vCPUs stopped in time", parked, vm->nr_vcpus);
	return 0;
}

int vm__resume(struct vm *vm, struct st_err *err)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		return err__fail(err, 0, "the VM is %s, not paused", vm__state_name(vm));
	}
	vm->state = VM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

const char *vm__state_name(const struct vm *vm)
{
	switch (__atomic_load_n(&vm->state, __ATOMIC_RELAXED)) {
	case VM_RUNNING: return "running";
	case VM_PAUSED: return "paused";
	default: return "stopping";
	}
}
