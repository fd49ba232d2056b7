/* The machine's life in the VMM (Firecracker's builder): built from the parsed
 * options (KVM VM, RAM, vCPUs, devices, the loaded kernel, the main loop's
 * watches, the seccomp filter), built again on a guest reset, taken apart at
 * the end. vm.c keeps the running machine's state (stop, pause, resume). */
#ifndef STRATA_VM_MACHINE_H
#define STRATA_VM_MACHINE_H

#include "common/err.h"

struct console;
struct vm;

/* Everything from vm->cfg up to the seccomp filter, which comes last: set-up
 * may do what a running VMM never needs to. The vCPUs exist but do not run.
 * On failure the console and control sockets are closed again. */
int machine__build(struct vm *vm, struct console *console, struct st_err *err);

/* Starts the vCPU threads. */
int machine__start(struct vm *vm, struct st_err *err);

/* A guest reset under --on-reboot=restart: a fresh KVM VM, vCPUs and kernel
 * in this process, so that control connections and the console carry on
 * across the reboot. The vCPUs run again on success. */
int machine__rebuild(struct vm *vm, struct st_err *err);

/* The end: console and control sockets closed, disks flushed and closed, and
 * KVM's teardown left to a child sharing our memory (or the guardian), so the
 * caller can _exit with the status at once. */
void machine__teardown(struct vm *vm, struct console *console);

#endif
