/* SSE arithmetic that KVM's emulator on kvm_pvm refuses (paddq met in Linux's
 * boot): register and memory operands and an immediate, each result checked
 * against values computed here without SIMD. */
#include "rt.h"

static void check(const char *what, const uint64_t got[2], uint64_t lo, uint64_t hi)
{
	rt_printf("simd: %s = %lx %lx\n", what, got[1], got[0]);
	if (got[0] != lo || got[1] != hi)
		rt_fail("simd: %s gave %lx %lx, expected %lx %lx", what, got[1], got[0], hi, lo);
}

int guest_main(void)
{
	rt_sse_enable();
	static uint64_t a[2] __attribute__((aligned(16))) = {0x1111111111111111ull, 0xfffffffffffffff0ull};
	static uint64_t b[2] __attribute__((aligned(16))) = {0x0123456789abcdefull, 0x20ull};
	static uint64_t x[2] __attribute__((aligned(16))) = {0xff00ff00ff00ff00ull, 0x0f0f0f0f0f0f0f0full};
	static uint64_t out[2] __attribute__((aligned(16)));

	/* No clobber lists: this runtime is built general-registers-only, so the
	 * compiler never keeps anything in XMM registers. */
	/* paddq xmm14, xmm15: two independent 64-bit lanes, wrapping */
	__asm__ volatile("movdqu %1, %%xmm14\n\tmovdqu %2, %%xmm15\n\t"
			 "paddq %%xmm15, %%xmm14\n\tmovdqu %%xmm14, %0"
			 : "=m"(out) : "m"(a), "m"(b) : "memory");
	check("paddq xmm14, xmm15", out, a[0] + b[0], a[1] + b[1]);

	/* pxor with a memory operand */
	__asm__ volatile("movdqu %1, %%xmm14\n\tpxor %2, %%xmm14\n\tmovdqu %%xmm14, %0"
			 : "=m"(out) : "m"(a), "m"(x) : "memory");
	check("pxor xmm14, m128", out, a[0] ^ x[0], a[1] ^ x[1]);

	/* pshufd with an immediate: swap the two 64-bit halves (dwords 2,3,0,1) */
	__asm__ volatile("movdqu %1, %%xmm13\n\tpshufd $0x4e, %%xmm13, %%xmm12\n\tmovdqu %%xmm12, %0"
			 : "=m"(out) : "m"(b) : "memory");
	check("pshufd xmm12, xmm13, 0x4e", out, b[1], b[0]);

	/* paddd writing a memory destination is not SSE; a store from the result is */
	__asm__ volatile("movdqu %1, %%xmm3\n\tpsubq %2, %%xmm3\n\tmovdqa %%xmm3, %0"
			 : "=m"(out) : "m"(b), "m"(a) : "memory");
	check("psubq xmm3, m128", out, b[0] - a[0], b[1] - a[1]);

	rt_puts("simd: PASS\n");
	return 0;
}
