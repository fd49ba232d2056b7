#include "vm/simd.h"
#include "vm/zydis_lib.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Loads the 16 XMM registers and MXCSR from st, calls code with RDI = mem, and
 * stores them back; the host's MXCSR is restored. XMM registers are scratch in
 * the SysV ABI, so nothing else needs saving. */
void simd_call(struct simd_state *st, const void *code, void *mem);
__asm__(".text\n.globl simd_call\n.type simd_call,@function\nsimd_call:\n"
	"  subq $8, %rsp\n"
	"  stmxcsr (%rsp)\n"
	"  ldmxcsr 256(%rdi)\n"
	"  movdqu 0(%rdi), %xmm0\n   movdqu 16(%rdi), %xmm1\n  movdqu 32(%rdi), %xmm2\n"
	"  movdqu 48(%rdi), %xmm3\n  movdqu 64(%rdi), %xmm4\n  movdqu 80(%rdi), %xmm5\n"
	"  movdqu 96(%rdi), %xmm6\n  movdqu 112(%rdi), %xmm7\n movdqu 128(%rdi), %xmm8\n"
	"  movdqu 144(%rdi), %xmm9\n movdqu 160(%rdi), %xmm10\n movdqu 176(%rdi), %xmm11\n"
	"  movdqu 192(%rdi), %xmm12\n movdqu 208(%rdi), %xmm13\n movdqu 224(%rdi), %xmm14\n"
	"  movdqu 240(%rdi), %xmm15\n"
	"  pushq %rdi\n"
	"  pushq %rdi\n"
	"  movq %rdx, %rdi\n"
	"  call *%rsi\n"
	"  popq %rdi\n"
	"  popq %rdi\n"
	"  movdqu %xmm0, 0(%rdi)\n   movdqu %xmm1, 16(%rdi)\n  movdqu %xmm2, 32(%rdi)\n"
	"  movdqu %xmm3, 48(%rdi)\n  movdqu %xmm4, 64(%rdi)\n  movdqu %xmm5, 80(%rdi)\n"
	"  movdqu %xmm6, 96(%rdi)\n  movdqu %xmm7, 112(%rdi)\n movdqu %xmm8, 128(%rdi)\n"
	"  movdqu %xmm9, 144(%rdi)\n movdqu %xmm10, 160(%rdi)\n movdqu %xmm11, 176(%rdi)\n"
	"  movdqu %xmm12, 192(%rdi)\n movdqu %xmm13, 208(%rdi)\n movdqu %xmm14, 224(%rdi)\n"
	"  movdqu %xmm15, 240(%rdi)\n"
	"  stmxcsr 256(%rdi)\n"
	"  ldmxcsr (%rsp)\n"
	"  addq $8, %rsp\n"
	"  ret\n"
	".size simd_call, .-simd_call\n");

_Static_assert(offsetof(struct simd_state, mxcsr) == 256, "simd_call's layout");

static bool isa_allowed(ZydisISASet set)
{
	switch (set) {
	case ZYDIS_ISA_SET_SSE: case ZYDIS_ISA_SET_SSE2: case ZYDIS_ISA_SET_SSE3:
	case ZYDIS_ISA_SET_SSSE3: case ZYDIS_ISA_SET_SSE4: case ZYDIS_ISA_SET_SSE42:
	case ZYDIS_ISA_SET_AES: case ZYDIS_ISA_SET_PCLMULQDQ:
		return true;
	default:
		return false;
	}
}

bool simd__supported(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		     int *mem_op)
{
	*mem_op = -1;
	if (insn->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY || !isa_allowed(insn->meta.isa_set) ||
	    (insn->attributes & ZYDIS_ATTRIB_HAS_LOCK))
		return false;
	for (unsigned i = 0; i < insn->operand_count; i++) {
		const ZydisDecodedOperand *op = &ops[i];
		switch (op->type) {
		case ZYDIS_OPERAND_TYPE_REGISTER:
			if (zy.RegisterGetClass(op->reg.value) == ZYDIS_REGCLASS_XMM)
				break;
			if (op->reg.value == ZYDIS_REGISTER_MXCSR &&
			    op->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN)
				break;
			return false; /* general registers, flags: not here */
		case ZYDIS_OPERAND_TYPE_IMMEDIATE:
			break;
		case ZYDIS_OPERAND_TYPE_MEMORY:
			if (*mem_op >= 0 || op->mem.type != ZYDIS_MEMOP_TYPE_MEM || op->size > 128)
				return false;
			*mem_op = (int)i;
			break;
		default:
			return false;
		}
	}
	return true;
}

int simd__run(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
	      struct simd_state *st, uint8_t *mem, struct st_err *err)
{
	/* Unmasked SSE exceptions would raise SIGFPE in this process, not in the guest. */
	if ((st->mxcsr & 0x1f80) != 0x1f80)
		return err__fail(err, 0, "the guest unmasked SSE exceptions (MXCSR %#x)", st->mxcsr);
	ZydisEncoderRequest req;
	if (!ZYAN_SUCCESS(zy.EncoderDecodedInstructionToEncoderRequest(
		    insn, ops, insn->operand_count_visible, &req)))
		return err__fail(err, 0, "cannot re-encode the instruction");
	req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
	req.prefixes &= ~(ZyanU64)ZYDIS_ATTRIB_HAS_SEGMENT;
	for (unsigned i = 0; i < req.operand_count; i++) {
		ZydisEncoderOperand *op = &req.operands[i];
		if (op->type != ZYDIS_OPERAND_TYPE_MEMORY)
			continue;
		op->mem.base = ZYDIS_REGISTER_RDI; /* the host copy of the operand */
		op->mem.index = ZYDIS_REGISTER_NONE;
		op->mem.scale = 0;
		op->mem.displacement = 0;
	}
	uint8_t code[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
	ZyanUSize len = sizeof(code) - 1;
	if (!ZYAN_SUCCESS(zy.EncoderEncodeInstruction(&req, code, &len)))
		return err__fail(err, 0, "cannot re-encode the instruction");
	code[len++] = 0xc3; /* ret */

	/* One page per thread, writable or executable, never both. */
	static __thread uint8_t *page;
	if (!page) {
		page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (page == MAP_FAILED) {
			page = NULL;
			return err__fail_errno(err, "mmap");
		}
	} else if (mprotect(page, 4096, PROT_READ | PROT_WRITE) < 0) {
		return err__fail_errno(err, "mprotect");
	}
	memcpy(page, code, len);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) < 0)
		return err__fail_errno(err, "mprotect");
	simd_call(st, page, mem);
	return 0;
}
