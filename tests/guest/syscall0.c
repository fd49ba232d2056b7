/* SYSCALL from ring 0, which is architecturally valid (Intel SDM vol. 2,
 * SYSCALL): RCX = the next RIP, R11 = RFLAGS, RFLAGS &= ~SFMASK, CS and SS from
 * STAR[47:32] (CPL stays 0), RIP = LSTAR. The entry records what it got and
 * returns with popfq + jmp *%rcx (SYSRET would go to ring 3). Under strata-vm's
 * nested profile LSTAR points at the SYSCALL trampoline, where a SYSCALL from
 * ring 0 must be completed too (src/vm/pvm_syscall.c). rounds=N (default 3). */
#include "rt.h"

#define MSR_EFER  0xc0000080
#define MSR_STAR  0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define K_CS 0x08 /* rt's GDT: 64-bit code, then flat data at 0x10 */
#define RFLAGS_DF (1ul << 10)
#define RFLAGS_AC (1ul << 18)
#define RFLAGS_ID (1ul << 21)

struct seen { uint64_t rcx, r11, rflags, cs, ss, rsp, rax; };
volatile struct seen seen;
volatile unsigned entries;

void s0_entry(void);
__asm__(".text\n.globl s0_entry\ns0_entry:\n"
	"  movq %rcx, seen+0(%rip)\n"
	"  movq %r11, seen+8(%rip)\n"
	"  pushfq\n"
	"  popq seen+16(%rip)\n"
	"  movq $0, seen+24(%rip)\n"
	"  movw %cs, seen+24(%rip)\n"
	"  movq $0, seen+32(%rip)\n"
	"  movw %ss, seen+32(%rip)\n"
	"  movq %rsp, seen+40(%rip)\n"
	"  movq %rax, seen+48(%rip)\n"
	"  incl entries(%rip)\n"
	"  pushq %r11\n"
	"  popfq\n"
	"  jmp *%rcx\n");

/* SYSCALL with RAX = nr and RFLAGS = flags; returns the RIP after it. */
static uint64_t do_syscall(uint64_t nr, uint64_t flags)
{
	uint64_t after;
	__asm__ volatile("pushfq\n\t"
			 "pushq %[fl]\n\t"
			 "popfq\n\t"
			 "leaq 1f(%%rip), %[after]\n\t"
			 "syscall\n"
			 "1:\n\t"
			 "popfq"
			 : [after] "=&r"(after), "+a"(nr)
			 : [fl] "r"(flags)
			 : "rcx", "r11", "memory", "cc");
	return after;
}

int guest_main(void)
{
	idt_init();
	uint64_t efer = rt_rdmsr(MSR_EFER);
	rt_wrmsr(MSR_EFER, efer | 1); /* SCE */
	rt_wrmsr(MSR_STAR, (uint64_t)K_CS << 32);
	rt_wrmsr(MSR_LSTAR, (uint64_t)s0_entry);
	rt_wrmsr(MSR_FMASK, RFLAGS_DF | RFLAGS_AC);
	if (rt_rdmsr(MSR_LSTAR) != (uint64_t)s0_entry)
		rt_fail("syscall0: LSTAR reads %lx, wrote %p", rt_rdmsr(MSR_LSTAR), (void *)s0_entry);
	unsigned rounds = (unsigned)rt_cmdline_u64("rounds", 3);
	for (unsigned i = 0; i < rounds; i++) {
		/* no arithmetic flags: QEMU TCG's SYSCALL loses them (R11 keeps them) */
		uint64_t flags = 0x2 | RFLAGS_DF | RFLAGS_AC | (i & 1 ? RFLAGS_ID : 0);
		unsigned before = entries;
		uint64_t after = do_syscall(100 + i, flags);
		if (entries != before + 1)
			rt_fail("syscall0: round %u: the entry ran %u times", i, entries - before);
		rt_printf("syscall0: round %u: rcx=%lx r11=%lx rflags=%lx cs=%lx ss=%lx rax=%lu\n", i,
			  seen.rcx, seen.r11, seen.rflags, seen.cs, seen.ss, seen.rax);
		if (seen.rcx != after)
			rt_fail("syscall0: RCX %lx, expected the next RIP %lx", seen.rcx, after);
		if ((seen.r11 & ~0x10000ul) != flags) /* RF may read either way */
			rt_fail("syscall0: R11 %lx, expected RFLAGS %lx", seen.r11, flags);
		if (seen.rflags != (flags & ~(RFLAGS_DF | RFLAGS_AC)))
			rt_fail("syscall0: RFLAGS in the entry %lx, expected %lx", seen.rflags,
				flags & ~(RFLAGS_DF | RFLAGS_AC));
		if (seen.cs != K_CS || seen.ss != K_CS + 8)
			rt_fail("syscall0: CS:SS %lx:%lx, expected %x:%x", seen.cs, seen.ss, K_CS, K_CS + 8);
		if (seen.rax != 100 + i)
			rt_fail("syscall0: RAX %lu in the entry, expected %u", seen.rax, 100 + i);
	}
	rt_printf("syscall0: %u SYSCALLs from ring 0 completed\n", rounds);
	rt_puts("syscall0: PASS\n");
	return 0;
}
