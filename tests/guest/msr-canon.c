/* WRMSR of a non-canonical address to the MSRs that hold one (LSTAR, CSTAR,
 * KERNEL_GS_BASE, FS_BASE, GS_BASE) must raise #GP and leave the MSR as it
 * was, as the CPU does; a canonical value must go in. Canonical means for the
 * CPU's linear-address width: 57 bits when CPUID has LA57, else 48 (Intel SDM
 * vol. 3, 4.1.4 and WRMSR). Under strata-vm's nested profile LSTAR writes exit
 * to the VMM (the SYSCALL trampoline, src/vm/pvm_syscall.c), which must make
 * the same check. Command line: msr=NAME tests only that one. */
#include "rt.h"

static volatile unsigned gp_count;

/* #GP from a WRMSR: note it and step over the 2-byte instruction. */
static void gp_handler(struct rt_frame *f)
{
	const uint8_t *ip = (const uint8_t *)f->rip;
	if (ip[0] != 0x0f || ip[1] != 0x30)
		rt_fail("msr-canon: #GP at %lx, not a wrmsr (error %lx)", f->rip, f->error);
	gp_count++;
	f->rip += 2;
}

/* true when the write faulted */
static bool wrmsr_faults(uint32_t msr, uint64_t v)
{
	unsigned before = gp_count;
	rt_wrmsr(msr, v);
	return gp_count != before;
}

static const struct {
	const char *name;
	uint32_t msr;
} msrs[] = {
	{"lstar", 0xc0000082},          {"cstar", 0xc0000083},
	{"kernel_gs_base", 0xc0000102}, {"fs_base", 0xc0000100},
	{"gs_base", 0xc0000101},
};

static unsigned check(const char *name, uint32_t msr, unsigned width)
{
	unsigned bad = 0;
	const uint64_t good = 0xffffffff81234000ull, old = rt_rdmsr(msr);
	/* non-canonical at either width; canonical only at 57 bits; canonical */
	const struct { uint64_t v; bool gp; } cases[] = {
		{0xaaaaaaaaaaaaaaaaull, true},
		{0x0000800000000000ull, width == 48},
		{0xffaaaaaaaaaaaaaaull, width == 48},
		{0x0100000000000000ull, true},
		{good, false},
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = cases[i].v, prev = rt_rdmsr(msr);
		bool gp = wrmsr_faults(msr, v);
		uint64_t now = rt_rdmsr(msr);
		if (gp != cases[i].gp) {
			rt_printf("FAIL: msr-canon: %s <- %lx: %s, expected %s\n", name, v,
				  gp ? "#GP" : "accepted", cases[i].gp ? "#GP" : "no fault");
			bad++;
		} else if (gp && now != prev) {
			rt_printf("FAIL: msr-canon: %s <- %lx faulted but the MSR changed to %lx\n", name, v, now);
			bad++;
		} else if (!gp && now != v) {
			rt_printf("FAIL: msr-canon: %s <- %lx reads back %lx\n", name, v, now);
			bad++;
		}
	}
	rt_wrmsr(msr, old);
	rt_printf("msr-canon: %s checked (%u wrong)\n", name, bad);
	return bad;
}

int guest_main(void)
{
	idt_init();
	idt_set_handler(13, gp_handler);
	uint32_t r[4];
	rt_cpuid(7, 0, r);
	unsigned width = (r[2] >> 16) & 1 ? 57 : 48;
	rt_printf("msr-canon: linear addresses are %u bits\n", width);
	char only[32] = "";
	rt_cmdline_get("msr", only, sizeof(only));
	unsigned bad = 0, done = 0;
	for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		if (only[0] && !rt_streq(only, msrs[i].name))
			continue;
		bad += check(msrs[i].name, msrs[i].msr, width);
		done++;
	}
	if (!done)
		rt_fail("msr-canon: no MSR named '%s'", only);
	if (bad)
		rt_fail("msr-canon: %u wrong answers", bad);
	rt_puts("msr-canon: PASS\n");
	return 0;
}
