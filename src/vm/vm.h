/* The machine: configuration, KVM state, memory, vCPUs, devices and lifecycle.
 * vCPU state (vcpu.c), memory (memory.c), devices (hw/) and the API (control.c)
 * stay apart; this struct only ties them together. */
#ifndef STRATA_VM_VM_H
#define STRATA_VM_VM_H

#include <pthread.h>
#include <stdbool.h>

#include "vm/hw/fw_cfg.h"
#include "vm/sandbox.h"
#include <stdint.h>

#include "common/err.h"
#include "vm/io.h"
#include "vm/kvm.h"
#include "vm/memory.h"
#include "vm/mmio.h"

#define VM_MAX_CPUS 64
#define VM_MAX_DISKS 8

enum host_profile { HOST_PROFILE_AUTO, HOST_PROFILE_NATIVE, HOST_PROFILE_NESTED };

/* --rtc-base: where the guest's CMOS clock starts (hw/rtc.c) */
struct rtc_base {
	bool localtime;             /* host local time instead of UTC */
	int64_t offset;             /* seconds from the host clock to the guest's */
};

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	unsigned cpus;
	uint64_t mem_bytes;
	bool mem_prealloc;          /* --mem-prealloc: every page of RAM backed from the start */
	bool verbose;               /* --verbose: info messages (STRATA_LOG=debug still wins) */
	const char *console;        /* "stdio", "socket:PATH", "file:PATH" or "none" */
	const char *control;        /* unix socket path or NULL */
	const char *cpu_template;   /* "host", "nested" or NULL */
	const char *cpu_features;   /* "-cx16,+x2apic,..." or NULL */
	enum host_profile profile;
	bool reboot_restart;
	int unpack_kernel;          /* -1: auto (on under the nested profile) */
	const char *kvm_device;
	const char *disks[VM_MAX_DISKS]; /* --disk specs (virtio-blk) */
	unsigned nr_disks;
	const char *nets[VM_MAX_DISKS];  /* --net specs (virtio-net) */
	unsigned nr_nets;
	bool rng;                   /* --rng: virtio-rng */
	const char *vconsole;       /* --vconsole: virtio-console output/input */
	bool balloon;               /* --balloon: virtio-balloon */
	const char *vsock;          /* --vsock cid=N,uds=PATH */
	bool virtio_packed;         /* --virtio-rings packed: offer VIRTIO_F_RING_PACKED */
	struct rtc_base rtc_base;   /* --rtc-base */
	enum sandbox_mode seccomp;  /* --seccomp (SANDBOX_ON unless given) */
	struct fw_cfg_user fw_cfg[FW_CFG_USER_MAX]; /* --fw-cfg */
	unsigned nr_fw_cfg;
};

enum vm_state { VM_RUNNING, VM_PAUSED, VM_STOPPING };

struct vcpu;
struct cpuid_table;
struct serial8250;
struct acpi_pm;
struct pci_bus;
struct pci_hotplug;
struct virtio_dev;

/* How the boot CPU starts: filled by the loaders in boot/. */
enum boot_mode { BOOT_LINUX64, BOOT_PVH, BOOT_MULTIBOOT };
struct boot_info {
	enum boot_mode mode;
	uint64_t entry;        /* guest physical */
	uint64_t params;       /* boot_params, hvm_start_info or the multiboot info */
	uint64_t kernel_end;   /* first byte after the loaded image */
};

struct vm {
	struct vm_config cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct io_bus io;
	struct mmio_bus mmio;
	struct pci_bus *pci;
	struct pci_hotplug *hotplug;
	/* The live virtio devices (main thread: set-up, control socket, ejects). */
	struct virtio_dev *virtio[31];
	unsigned nr_virtio;
	unsigned virtio_seq;    /* devices ever made: unique names */
	struct virtio_dev *retired;  /* ejected devices, kept: a vCPU may still hold one */
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	bool kvm_guardian; /* kvm_worker.c's guardian drops the VM when we end */
	struct cpuid_table *cpuid;
	struct boot_info boot;
	char *cmdline;          /* final guest command line (profile options added) */
	bool nested;            /* the nested host profile is in force */
	bool lstar_trapped;     /* nested: guest LSTAR accesses exit to us (pvm_syscall.h) */

	struct serial8250 *serial;
	struct acpi_pm *pm;
	struct fw_cfg *fw_cfg;

	pthread_mutex_t lock;   /* guards state, paused_vcpus, the start gate, exit_* */
	pthread_cond_t cond;
	enum vm_state state;
	unsigned paused_vcpus;
	unsigned vcpus_up;      /* vCPU threads named and waiting at the start gate */
	bool vcpus_released;    /* the start gate is open */
	int exit_status;
	char exit_reason[256];
	int wake_fd;            /* eventfd: wakes the main loop when the VM stops */
	uint64_t start_ns;
};

/* Stops the VM with a status; the first request wins. Safe from any thread. */
void vm__request_stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A guest reset: relaunch or stop, as --on-reboot says. */
void vm__request_reset(struct vm *vm, const char *why);

int vm__pause(struct vm *vm, struct st_err *err);
int vm__resume(struct vm *vm, struct st_err *err);
const char *vm__state_name(const struct vm *vm);

/* Exit statuses (docs/vm-machine.md). */
enum { VM_EXIT_POWEROFF = 0, VM_EXIT_SETUP = 1, VM_EXIT_CRASH = 2, VM_EXIT_REBOOT = 3 };

#endif
