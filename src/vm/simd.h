/* SSE instructions KVM's emulator refuses, carried out natively on the host CPU
 * on a copy of the guest's XMM state. Only what was decoded and checked is run:
 * the instruction is re-encoded from Zydis' decoding (never copied from the guest)
 * with its memory operand, if any, moved to a host buffer. */
#ifndef STRATA_VM_SIMD_H
#define STRATA_VM_SIMD_H

#include <Zydis/Zydis.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

struct simd_state {
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};

/* Whether the instruction is one simd__run can carry out: legacy-encoded SSE
 * family, operands all XMM registers, immediates and at most one memory operand
 * of up to 16 bytes; no general registers, no flags. mem_op gets the index of the
 * memory operand or -1. */
bool simd__supported(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
		     int *mem_op);

/* Runs the instruction on st; mem (16-byte aligned, 16 bytes) stands in for the
 * memory operand. */
int simd__run(const ZydisDecodedInstruction *insn, const ZydisDecodedOperand *ops,
	      struct simd_state *st, uint8_t *mem, struct st_err *err);

#endif
