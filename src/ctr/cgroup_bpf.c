/* Device rules on cgroup v2: the kernel has no devices.allow there, only a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. The program is
 * generated from the rules: checked from the last to the first (the last
 * matching rule wins, as with v1's allow/deny writes), no match = deny. */
#include "ctr/cgroup.h"
#include "common/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

struct prog {
	struct bpf_insn *insn;
	size_t n, cap;
};

static void emit(struct prog *p, struct bpf_insn i)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 64;
		p->insn = realloc(p->insn, p->cap * sizeof(*p->insn));
		if (!p->insn)
			abort();
	}
	p->insn[p->n++] = i;
}

/* One rule: jumps past itself to the next rule when a field does not match.
 * Returns true when it matches everything (what follows is unreachable). */
static bool emit_rule(struct prog *p, char type, int64_t major, int64_t minor, const char *access, bool allow)
{
	uint32_t acc = 0;
	for (const char *a = access; *a; a++)
		acc |= *a == 'm' ? BPF_DEVCG_ACC_MKNOD : *a == 'r' ? BPF_DEVCG_ACC_READ : BPF_DEVCG_ACC_WRITE;
	size_t start = p->n;
	if (type != 'a')
		emit(p, INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0,
			     type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
	if (acc != 7) {
		/* the requested access must be a subset of the rule's */
		emit(p, INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
		emit(p, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)~acc));
		emit(p, INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_1, 0, 0, 0));
	}
	if (major >= 0)
		emit(p, INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)major));
	if (minor >= 0)
		emit(p, INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)minor));
	emit(p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, allow));
	emit(p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	/* every failed check jumps to the next rule */
	size_t end = p->n;
	for (size_t i = start; i < end; i++)
		if (p->insn[i].code == (BPF_JMP | BPF_JNE | BPF_K))
			p->insn[i].off = (int16_t)(end - i - 1);
	return end - start == 2;
}

int cgroup__v2_devices(const struct ctr_cgroup *cg, const struct ctr_resources *res,
		       const struct ctr_device *devs, size_t n_devs, struct st_err *err)
{
	if (!cg->v2 || !cg->n || !res->n_devices)
		return 0;
	struct prog p = {0};
	/* r2 = device type, r3 = access, r4 = major, r5 = minor */
	emit(&p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0));
	emit(&p, INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
	emit(&p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_3, BPF_REG_1, 0, 0));
	emit(&p, INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16));
	emit(&p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0));
	emit(&p, INSN(BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0));
	/* what is always allowed comes last in v1 terms, so first here */
	for (size_t i = 0; i < n_devs; i++)
		if (devs[i].type == 'c' || devs[i].type == 'b' || devs[i].type == 'u')
			emit_rule(&p, devs[i].type == 'b' ? 'b' : 'c', devs[i].major, devs[i].minor, "rwm", true);
	for (size_t i = 0; i < CG_N_DEFAULT_DEVICES; i++)
		emit_rule(&p, 'c', cgroup__default_devices[i][0], cgroup__default_devices[i][1], "rwm", true);
	bool total = false;
	for (size_t i = res->n_devices; i-- > 0 && !total;) {
		const struct ctr_dev_rule *d = &res->devices[i];
		total = emit_rule(&p, d->type, d->major, d->minor, d->access, d->allow);
	}
	if (!total) {
		emit(&p, INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
		emit(&p, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	}

	union bpf_attr load;
	memset(&load, 0, sizeof(load));
	load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	load.insns = (uint64_t)(uintptr_t)p.insn;
	load.insn_cnt = (uint32_t)p.n;
	load.license = (uint64_t)(uintptr_t) "Apache";
	cleanup_close int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
	if (prog < 0 && errno == EINVAL) {
		/* Again with the verifier's log, to say why. */
		static char log[65536];
		load.log_buf = (uint64_t)(uintptr_t)log;
		load.log_size = sizeof(log);
		load.log_level = 1;
		log[0] = 0;
		syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load));
		free(p.insn);
		log[strcspn(log, "\n")] = 0;
		return err__fail(err, EINVAL, "load the device cgroup program (verifier: %s)", log);
	}
	free(p.insn);
	if (prog < 0)
		return err__fail_errno(err, "load the device cgroup program");
	cleanup_close int dir = open(cg->h[0].dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return err__fail_errno(err, "open %s", cg->h[0].dir);
	union bpf_attr attach;
	memset(&attach, 0, sizeof(attach));
	attach.target_fd = (uint32_t)dir;
	attach.attach_bpf_fd = (uint32_t)prog;
	attach.attach_type = BPF_CGROUP_DEVICE;
	attach.attach_flags = BPF_F_ALLOW_MULTI;
	if (syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) < 0)
		return err__fail_errno(err, "attach the device cgroup program to %s", cg->h[0].dir);
	return 0;
}
