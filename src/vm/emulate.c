#include "vm/emulate.h"
#include "common/log.h"
#include "vm/guest_access.h"
#include "vm/simd.h"
#include "vm/vcpu.h"
#include "vm/zydis_lib.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#define EFER_LMA (1ull << 10)
#define MXCSR_VALID_MASK 0xffffu

/* Everything a handler needs about the faulting instruction. */
struct insn_ctx {
	struct vcpu *v;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	ZydisMachineMode mode;
	ZydisDecodedInstruction insn;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	uint64_t rip_linear;
};

static __u64 *gpr_slot(struct kvm_regs *r, ZydisRegister reg)
{
	ZydisRegisterClass cls = zy.RegisterGetClass(reg);
	if (cls != ZYDIS_REGCLASS_GPR64 && cls != ZYDIS_REGCLASS_GPR32 &&
	    cls != ZYDIS_REGCLASS_GPR16)
		return NULL;
	__u64 *slots[16] = {&r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp,
			       &r->rsi, &r->rdi, &r->r8,  &r->r9,  &r->r10, &r->r11,
			       &r->r12, &r->r13, &r->r14, &r->r15};
	int id = zy.RegisterGetId(reg);
	return id >= 0 && id < 16 ? slots[id] : NULL;
}

static int read_gpr(struct insn_ctx *c, ZydisRegister reg, uint64_t *val)
{
	__u64 *slot = gpr_slot(&c->regs, reg);
	if (!slot)
		return -1;
	unsigned width = zy.RegisterGetWidth(c->mode, reg);
	*val = width == 64 ? *slot : *slot & ((1ull << width) - 1);
	return 0;
}

/* x86 semantics: a 32-bit write zero-extends, a 16-bit write merges. */
static int write_gpr(struct insn_ctx *c, ZydisRegister reg, uint64_t val)
{
	__u64 *slot = gpr_slot(&c->regs, reg);
	if (!slot)
		return -1;
	unsigned width = zy.RegisterGetWidth(c->mode, reg);
	if (width == 64 || width == 32)
		*slot = width == 64 ? val : (uint32_t)val;
	else
		*slot = (*slot & ~0xffffull) | (val & 0xffff);
	return 0;
}

static int effective_address(struct insn_ctx *c, const ZydisDecodedOperand *op, uint64_t *out)
{
	uint64_t ea = (uint64_t)op->mem.disp.value, v;
	if (op->mem.base == ZYDIS_REGISTER_RIP || op->mem.base == ZYDIS_REGISTER_EIP)
		ea += c->regs.rip + c->insn.length;
	else if (op->mem.base != ZYDIS_REGISTER_NONE) {
		if (read_gpr(c, op->mem.base, &v) < 0)
			return -1;
		ea += v;
	}
	if (op->mem.index != ZYDIS_REGISTER_NONE) {
		if (read_gpr(c, op->mem.index, &v) < 0)
			return -1;
		ea += v * op->mem.scale;
	}
	if (c->insn.address_width == 32)
		ea = (uint32_t)ea;
	/* In long mode only FS and GS have bases; outside it every segment has one. */
	switch (op->mem.segment) {
	case ZYDIS_REGISTER_FS: ea += c->sregs.fs.base; break;
	case ZYDIS_REGISTER_GS: ea += c->sregs.gs.base; break;
	case ZYDIS_REGISTER_ES: if (c->mode != ZYDIS_MACHINE_MODE_LONG_64) ea += c->sregs.es.base; break;
	case ZYDIS_REGISTER_SS: if (c->mode != ZYDIS_MACHINE_MODE_LONG_64) ea += c->sregs.ss.base; break;
	case ZYDIS_REGISTER_CS: if (c->mode != ZYDIS_MACHINE_MODE_LONG_64) ea += c->sregs.cs.base; break;
	default: if (c->mode != ZYDIS_MACHINE_MODE_LONG_64) ea += c->sregs.ds.base; break;
	}
	*out = ea;
	return 0;
}

/* Reads or writes the operand's value (register or memory), size in bytes <= 8. */
static int operand_rw(struct insn_ctx *c, const ZydisDecodedOperand *op, uint64_t *val,
		      bool write, struct st_err *err)
{
	if (op->type == ZYDIS_OPERAND_TYPE_REGISTER) {
		int r = write ? write_gpr(c, op->reg.value, *val) : read_gpr(c, op->reg.value, val);
		return r < 0 ? err__fail(err, 0, "unsupported register operand") : 0;
	}
	if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
		return err__fail(err, 0, "unsupported operand");
	uint64_t ea;
	if (effective_address(c, op, &ea) < 0)
		return err__fail(err, 0, "unsupported address");
	unsigned size = op->size / 8;
	if (write)
		return guest_access__write_gva(c->v, ea, val, size, err);
	*val = 0;
	return guest_access__read_gva(c->v, ea, val, size, err);
}

static int inject_exception(struct insn_ctx *c, unsigned vector, bool has_code, unsigned code,
			    struct st_err *err)
{
	struct kvm_vcpu_events ev;
	if (ioctl(c->v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return err__fail_errno(err, "KVM_GET_VCPU_EVENTS");
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)vector;
	ev.exception.has_error_code = has_code;
	ev.exception.error_code = code;
	ev.flags = 0;
	if (ioctl(c->v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return err__fail_errno(err, "KVM_SET_VCPU_EVENTS");
	return 0;
}

/* Each handler carries the instruction out; the caller then advances RIP. */
static int do_int3(struct insn_ctx *c, struct st_err *err)
{
	/* #BP is a trap: the saved RIP is the next instruction. */
	c->regs.rip += c->insn.length;
	if (ioctl(c->v->fd, KVM_SET_REGS, &c->regs) < 0)
		return err__fail_errno(err, "KVM_SET_REGS");
	return inject_exception(c, 3, false, 0, err) < 0 ? -1 : 1;
}

static int do_fwait(struct insn_ctx *c, struct st_err *err)
{
	(void)c, (void)err; /* no unmasked x87 exception can be pending in a fresh guest */
	return 0;
}

/* The guest's SSE state (XMM registers, MXCSR) through its XSAVE image: KVM_SET_FPU
 * ignores MXCSR, and the kernel takes the legacy area from an image only when
 * XSTATE_BV marks SSE state present, silently keeping the old state otherwise. */
#define XSAVE_MXCSR_OFFSET  24
#define XSAVE_XMM_OFFSET    160
#define XSAVE_HEADER_OFFSET 512  /* XSTATE_BV */
#define XFEATURE_SSE        0x2ull

static int sse_state_get(struct insn_ctx *c, struct simd_state *st, struct st_err *err)
{
	struct kvm_xsave xs;
	if (ioctl(c->v->fd, KVM_GET_XSAVE, &xs) < 0)
		return err__fail_errno(err, "KVM_GET_XSAVE");
	const uint8_t *img = (const uint8_t *)xs.region;
	memcpy(&st->mxcsr, img + XSAVE_MXCSR_OFFSET, sizeof(st->mxcsr));
	memcpy(st->xmm, img + XSAVE_XMM_OFFSET, sizeof(st->xmm));
	return 0;
}

static int sse_state_put(struct insn_ctx *c, const struct simd_state *st, struct st_err *err)
{
	struct kvm_xsave xs;
	if (ioctl(c->v->fd, KVM_GET_XSAVE, &xs) < 0)
		return err__fail_errno(err, "KVM_GET_XSAVE");
	uint8_t *img = (uint8_t *)xs.region;
	uint64_t xstate_bv;
	memcpy(img + XSAVE_MXCSR_OFFSET, &st->mxcsr, sizeof(st->mxcsr));
	memcpy(img + XSAVE_XMM_OFFSET, st->xmm, sizeof(st->xmm));
	memcpy(&xstate_bv, img + XSAVE_HEADER_OFFSET, sizeof(xstate_bv));
	xstate_bv |= XFEATURE_SSE;
	memcpy(img + XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
	if (ioctl(c->v->fd, KVM_SET_XSAVE, &xs) < 0)
		return err__fail_errno(err, "KVM_SET_XSAVE");
	return 0;
}

static int do_ldmxcsr(struct insn_ctx *c, struct st_err *err)
{
	uint64_t val;
	if (operand_rw(c, &c->ops[0], &val, false, err) < 0)
		return -1;
	if (val & ~(uint64_t)MXCSR_VALID_MASK)
		return inject_exception(c, 13, true, 0, err) < 0 ? -1 : 1;
	struct simd_state st;
	if (sse_state_get(c, &st, err) < 0)
		return -1;
	st.mxcsr = (uint32_t)val;
	return sse_state_put(c, &st, err);
}

static int do_stmxcsr(struct insn_ctx *c, struct st_err *err)
{
	struct simd_state st;
	if (sse_state_get(c, &st, err) < 0)
		return -1;
	uint64_t val = st.mxcsr;
	return operand_rw(c, &c->ops[0], &val, true, err);
}

static int do_popcnt(struct insn_ctx *c, struct st_err *err)
{
	uint64_t src;
	if (operand_rw(c, &c->ops[1], &src, false, err) < 0)
		return -1;
	uint64_t count = (uint64_t)__builtin_popcountll(src);
	if (operand_rw(c, &c->ops[0], &count, true, err) < 0)
		return -1;
	/* ZF = (src == 0); CF, OF, SF, AF, PF cleared. */
	c->regs.rflags &= ~(uint64_t)(0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x800);
	if (!src)
		c->regs.rflags |= 0x40;
	return 0;
}

/* movd/movq between a general register or memory and the low lane of an XMM register. */
static int do_movd_movq(struct insn_ctx *c, struct st_err *err)
{
	const ZydisDecodedOperand *dst = &c->ops[0], *src = &c->ops[1];
	bool to_xmm = dst->type == ZYDIS_OPERAND_TYPE_REGISTER &&
		      zy.RegisterGetClass(dst->reg.value) == ZYDIS_REGCLASS_XMM;
	const ZydisDecodedOperand *xop = to_xmm ? dst : src, *gop = to_xmm ? src : dst;
	if (xop->type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    zy.RegisterGetClass(xop->reg.value) != ZYDIS_REGCLASS_XMM)
		return err__fail(err, 0, "unsupported movd/movq form");
	if (gop->type == ZYDIS_OPERAND_TYPE_REGISTER &&
	    zy.RegisterGetClass(gop->reg.value) == ZYDIS_REGCLASS_XMM)
		return err__fail(err, 0, "unsupported movq xmm, xmm form");
	struct simd_state st;
	if (sse_state_get(c, &st, err) < 0)
		return -1;
	uint8_t *lane = st.xmm[zy.RegisterGetId(xop->reg.value) & 15];
	unsigned size = gop->size / 8;
	uint64_t val = 0;
	if (to_xmm) {
		if (operand_rw(c, gop, &val, false, err) < 0)
			return -1;
		memset(lane, 0, 16);
		memcpy(lane, &val, size);
		return sse_state_put(c, &st, err);
	}
	memcpy(&val, lane, size);
	return operand_rw(c, gop, &val, true, err);
}

/* Any other SSE instruction on XMM registers and memory: natively, on a copy of
 * the guest's XMM state (simd.c). */
static int do_simd(struct insn_ctx *c, int mem_op, struct st_err *err)
{
	struct simd_state st;
	_Alignas(16) uint8_t mem[16] = {0};
	uint64_t ea = 0;
	unsigned mem_size = 0;
	if (sse_state_get(c, &st, err) < 0)
		return -1;
	if (mem_op >= 0) {
		mem_size = c->ops[mem_op].size / 8;
		if (effective_address(c, &c->ops[mem_op], &ea) < 0)
			return err__fail(err, 0, "unsupported address");
		if (guest_access__read_gva(c->v, ea, mem, mem_size, err) < 0)
			return -1;
	}
	if (simd__run(&c->insn, c->ops, &st, mem, err) < 0)
		return -1;
	if (sse_state_put(c, &st, err) < 0)
		return -1;
	if (mem_op >= 0 && (c->ops[mem_op].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
		return guest_access__write_gva(c->v, ea, mem, mem_size, err);
	return 0;
}

static int do_sysret(struct insn_ctx *c, struct st_err *err)
{
	if (c->mode != ZYDIS_MACHINE_MODE_LONG_64 || !(c->insn.attributes & ZYDIS_ATTRIB_HAS_REX) ||
	    c->sregs.cs.dpl != 0)
		return err__fail(err, 0, "only a 64-bit SYSRETQ from ring 0 is assisted");
	return pvm_syscall__sysret(c->v, err) < 0 ? -1 : 1;
}

static const struct {
	ZydisMnemonic mnemonic;
	int (*fn)(struct insn_ctx *c, struct st_err *err); /* 1: RIP already handled */
} handlers[] = {
	{ZYDIS_MNEMONIC_INT3, do_int3},     {ZYDIS_MNEMONIC_FWAIT, do_fwait},
	{ZYDIS_MNEMONIC_LDMXCSR, do_ldmxcsr}, {ZYDIS_MNEMONIC_STMXCSR, do_stmxcsr},
	{ZYDIS_MNEMONIC_POPCNT, do_popcnt},  {ZYDIS_MNEMONIC_MOVD, do_movd_movq},
	{ZYDIS_MNEMONIC_MOVQ, do_movd_movq},  {ZYDIS_MNEMONIC_SYSRET, do_sysret},
};

static ZydisMachineMode machine_mode(const struct kvm_sregs *s, ZydisStackWidth *sw)
{
	if ((s->efer & EFER_LMA) && s->cs.l) {
		*sw = ZYDIS_STACK_WIDTH_64;
		return ZYDIS_MACHINE_MODE_LONG_64;
	}
	if (s->cs.db) {
		*sw = ZYDIS_STACK_WIDTH_32;
		return (s->efer & EFER_LMA) ? ZYDIS_MACHINE_MODE_LONG_COMPAT_32
					    : ZYDIS_MACHINE_MODE_LEGACY_32;
	}
	*sw = ZYDIS_STACK_WIDTH_16;
	return (s->cr0 & 1) ? ZYDIS_MACHINE_MODE_LEGACY_16 : ZYDIS_MACHINE_MODE_REAL_16;
}

static void describe(struct insn_ctx *c, const uint8_t *bytes, unsigned n, bool decoded,
		     char *out, size_t len)
{
	int k = snprintf(out, len, "RIP 0x%llx, bytes", (unsigned long long)c->regs.rip);
	for (unsigned i = 0; i < n && k > 0 && (size_t)k < len; i++)
		k += snprintf(out + k, len - (size_t)k, " %02x", bytes[i]);
	if (!decoded || k <= 0 || (size_t)k >= len)
		return;
	ZydisFormatter fmt;
	char text[96];
	if (ZYAN_SUCCESS(zy.FormatterInit(&fmt, ZYDIS_FORMATTER_STYLE_INTEL)) &&
	    ZYAN_SUCCESS(zy.FormatterFormatInstruction(&fmt, &c->insn, c->ops,
							 c->insn.operand_count_visible, text,
							 sizeof(text), c->regs.rip, NULL)))
		snprintf(out + k, len - (size_t)k, " (%s)", text);
}

int emulate__internal_error(struct vcpu *v, struct st_err *err)
{
	struct kvm_run *run = v->run;
	struct insn_ctx c = {.v = v};
	uint8_t bytes[15] = {0};
	unsigned n = 0;

	if (ioctl(v->fd, KVM_GET_REGS, &c.regs) < 0 || ioctl(v->fd, KVM_GET_SREGS, &c.sregs) < 0)
		return err__fail_errno(err, "reading registers after an internal error");
	if (run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return err__fail(err, 0, "KVM internal error (suberror %u) at RIP 0x%llx",
			       run->internal.suberror, (unsigned long long)c.regs.rip);

	ZydisStackWidth sw;
	c.mode = machine_mode(&c.sregs, &sw);
	c.rip_linear = c.regs.rip + (c.mode == ZYDIS_MACHINE_MODE_LONG_64 ? 0 : c.sregs.cs.base);
	if (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
		n = run->emulation_failure.insn_size;
		if (n > sizeof(bytes))
			n = sizeof(bytes);
		memcpy(bytes, run->emulation_failure.insn_bytes, n);
	} else {
		struct st_err ignored = {0};
		n = guest_access__read_gva(v, c.rip_linear, bytes, sizeof(bytes), &ignored) == 0 ? 15 : 0;
	}

	struct st_err no_decoder = {0};
	if (zydis__load(&no_decoder) < 0) {
		char where[96];
		describe(&c, bytes, n, false, where, sizeof(where));
		return err__fail(err, 0, "KVM could not emulate an instruction at %s; no assist: %s",
			       where, no_decoder.msg);
	}
	ZydisDecoder dec;
	bool decoded = n && ZYAN_SUCCESS(zy.DecoderInit(&dec, c.mode, sw)) &&
		       ZYAN_SUCCESS(zy.DecoderDecodeFull(&dec, bytes, n, &c.insn, c.ops));
	char where[256];
	describe(&c, bytes, decoded ? c.insn.length : n, decoded, where, sizeof(where));
	if (!decoded)
		return err__fail(err, 0, "KVM could not emulate an instruction at %s", where);

	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].mnemonic != c.insn.mnemonic)
			continue;
		struct st_err why = {0};
		int r = handlers[i].fn(&c, &why);
		if (r < 0)
			return err__fail(err, 0, "assist for the instruction at %s failed: %s", where,
				       why.msg);
		if (r == 0) {
			c.regs.rip += c.insn.length;
			if (ioctl(v->fd, KVM_SET_REGS, &c.regs) < 0)
				return err__fail_errno(err, "KVM_SET_REGS");
		}
		log__info("vcpu%u: assisted %s", v->id, where);
		return 0;
	}
	int mem_op;
	if (simd__supported(&c.insn, c.ops, &mem_op)) {
		struct st_err why = {0};
		if (do_simd(&c, mem_op, &why) < 0)
			return err__fail(err, 0, "assist for the instruction at %s failed: %s", where,
				       why.msg);
		c.regs.rip += c.insn.length;
		if (ioctl(v->fd, KVM_SET_REGS, &c.regs) < 0)
			return err__fail_errno(err, "KVM_SET_REGS");
		log__info("vcpu%u: assisted natively %s", v->id, where);
		return 0;
	}
	return err__fail(err, 0, "KVM could not emulate an instruction at %s", where);
}
