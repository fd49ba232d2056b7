/* Build-time generator of strata-vm's seccomp filter (the Firecracker way: the
 * policy is compiled into BPF when strata-vm is built, so the VMM installs it
 * with one system call and links no filter compiler).
 *
 *   strata-vm-seccomp-policy OUT.h [--sanitizer]
 *
 * writes two classic-BPF programs (default action: trap, or log) and the x86-64
 * system call names for the VMM's SIGSYS message. The policy: what a running
 * VMM needs once its devices, sockets and threads are set up — KVM, guest
 * memory, the I/O thread's files and sockets, disks attached at run time,
 * in-process reboots. No exec, no fork (clone must share the address space),
 * no sockets but AF_UNIX, no file creation, ioctl only with the requests the
 * VMM makes. --sanitizer adds what the ASan/UBSan runtime calls. */
#define _GNU_SOURCE /* a native build tool: the project's arguments are for the target */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const plain[] = {
	/* I/O on descriptors it holds */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "lseek", "close", "fstat", "newfstatat", "statx", "fstatfs", "fcntl", "dup", "dup3",
	"fsync", "fdatasync", "fallocate", "ftruncate",
	/* disks attached at run time (no O_CREAT: see below), the control socket's unlink */
	"unlink",
	/* guest memory, thread stacks, the block layer's caches */
	"mmap", "munmap", "mprotect", "madvise", "mremap", "brk",
	/* the event loops */
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll", "eventfd2", "pipe2",
	"timerfd_create", "timerfd_settime", "signalfd4",
	/* threads (vCPUs, I/O, the block pool, the reboot's VM builder) and signals */
	"futex", "set_robust_list", "rseq", "exit", "exit_group", "gettid", "getpid", "getppid", "tgkill",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "sigaltstack",
	"sched_yield", "sched_getaffinity", "nanosleep", "clock_nanosleep", "clock_gettime",
	"gettimeofday", "getrandom", "uname", "prctl",
	/* a guardian started after the filter adds it again (only ever narrows) */
	"seccomp",
	/* the guardian and teardown (kvm_worker.c, main.c), unplugged disks' threads */
	"pidfd_open", "wait4", "waitid",
	/* io_uring (raw disks): rings set up before the filter, each restricted to
	 * reads, writes and fsyncs on its disk's file (disk_raw.c); no new ring
	 * (below); registrations on those rings the restrictions refuse */
	"io_uring_enter", "io_uring_register",
	/* unix sockets: the control socket, console socket, vsock's host side */
	"accept4", "recvfrom", "recvmsg", "sendto", "sendmsg", "connect", "shutdown", "getsockopt",
	"setsockopt", "getsockname", "getpeername",
};

/* What the sanitizer runtimes call besides (reports, their allocator). */
static const char *const sanitizer[] = {
	"sched_getparam", "getrlimit", "prlimit64", "readlink", "openat", "open", "getdents64", "munlock",
	"mlock", "kill", "tkill", "sysinfo", "personality", "process_vm_readv", "pause",
};

#define IOC(x) (#x), (x)
static const struct {
	const char *name;
	unsigned long req;
} ioctls[] = {
	{IOC(KVM_GET_API_VERSION)}, {IOC(KVM_CHECK_EXTENSION)}, {IOC(KVM_GET_VCPU_MMAP_SIZE)},
	{IOC(KVM_CREATE_VM)}, {IOC(KVM_GET_SUPPORTED_CPUID)}, {IOC(KVM_SET_USER_MEMORY_REGION)},
	{IOC(KVM_SET_TSS_ADDR)}, {IOC(KVM_SET_IDENTITY_MAP_ADDR)}, {IOC(KVM_CREATE_IRQCHIP)},
	{IOC(KVM_CREATE_PIT2)}, {IOC(KVM_ENABLE_CAP)}, {IOC(KVM_IRQ_LINE)}, {IOC(KVM_IRQ_LINE_STATUS)},
	{IOC(KVM_X86_SET_MSR_FILTER)}, {IOC(KVM_IOEVENTFD)}, {IOC(KVM_SIGNAL_MSI)},
	{IOC(KVM_CREATE_VCPU)}, {IOC(KVM_RUN)}, {IOC(KVM_GET_REGS)}, {IOC(KVM_SET_REGS)},
	{IOC(KVM_GET_SREGS)}, {IOC(KVM_SET_SREGS)}, {IOC(KVM_GET_MSRS)}, {IOC(KVM_SET_MSRS)},
	{IOC(KVM_SET_CPUID2)}, {IOC(KVM_GET_XSAVE)}, {IOC(KVM_SET_XSAVE)}, {IOC(KVM_GET_VCPU_EVENTS)},
	{IOC(KVM_SET_VCPU_EVENTS)}, {IOC(KVM_GET_MP_STATE)}, {IOC(KVM_SET_MP_STATE)}, {IOC(KVM_TRANSLATE)},
	{IOC(KVM_GET_LAPIC)}, {IOC(KVM_SET_LAPIC)},
	{IOC(TUNSETIFF)}, {IOC(TUNGETIFF)}, {IOC(TUNSETQUEUE)}, {IOC(TUNSETOFFLOAD)},
	{IOC(TUNSETVNETHDRSZ)}, {IOC(BLKSSZGET)}, {IOC(BLKGETSIZE64)},
	{IOC(TCGETS)}, {IOC(TCSETS)}, {IOC(TCSETSW)}, {IOC(FIONBIO)}, {IOC(FIONREAD)},
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "strata-vm-seccomp-policy: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

static void allow(scmp_filter_ctx ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	if (nr == __NR_SCMP_ERROR) {
		fprintf(stderr, "strata-vm-seccomp-policy: unknown system call %s\n", name);
		exit(1);
	}
	int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, cmp);
	if (rc < 0)
		die(name, rc);
}

/* Spelled out: the SCMP_A* macros leave a field to the compiler's default. */
static struct scmp_arg_cmp arg(unsigned n, enum scmp_compare op, scmp_datum_t a, scmp_datum_t b)
{
	return (struct scmp_arg_cmp){.arg = n, .op = op, .datum_a = a, .datum_b = b};
}

static scmp_filter_ctx policy(uint32_t def, int with_sanitizer)
{
	scmp_filter_ctx ctx = seccomp_init(def);
	if (!ctx)
		die("seccomp_init", ENOMEM);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		allow(ctx, plain[i], 0, NULL);
	if (with_sanitizer)
		for (size_t i = 0; i < sizeof(sanitizer) / sizeof(sanitizer[0]); i++)
			allow(ctx, sanitizer[i], 0, NULL);
	/* files opened after set-up are disks: never created (with_sanitizer
	 * allows every openat above: the runtime reads /proc) */
	if (!with_sanitizer) {
		struct scmp_arg_cmp no_create = arg(2, SCMP_CMP_MASKED_EQ, O_CREAT | __O_TMPFILE, 0);
		allow(ctx, "openat", 1, &no_create);
	}
	/* Zydis is dlopen()ed at the first instruction KVM cannot emulate: the
	 * loader reads the stack limit (never sets it) */
	struct scmp_arg_cmp get_only = arg(2, SCMP_CMP_EQ, 0, 0);
	allow(ctx, "prlimit64", 1, &get_only);
	struct scmp_arg_cmp unix_only = arg(0, SCMP_CMP_EQ, AF_UNIX, 0);
	allow(ctx, "socket", 1, &unix_only);
	/* threads and the guardian share the address space; a fork never does */
	struct scmp_arg_cmp shares_vm = arg(0, SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM);
	allow(ctx, "clone", 1, &shares_vm);
	/* clone3's flags are in memory, out of a filter's reach: glibc then uses clone */
	int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (rc < 0)
		die("clone3", rc);
	/* a new ring's operations would be out of the filter's sight: a disk
	 * attached at run time is told EPERM and uses a thread pool */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(io_uring_setup), 0);
	if (rc < 0)
		die("io_uring_setup", rc);
	for (size_t i = 0; i < sizeof(ioctls) / sizeof(ioctls[0]); i++) {
		struct scmp_arg_cmp req = arg(1, SCMP_CMP_MASKED_EQ, 0xffffffffu, ioctls[i].req & 0xffffffffu);
		allow(ctx, "ioctl", 1, &req);
	}
	return ctx;
}

static void emit(FILE *out, const char *name, scmp_filter_ctx ctx)
{
	FILE *tmp = tmpfile();
	if (!tmp)
		die("tmpfile", errno);
	int rc = seccomp_export_bpf(ctx, fileno(tmp));
	if (rc < 0)
		die("seccomp_export_bpf", rc);
	off_t len = lseek(fileno(tmp), 0, SEEK_END);
	if (len <= 0 || len % 8 || lseek(fileno(tmp), 0, SEEK_SET) != 0)
		die("exported filter", EINVAL);
	fprintf(out, "static const struct sock_filter %s[] = {\n", name);
	unsigned char ins[8];
	while (read(fileno(tmp), ins, sizeof(ins)) == (ssize_t)sizeof(ins)) {
		unsigned code = ins[0] | ins[1] << 8;
		unsigned k = (unsigned)ins[4] | (unsigned)ins[5] << 8 | (unsigned)ins[6] << 16 | (unsigned)ins[7] << 24;
		fprintf(out, "\t{0x%04x, %u, %u, 0x%08x},\n", code, ins[2], ins[3], k);
	}
	fprintf(out, "};\n\n");
	fclose(tmp);
	seccomp_release(ctx);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: strata-vm-seccomp-policy OUT.h [--sanitizer]\n");
		return 2;
	}
	int with_sanitizer = argc > 2 && !strcmp(argv[2], "--sanitizer");
	FILE *out = fopen(argv[1], "w");
	if (!out)
		die(argv[1], errno);
	fprintf(out, "/* Generated by src/vm/seccomp/policy.c at build time%s: do not edit. */\n",
		with_sanitizer ? " (sanitizer build)" : "");
	fprintf(out, "#include <linux/filter.h>\n\n#define VM_SECCOMP_SANITIZER %d\n\n", with_sanitizer);
	emit(out, "vm_seccomp_trap", policy(SCMP_ACT_TRAP, with_sanitizer));
	emit(out, "vm_seccomp_log", policy(SCMP_ACT_LOG, with_sanitizer));
	fprintf(out, "static const char *const vm_seccomp_names[] = {\n");
	for (int nr = 0; nr < 512; nr++) {
		char *n = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
		if (n)
			fprintf(out, "\t[%d] = \"%s\",\n", nr, n);
		free(n);
	}
	fprintf(out, "};\n");
	return fclose(out) == 0 ? 0 : 1;
}
