/* Guest user space: enters ring 3 with IRETQ and makes SYSCALLs, the way a
 * Linux /init does. Passes when the SYSCALL reaches the kernel entry in ring 0
 * (RCX = the user RIP, R11 = the user RFLAGS) and SYSRETQ returns to ring 3;
 * a #PF taken at the entry from ring 3 is the failure seen on kvm_pvm.
 * Guest processes on kvm_pvm have died reading a TLS word as 0, so the user
 * program sets its FS base by SYSCALL (MSR_FS_BASE after a
 * null FS selector, as arch_prctl(ARCH_SET_FS) does without FSGSBASE), turn
 * by turn to one of two TLS words, and reads it back through %fs while a
 * periodic LAPIC timer interrupts ring 3 (IRETQ back); each interrupt from
 * ring 3 also checks the FS selector and base the kernel sees, as Linux's
 * context switch reads them. Then ring-3 memory: mem_mib of 2 MiB pages
 * written and read back, and dp_mib of 4 KiB pages demand-paged as Linux does
 * for a process (see dp_fault), mem_rounds times each: a guest process on
 * kvm_pvm once read zeros where its TLS block had been written. smp=1 (with
 * two vCPUs) runs the program on both CPUs at once, on one page table: each
 * CPU has its own TSS, kernel stack (found through swapgs) and FS base, and
 * the demand-paged pages are interleaved between them, so both CPUs' #PF
 * handlers write PTEs of the same page-table pages while the other runs ring
 * 3 code on their neighbours; they swap pages every round (a barrier and a
 * local TLB flush stand for Linux's shootdown). Command line: tls_rounds=N
 * (default 40), tls_spin=N (user-mode reads per round, default 200000),
 * tls_timer=N (LAPIC timer count), mem_mib, dp_mib, mem_rounds, smp. */
#include "rt.h"

#define MSR_EFER   0xc0000080
#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084
#define MSR_FS_BASE 0xc0000100
#define TLS_WORD   (USER_BASE + 0x800)  /* and TLS_WORD + 0x100: MAGIC + 1 */
#define TLS_MAGIC  0x1122334455667788ull
#define LAPIC_TIMER_VECTOR 0x2c
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0
#define LVT_PERIODIC (1u << 17)
#define LVT_MASKED (1u << 16)
#define USER_BASE  0x400000ul    /* a 2 MiB page mapped for ring 3 */
#define USER_STACK 0x5ff000ul
#define K_CS 0x08
#define U_DS (0x20 | 3)
#define U_CS (0x28 | 3)
#define TSS_SEL 0x30

static uint64_t gdt[10] __attribute__((aligned(16)));
static uint8_t tss[2][104] __attribute__((aligned(16)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint8_t kstack[2][8192] __attribute__((aligned(16)));
struct um_cpu { uint64_t kstack_top, user_rsp, rounds, calls; }; /* kstack_top, user_rsp: %gs:0, %gs:8 */
static struct um_cpu cpus[2];
static volatile unsigned ap_done, ncpu = 1;
extern const char smp_trampoline[], smp_trampoline_end[];
extern uint32_t boot_cr3;
static unsigned cpu_index(void) { return lapic_id() == rt_acpi.apic_ids[0] ? 0 : 1; }
static volatile unsigned syscalls;
static volatile uint64_t fs_expected[2]; /* the base the last arch_prctl set */
static volatile unsigned ticks, user_ticks, bad_ticks;
static uint64_t rounds, spin, mem_mib, mem_rounds;
#define MEM_BASE 0x2000000ul         /* user memory the program checks, in 2 MiB pages */
/* Demand paging as Linux does it for a process: 4 KiB pages at DP_VA, mapped
 * by the #PF handler onto the next page of a pool (zeroed first, as
 * clear_page), all unmapped again by a munmap-like SYSCALL with a TLB flush,
 * so each round the same addresses land on other pages. */
#define DP_VA      0x8000000000ul
#define DP_POOL    0x6000000ul         /* 96 MiB: the pool, twice the region */
#define DP_MAX_MIB 8
static uint64_t dp_pdpt[512] __attribute__((aligned(4096)));
static uint64_t dp_pd[512] __attribute__((aligned(4096)));
static uint64_t dp_pt[DP_MAX_MIB / 2][512] __attribute__((aligned(4096)));
#define DP_ZERO    (DP_POOL + (16ul << 20)) /* the shared zero page, after the largest pool */
static uint64_t dp_mib, dp_next[2];
static volatile uint64_t dp_faults, dp_zero_maps, dp_cow;

/* As Linux for anonymous memory: a read maps the shared zero page read-only; a
 * write (first, or to the zero page) gets a fresh zeroed page, the PTE is
 * switched and the one stale TLB entry flushed with INVLPG. */
static bool dp_fault(uint64_t va, uint64_t error)
{
	if (va < DP_VA || va >= DP_VA + (dp_mib << 20))
		return false;
	uint64_t n = (va - DP_VA) >> 12, *pte = &dp_pt[n / 512][n % 512];
	if (!(error & 2)) { /* a read of a page never touched */
		*pte = DP_ZERO | 5;
		__atomic_add_fetch(&dp_zero_maps, 1, __ATOMIC_RELAXED);
		return true;
	}
	unsigned c = cpu_index();
	uint64_t pa = DP_POOL + (c * dp_mib * 256 + dp_next[c]++ % (dp_mib * 256)) * 4096, at = pa;
	uint64_t words = 512;
	__asm__ volatile("rep stosq" : "+D"(at), "+c"(words) : "a"(0ul) : "memory");
	bool was_zero_page = *pte & 1;
	*pte = pa | 7;
	if (was_zero_page) {
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
		__atomic_add_fetch(&dp_cow, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&dp_faults, 1, __ATOMIC_RELAXED);
	return true;
}

/* Round r: cpu c owns the pages whose index % ncpu == (c + r) % ncpu; at the
 * round's end it unmaps them, waits for the other cpu, and flushes its own
 * TLB (what a shootdown IPI would have done). */
static uint64_t dp_start(unsigned c) { return 4096 * ((c + cpus[c].rounds) % ncpu); }

static void dp_unmap(unsigned c)
{
	for (uint64_t i = dp_start(c) / 4096; i < dp_mib * 256; i += ncpu)
		dp_pt[i / 512][i % 512] = 0;
	__atomic_add_fetch(&cpus[c].rounds, 1, __ATOMIC_SEQ_CST);
	for (unsigned o = 0; o < ncpu; o++)
		while (__atomic_load_n(&cpus[o].rounds, __ATOMIC_SEQ_CST) < cpus[c].rounds)
			cpu_relax();
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0\n\tmov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* The kernel entry, on a supervisor-only page like Linux's entry_SYSCALL_64:
 * um_syscall(nr = RAX, arg0 = RDI, arg1 = RSI, user RIP, user RFLAGS, CS). */
void um_syscall_entry(void);
__asm__(".text\n.globl um_syscall_entry\num_syscall_entry:\n"
	"  swapgs\n"
	"  movq %rsp, %gs:8\n"
	"  movq %gs:0, %rsp\n"
	"  pushq %gs:8\n"
	"  pushq %rcx\n"
	"  pushq %r11\n"
	"  pushq %rdx\n"               /* arg2: the 7th argument, on the stack */
	"  movq %rsi, %rdx\n"
	"  movq %rdi, %rsi\n"
	"  movq %rax, %rdi\n"
	"  movq %r11, %r8\n"
	"  movw %cs, %r9w\n"
	"  movzwq %r9w, %r9\n"
	"  call um_syscall\n"
	"  addq $8, %rsp\n"
	"  popq %r11\n"
	"  popq %rcx\n"
	"  popq %rsp\n"
	"  swapgs\n"
	"  sysretq\n");

/* The user program, position-independent, copied to USER_BASE: rounds of
 * arch_prctl(slot) then spin reads of %fs:0, each checked; exit(60), or
 * report(99, got, expected) on a wrong read. */
extern const uint8_t um_user_code[], um_user_code_end[];
__asm__(".section .rodata\n.globl um_user_code, um_user_code_end\num_user_code:\n"
	"  movl $1, %eax\n"
	"  syscall\n"                  /* rounds */
	"  movq %rax, %r15\n"
	"  movl $2, %eax\n"
	"  syscall\n"                  /* spin reads per round */
	"  movq %rax, %r14\n"
	"1:movq %r15, %rdi\n"
	"  andl $1, %edi\n"
	"  movl $7, %eax\n"
	"  syscall\n"                  /* arch_prctl(ARCH_SET_FS, slot) */
	"  cmpl $8, %eax\n"
	"  jne 9f\n"
	"  movq %r15, %rbx\n"
	"  andl $1, %ebx\n"
	"  movabsq $0x1122334455667788, %rax\n"
	"  addq %rax, %rbx\n"          /* the word expected through %fs */
	"  movq %r14, %rcx\n"
	"2:movq %fs:0, %rax\n"
	"  cmpq %rbx, %rax\n"
	"  jne 8f\n"
	"  decq %rcx\n"
	"  jnz 2b\n"
	"  decq %r15\n"
	"  jnz 1b\n"
	"  movl $3, %eax\n"
	"  syscall\n"                  /* bytes of user memory to check, at MEM_BASE */
	"  testq %rax, %rax\n"
	"  jz 7f\n"
	"  movq %rax, %r13\n"
	"  movl $4, %eax\n"
	"  syscall\n"                  /* rounds over it */
	"  movq %rax, %r15\n"
	"5:movabsq $0x9e3779b97f4a7c15, %r8\n"
	"  movq %r15, %rdx\n"
	"  imulq %r8, %rdx\n"          /* this round's key */
	"  movq $0x2000000, %rdi\n"
	"  leaq (%rdi,%r13), %rsi\n"
	"6:movq %rdi, %rax\n"
	"  xorq %rdx, %rax\n"
	"  movq %rax, (%rdi)\n"
	"  addq $8, %rdi\n"
	"  cmpq %rsi, %rdi\n"
	"  jb 6b\n"
	"  movq $0x2000000, %rdi\n"
	"4:movq %rdi, %rax\n"
	"  xorq %rdx, %rax\n"
	"  cmpq %rax, (%rdi)\n"
	"  jne 3f\n"
	"  addq $8, %rdi\n"
	"  cmpq %rsi, %rdi\n"
	"  jb 4b\n"
	"  decq %r15\n"
	"  jnz 5b\n"
	"7:movl $5, %eax\n"
	"  syscall\n"                  /* bytes of demand-paged memory at DP_VA */
	"  testq %rax, %rax\n"
	"  jz 10f\n"
	"  movq %rax, %r13\n"
	"  movl $4, %eax\n"
	"  syscall\n"
	"  movq %rax, %r15\n"
	"11:movl $10, %eax\n"
	"  syscall\n"
	"  movq %rax, %r12\n"          /* stride */
	"  movl $9, %eax\n"
	"  syscall\n"
	"  movq %rax, %rbx\n"          /* this round's first page */
	"  movabsq $0x9e3779b97f4a7c15, %r8\n"
	"  movq %r15, %rdx\n"
	"  imulq %r8, %rdx\n"
	"  movabsq $0x8000000000, %rdi\n"
	"  leaq (%rdi,%r13), %rsi\n"
	"  addq %rbx, %rdi\n"
	"12:testq $8192, %rdi\n"        /* every other pair of pages: read first (the zero page), then written */
	"  jz 15f\n"
	"  xorl %eax, %eax\n"
	"  cmpq %rax, 8(%rdi)\n"
	"  jne 16f\n"
	"15:movq %rdi, %rax\n"          /* first and last word of each page */
	"  xorq %rdx, %rax\n"
	"  movq %rax, (%rdi)\n"
	"  movq %rax, 4088(%rdi)\n"
	"  addq %r12, %rdi\n"
	"  cmpq %rsi, %rdi\n"
	"  jb 12b\n"
	"  movabsq $0x8000000000, %rdi\n"
	"  addq %rbx, %rdi\n"
	"13:movq %rdi, %rax\n"
	"  xorq %rdx, %rax\n"
	"  cmpq %rax, (%rdi)\n"
	"  jne 3f\n"
	"  cmpq %rax, 4088(%rdi)\n"
	"  jne 14f\n"
	"  addq %r12, %rdi\n"
	"  cmpq %rsi, %rdi\n"
	"  jb 13b\n"
	"  movl $6, %eax\n"
	"  syscall\n"                  /* munmap: the next round gets other pages */
	"  decq %r15\n"
	"  jnz 11b\n"
	"10:movl $60, %eax\n"
	"  syscall\n"
	"  jmp .\n"
	"16:addq $8, %rdi\n"
	"  jmp 3f\n"
	"14:addq $4088, %rdi\n"
	"3:movq (%rdi), %rsi\n"
	"  movq %rax, %rdx\n"
	"  movl $98, %eax\n"
	"  syscall\n"                  /* report(98, address, got, expected) */
	"  jmp .\n"
	"8:movq %rax, %rdi\n"
	"  movq %rbx, %rsi\n"
	"  movl $99, %eax\n"
	"  syscall\n"
	"9:jmp 9b\n"                   /* hang: the test times out */
	"um_user_code_end:\n.text\n");

uint64_t um_syscall(uint64_t nr, uint64_t arg0, uint64_t arg1, uint64_t user_rip, uint64_t user_flags,
		    uint64_t cs, uint64_t arg2);
uint64_t um_syscall(uint64_t nr, uint64_t arg0, uint64_t arg1, uint64_t user_rip, uint64_t user_flags,
		    uint64_t cs, uint64_t arg2)
{
	unsigned c = cpu_index();
	/* cpu 0 speaks for both: lines from two cpus at once interleave */
	__atomic_add_fetch(&syscalls, 1, __ATOMIC_RELAXED);
	if (!c && (cpus[0].calls++ < 3 || (nr != 7 && nr != 6 && nr != 9 && nr != 10)))
		rt_printf("usermode: syscall %lu in ring %lu, rcx %lx, r11 %lx\n", nr, cs & 3, user_rip,
			  user_flags);
	if (cs & 3)
		rt_fail("usermode: the syscall entry runs in ring %lu", cs & 3);
	if (user_rip < USER_BASE || user_rip >= USER_BASE + 0x1000)
		rt_fail("usermode: rcx %lx is not the user return address", user_rip);
	switch (nr) {
	case 1: return rounds;
	case 2: return spin;
	case 7: /* arch_prctl(ARCH_SET_FS) as Linux does it without FSGSBASE */
		fs_expected[c] = TLS_WORD + 0x100 * (arg0 & 1);
		__asm__ volatile("mov %0, %%fs" : : "r"(0) : "memory");
		rt_wrmsr(MSR_FS_BASE, fs_expected[c]);
		return 8;
	case 3: return c ? 0 : mem_mib << 20;
	case 9: return dp_start(c);
	case 10: return 4096 * ncpu;
	case 5: return dp_mib << 20;
	case 6: dp_unmap(c); return 0;
	case 4: return mem_rounds;
	case 98:
		rt_fail("usermode: ring 3 read %lx at %lx, expected %lx: a write to guest memory was lost",
			arg1, arg0, arg2);
	case 60:
		if (c) {
			__atomic_store_n(&ap_done, 1, __ATOMIC_SEQ_CST);
			for (;;)
				__asm__ volatile("cli; hlt");
		}
		while (ncpu > 1 && !__atomic_load_n(&ap_done, __ATOMIC_SEQ_CST))
			cpu_relax();
		mmio_write32(rt_acpi.lapic_addr + LAPIC_LVT_TIMER, LVT_MASKED);
		rt_printf("usermode: %u syscalls, SYSRETQ worked in between; %lu rounds of %lu TLS reads\n",
			  syscalls, rounds, spin);
		rt_printf("usermode: %u timer interrupts, %u from ring 3, %u saw a wrong FS\n", ticks,
			  user_ticks, bad_ticks);
		if (dp_mib)
			rt_printf("usermode: %lu MiB demand-paged %lu times (%lu pages from ring-3 faults, "
				  "%lu zero-page maps, %lu copy-on-write breaks)\n", dp_mib, mem_rounds, dp_faults,
				  dp_zero_maps, dp_cow);
		if (mem_mib)
			rt_printf("usermode: %lu MiB of user memory written and read back %lu times\n", mem_mib,
				  mem_rounds);
		rt_printf("usermode: %u cpu(s) ran the program in ring 3\n", ncpu);
		if (bad_ticks)
			rt_fail("usermode: the kernel saw a wrong FS selector or base");
		rt_puts("usermode: PASS\n");
		rt_exit(0);
	case 99:
		rt_fail("usermode: ring 3 read %lx through %%fs, expected %lx (FS base now %lx, set %lx)",
			arg0, arg1, rt_rdmsr(MSR_FS_BASE), fs_expected[c]);
	}
	return nr + 1;
}

/* An interrupt from ring 3 sees what Linux's context switch would save. */
static void timer_irq(struct rt_frame *f)
{
	ticks++;
	if ((f->cs & 3) != 3)
		return;
	user_ticks++;
	uint16_t sel;
	__asm__ volatile("mov %%fs, %0" : "=r"(sel));
	uint64_t base = rt_rdmsr(MSR_FS_BASE);
	unsigned c = cpu_index();
	if (sel == 0 && base == fs_expected[c])
		return;
	if (!bad_ticks++)
		rt_printf("usermode: interrupt from ring 3 at %lx: FS selector %x base %lx, expected 0 and %lx\n",
			  f->rip, sel, base, fs_expected[c]);
}

static void page_fault(struct rt_frame *f)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	if ((f->cs & 3) == 3 && dp_fault(cr2, f->error))
		return;
	rt_printf("usermode: #PF at rip %lx cr2 %lx error %lx from ring %lu (rcx %lx r11 %lx rflags %lx ss %lx)\n",
		  f->rip, cr2, f->error, f->cs & 3, f->rcx, f->r11, f->rflags, f->ss);
	if (f->rip == (uint64_t)um_syscall_entry && (f->cs & 3))
		rt_fail("usermode: SYSCALL stayed in ring 3 (the kvm_pvm failure)");
	rt_fail("usermode: unexpected page fault");
}

static void set_tss_desc(unsigned c)
{
	uint64_t base = (uint64_t)tss[c], limit = sizeof(tss[c]) - 1;
	gdt[6 + 2 * c] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
			 ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	gdt[7 + 2 * c] = base >> 32;
	cpus[c].kstack_top = (uint64_t)(kstack[c] + sizeof(kstack[c]));
	__builtin_memcpy(tss[c] + 4, &cpus[c].kstack_top, 8);
}

/* This cpu's half of the set-up, then ring 3 (does not return). */
static void enter_user(unsigned c)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gd = {sizeof(gdt) - 1, (uint64_t)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\tleaq 1f(%%rip), %%rax\n\tpushq %%rax\n\tlretq\n1:\n\t"
			 "movw $0x10, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%ss\n\t"
			 "movw %1, %%ax\n\tltr %%ax" : : "m"(gd), "r"((uint16_t)(TSS_SEL + 16 * c)) : "rax", "memory");
	lapic_enable();
	mmio_write32(rt_acpi.lapic_addr + LAPIC_TIMER_DIV, 0x3); /* divide by 16 */
	mmio_write32(rt_acpi.lapic_addr + LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR | LVT_PERIODIC);
	mmio_write32(rt_acpi.lapic_addr + LAPIC_TIMER_INIT, (uint32_t)rt_cmdline_u64("tls_timer", 400000));
	rt_wrmsr(MSR_EFER, rt_rdmsr(MSR_EFER) | 1); /* SCE */
	rt_wrmsr(MSR_STAR, (0x18ull << 48) | ((uint64_t)K_CS << 32));
	rt_wrmsr(MSR_LSTAR, (uint64_t)um_syscall_entry);
	/* on kvm_pvm the VMM moves LSTAR to its trampoline: the guest must not see it */
	if (rt_rdmsr(MSR_LSTAR) != (uint64_t)um_syscall_entry)
		rt_fail("usermode: LSTAR reads back %lx, not the entry written", rt_rdmsr(MSR_LSTAR));
	rt_wrmsr(MSR_FMASK, 0x700);
	/* no exit to the VMM from here to the first SYSCALL on cpu 1 */
	__asm__ volatile("mov %0, %%fs\n\tmov %0, %%gs" : : "r"(0) : "memory");
	rt_wrmsr(MSR_FS_BASE, 0);
	rt_wrmsr(0xc0000101, 0);                 /* GS base (user) */
	rt_wrmsr(0xc0000102, (uint64_t)&cpus[c]); /* kernel GS base: swapgs finds cpus[c] */
	if (!c)
		rt_printf("usermode: entering ring 3 at %lx on %u cpu(s)\n", USER_BASE, ncpu);
	__asm__ volatile("pushq %0\n\tpushq %1\n\tpushq $0x202\n\tpushq %2\n\tpushq %3\n\tiretq"
			 : : "i"(U_DS), "r"(USER_STACK - 0x10000 * c), "i"(U_CS), "r"(USER_BASE) : "memory");
	__builtin_unreachable();
}

void ap_main(uint32_t index);
void ap_main(uint32_t index)
{
	(void)index;
	idt_load();
	enter_user(1);
}

int guest_main(void)
{
	rounds = rt_cmdline_u64("tls_rounds", 40);
	spin = rt_cmdline_u64("tls_spin", 200000);
	mem_mib = rt_cmdline_u64("mem_mib", 0) & ~1ull;
	mem_rounds = rt_cmdline_u64("mem_rounds", 100);
	dp_mib = rt_cmdline_u64("dp_mib", 0) & ~1ull;
	if (!rounds || !spin || !mem_rounds || mem_mib > (DP_POOL - MEM_BASE) >> 20 || dp_mib > DP_MAX_MIB)
		rt_fail("usermode: tls_rounds, tls_spin and mem_rounds must be > 0, mem_mib <= 64, dp_mib <= 8");
	/* Page tables: everything supervisor-only but the user 2 MiB page. */
	pml4[0] = (uint64_t)pdpt | 7;
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (uint64_t)pd[i] | 7;
		for (int j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | 0x83;
	}
	pd[0][USER_BASE >> 21] |= 4;
	for (uint64_t i = 0; i < mem_mib / 2; i++)
		pd[0][(MEM_BASE >> 21) + i] |= 4;
	pml4[1] = (uint64_t)dp_pdpt | 7;
	dp_pdpt[0] = (uint64_t)dp_pd | 7;
	for (uint64_t i = 0; i < DP_MAX_MIB / 2; i++)
		dp_pd[i] = (uint64_t)dp_pt[i] | 7;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	__builtin_memcpy((void *)USER_BASE, um_user_code, (size_t)(um_user_code_end - um_user_code));
	*(volatile uint64_t *)TLS_WORD = TLS_MAGIC;
	*(volatile uint64_t *)(TLS_WORD + 0x100) = TLS_MAGIC + 1;

	gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code64 */
	gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
	gdt[3] = 0x00cffa000000ffffull; /* 0x18 user code32 (SYSRET base) */
	gdt[4] = 0x00cff2000000ffffull; /* 0x20 user data */
	gdt[5] = 0x00affa000000ffffull; /* 0x28 user code64 */
	set_tss_desc(0);
	set_tss_desc(1);
	idt_init();
	idt_set_handler(14, page_fault);
	if (acpi_init() < 0)
		rt_fail("usermode: needs the MADT");
	pic_mask_all();
	lapic_enable();
	idt_set_handler(LAPIC_TIMER_VECTOR, timer_irq);
	if (rt_acpi.ncpus > 1 && rt_cmdline_u64("smp", 0)) { /* wake cpu 1 as smp.c does */
		ncpu = 2;
		uint64_t cr3;
		__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
		boot_cr3 = (uint32_t)cr3;
		memcpy((void *)0x8000, smp_trampoline, (size_t)(smp_trampoline_end - smp_trampoline));
		lapic_send_ipi(rt_acpi.apic_ids[1], 0x4500);
		rt_udelay(10000);
		lapic_send_ipi(rt_acpi.apic_ids[1], 0x4600 | 0x08);
		rt_udelay(1000);
		lapic_send_ipi(rt_acpi.apic_ids[1], 0x4600 | 0x08);
	}
	enter_user(0);
	return 1;
}
