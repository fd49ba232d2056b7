/* SSE instructions this nested KVM's emulator refuses (docs/nested-kvm):
 * op=movd runs "movd %ecx, %xmm15" then reads it back, op=ldmxcsr loads
 * MXCSR and reads it back. A VMM either assists correctly (status 0) or
 * stops with status 2 naming the instruction bytes; never a wrong result. */
#include "rt.h"

static void sse_enable(void)
{
	uint64_t cr0, cr4;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(1ull << 2)) | (1ull << 1); /* EM off, MP on */
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1ull << 9) | (1ull << 10); /* OSFXSR, OSXMMEXCPT */
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
}

int guest_main(void)
{
	char op[16] = "movd";
	rt_cmdline_get("op", op, sizeof(op));
	idt_init();
	sse_enable();
	if (rt_streq(op, "movd")) {
		uint32_t in = 0x5a17c0de, out = 0;
		rt_printf("sse: movd %%ecx, %%xmm15 (66 44 0f 6e f9) with %x\n", in);
		__asm__ volatile(".byte 0x66, 0x44, 0x0f, 0x6e, 0xf9\n\t" /* movd %ecx, %xmm15 */
				 "movd %%xmm15, %0" : "=r"(out) : "c"(in));
		rt_printf("sse: read back %x\n", out);
		if (out != in)
			rt_fail("sse: movd round trip gave %x, expected %x", out, in);
	} else if (rt_streq(op, "ldmxcsr")) {
		uint32_t in = 0x1f80 | 0x6000 /* round toward zero */, out = 0;
		rt_printf("sse: ldmxcsr with %x\n", in);
		__asm__ volatile("ldmxcsr %1\n\tstmxcsr %0" : "=m"(out) : "m"(in));
		rt_printf("sse: stmxcsr gave %x\n", out);
		if (out != in)
			rt_fail("sse: ldmxcsr round trip gave %x, expected %x", out, in);
	} else {
		rt_fail("sse: unknown op '%s'", op);
	}
	rt_puts("sse: PASS\n");
	return 0;
}
