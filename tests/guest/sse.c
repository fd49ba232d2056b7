/* Instructions this nested KVM's emulator refuses (docs/nested-kvm): SSE
 * (op=movd, op=ldmxcsr) and newer integer ones (op=popcnt, lzcnt, tzcnt,
 * movbe, crc32, cmpxchg16b), each with its result checked. A VMM either
 * assists correctly (status 0) or stops with status 2 naming the instruction
 * bytes; never a wrong result. CPUID may hide these features from the guest,
 * but the hardware runs them anyway, so a VMM must not pretend otherwise. */
#include "rt.h"

/* CPUID bit that advertises op: leaf, register index (0 eax .. 3 edx), bit */
static const struct {
	const char *op;
	uint32_t leaf, reg, bit;
} features[] = {
	{"movd", 1, 3, 26},   {"ldmxcsr", 1, 3, 25},    {"popcnt", 1, 2, 23},
	{"movbe", 1, 2, 22},  {"crc32", 1, 2, 20},      {"cmpxchg16b", 1, 2, 13},
	{"lzcnt", 0x80000001, 2, 5}, {"tzcnt", 7, 1, 3},
};
static char op[16] = "movd";
static bool advertised;

/* #UD is what a CPU without the feature does: right when CPUID hides it */
static void ud_handler(struct rt_frame *f)
{
	rt_printf("sse: #UD for %s at rip %lx; CPUID %s it\n", op, f->rip, advertised ? "advertises" : "hides");
	if (advertised)
		rt_fail("sse: #UD for an advertised instruction");
	rt_puts("sse: PASS\n");
	rt_exit(0);
}

int guest_main(void)
{
	rt_cmdline_get("op", op, sizeof(op));
	idt_init();
	idt_set_handler(6, ud_handler);
	for (unsigned i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		if (!rt_streq(op, features[i].op))
			continue;
		uint32_t r[4];
		rt_cpuid(features[i].leaf, 0, r);
		advertised = (r[features[i].reg] >> features[i].bit) & 1;
		rt_printf("sse: CPUID %s %s\n", advertised ? "advertises" : "hides", op);
	}
	rt_sse_enable();
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
	} else if (rt_streq(op, "popcnt")) {
		uint64_t in = 0xf0f0000000000301ull, out = 0;
		__asm__ volatile("popcnt %1, %0" : "=r"(out) : "r"(in));
		rt_printf("sse: popcnt(%lx) = %lu\n", in, out);
		if (out != 11)
			rt_fail("sse: popcnt gave %lu, expected 11", out);
	} else if (rt_streq(op, "lzcnt") || rt_streq(op, "tzcnt")) {
		/* without LZCNT/BMI1 these run as bsr/bsf: 0x10 -> 4 either way for tzcnt,
		 * but lzcnt(0x10) is 59 where bsr gives 4; 4 is right only if CPUID hides LZCNT */
		uint64_t in = 0x10, out = 0;
		if (op[0] == 'l')
			__asm__ volatile("lzcnt %1, %0" : "=r"(out) : "r"(in));
		else
			__asm__ volatile("tzcnt %1, %0" : "=r"(out) : "r"(in));
		rt_printf("sse: %s(%lx) = %lu\n", op, in, out);
		if (op[0] == 'l' ? (out != 59 && (out != 4 || advertised)) : out != 4)
			rt_fail("sse: %s gave %lu", op, out);
	} else if (rt_streq(op, "movbe")) {
		uint32_t in = 0x11223344, out = 0;
		__asm__ volatile("movbe %1, %0" : "=r"(out) : "m"(in));
		rt_printf("sse: movbe(%x) = %x\n", in, out);
		if (out != 0x44332211)
			rt_fail("sse: movbe gave %x", out);
	} else if (rt_streq(op, "crc32")) {
		uint32_t crc = 0xffffffff;
		uint8_t byte = 'a';
		__asm__ volatile("crc32b %1, %0" : "+r"(crc) : "r"(byte));
		rt_printf("sse: crc32c step = %x\n", crc);
		if (crc != 0x3e2fbccf) /* CRC-32C register after 'a' from ~0 (not inverted) */
			rt_fail("sse: crc32 gave %x", crc);
	} else if (rt_streq(op, "cmpxchg16b")) {
		static volatile uint64_t pair[2] __attribute__((aligned(16))) = { 1, 2 };
		uint64_t lo = 1, hi = 2, nlo = 3, nhi = 4;
		uint8_t ok;
		__asm__ volatile("lock cmpxchg16b %1; sete %0"
				 : "=q"(ok), "+m"(*pair), "+a"(lo), "+d"(hi) : "b"(nlo), "c"(nhi) : "memory");
		rt_printf("sse: cmpxchg16b ok %u, memory %lx %lx\n", ok, pair[0], pair[1]);
		if (!ok || pair[0] != 3 || pair[1] != 4)
			rt_fail("sse: cmpxchg16b did not swap");
	} else {
		rt_fail("sse: unknown op '%s'", op);
	}
	rt_puts("sse: PASS\n");
	return 0;
}
