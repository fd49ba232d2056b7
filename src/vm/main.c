/* strata-vm: one process per guest. Parses the command line, builds the
 * machine (machine.c), runs the vCPU threads while the main thread serves the
 * console and the control socket until the guest stops, and exits with the
 * guest's status. */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "vm/console.h"
#include "vm/loop.h"
#include "vm/machine.h"
#include "vm/options.h"
#include "vm/vm.h"

/* Static so that everything hanging off them stays reachable for the leak checker. */
static struct vm the_vm;
static struct console console;

/* Serves the main loop until the guest stops, through reboots that
 * --on-reboot=restart turns into a fresh machine. */
static void run(struct vm *vm)
{
	struct st_err err = {0};
	if (machine__start(vm, &err) < 0)
		vm__request_stop(vm, VM_EXIT_SETUP, "%s", err.msg);
	for (;;) {
		while (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_STOPPING)
			loop__run_once(console__input_waiting(&console) ? 5 : -1), console__feed(&console);
		if (vm->exit_status != VM_EXIT_REBOOT || !vm->cfg.reboot_restart)
			break;
		log__info("%s: restarting", vm->exit_reason);
		if (machine__rebuild(vm, &err) < 0) {
			err__print(&err);
			vm->exit_status = VM_EXIT_SETUP;
			break;
		}
	}
}

static void report_exit(const struct vm *vm)
{
	if (vm->exit_status == VM_EXIT_CRASH)
		fprintf(stderr, "%s: error: %s\n", err__progname(), vm->exit_reason);
	else if (vm->exit_status > 128)
		fprintf(stderr, "%s: %s\n", err__progname(), vm->exit_reason);
	else
		log__info("%s", vm->exit_reason);
}

int main(int argc, char **argv)
{
	struct vm *vm = &the_vm;
	struct st_err err = {0};
	err__set_progname(argv[0]);
	/* A failing VMM must not leave a core the size of guest RAM behind. */
	setrlimit(RLIMIT_CORE, &(struct rlimit){0, 0});

	int r = options__parse(argc, argv, &vm->cfg, &err);
	if (r != 0) {
		if (r < 0)
			err__print(&err);
		return r < 0 ? VM_EXIT_SETUP : 0;
	}
	if (machine__build(vm, &console, &err) < 0) {
		err__print(&err);
		return VM_EXIT_SETUP;
	}
	run(vm);
	report_exit(vm);
	machine__teardown(vm, &console);
	_exit(vm->exit_status);
}
