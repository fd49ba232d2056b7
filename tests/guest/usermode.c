/* Guest user space: enters ring 3 with IRETQ and makes a SYSCALL, the way a
 * Linux /init does. Passes when the SYSCALL reaches the kernel entry in ring 0
 * (RCX = the user RIP, R11 = the user RFLAGS) and SYSRETQ returns to ring 3;
 * a #PF taken at the entry from ring 3 is the failure seen on kvm_pvm. The
 * first SYSCALL sets the FS base (MSR_FS_BASE, as arch_prctl(ARCH_SET_FS) does
 * without FSGSBASE) and user code then reads its TLS word through %fs: a guest
 * process once read its TLS at address 0 on kvm_pvm. */
#include "rt.h"

#define MSR_EFER   0xc0000080
#define MSR_STAR   0xc0000081
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084
#define MSR_FS_BASE 0xc0000100
#define TLS_WORD   (USER_BASE + 0x800)
#define TLS_MAGIC  0x1122334455667788ull
#define USER_BASE  0x400000ul    /* a 2 MiB page mapped for ring 3 */
#define USER_STACK 0x5ff000ul
#define K_CS 0x08
#define U_DS (0x20 | 3)
#define U_CS (0x28 | 3)
#define TSS_SEL 0x30

static uint64_t gdt[8] __attribute__((aligned(16)));
static uint8_t tss[104] __attribute__((aligned(16)));
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[4][512] __attribute__((aligned(4096)));
static uint8_t kstack[8192] __attribute__((aligned(16)));
uint64_t um_kstack_top = (uint64_t)(kstack + sizeof(kstack));
static volatile unsigned syscalls;

/* The kernel entry, on a supervisor-only page like Linux's entry_SYSCALL_64. */
void um_syscall_entry(void);
__asm__(".text\n.globl um_syscall_entry\num_syscall_entry:\n"
	"  swapgs\n"
	"  movq %rsp, %r12\n"
	"  movq um_kstack_top(%rip), %rsp\n"
	"  pushq %r12\n"
	"  pushq %rcx\n"
	"  pushq %r11\n"
	"  movq %rax, %rdi\n"
	"  movq %rcx, %rsi\n"
	"  movq %r11, %rdx\n"
	"  movw %cs, %cx\n"
	"  movzwq %cx, %rcx\n"
	"  call um_syscall\n"
	"  popq %r11\n"
	"  popq %rcx\n"
	"  popq %rsp\n"
	"  swapgs\n"
	"  sysretq\n");

uint64_t um_syscall(uint64_t nr, uint64_t user_rip, uint64_t user_flags, uint64_t cs);
uint64_t um_syscall(uint64_t nr, uint64_t user_rip, uint64_t user_flags, uint64_t cs)
{
	syscalls++;
	rt_printf("usermode: syscall %lu in ring %lu, rcx %lx, r11 %lx\n", nr, cs & 3, user_rip,
		  user_flags);
	if (cs & 3)
		rt_fail("usermode: the syscall entry runs in ring %lu", cs & 3);
	if (user_rip < USER_BASE || user_rip >= USER_BASE + 0x1000)
		rt_fail("usermode: rcx %lx is not the user return address", user_rip);
	if (nr == 7) { /* arch_prctl(ARCH_SET_FS) as Linux does it without FSGSBASE */
		__asm__ volatile("mov %0, %%fs" : : "r"(0) : "memory");
		rt_wrmsr(MSR_FS_BASE, TLS_WORD);
	}
	if (nr == 60) { /* exit */
		rt_printf("usermode: %u syscalls, SYSRETQ worked in between\n", syscalls);
		rt_puts("usermode: PASS\n");
		rt_exit(0);
	}
	return nr + 1;
}

static void page_fault(struct rt_frame *f)
{
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	rt_printf("usermode: #PF at rip %lx cr2 %lx error %lx from ring %lu (rcx %lx r11 %lx rflags %lx ss %lx)\n",
		  f->rip, cr2, f->error, f->cs & 3, f->rcx, f->r11, f->rflags, f->ss);
	if (f->rip == (uint64_t)um_syscall_entry && (f->cs & 3))
		rt_fail("usermode: SYSCALL stayed in ring 3 (the kvm_pvm failure)");
	rt_fail("usermode: unexpected page fault");
}

static void set_tss_desc(void)
{
	uint64_t base = (uint64_t)tss, limit = sizeof(tss) - 1;
	gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		 ((limit >> 16 & 0xf) << 48) | ((base >> 24 & 0xff) << 56);
	gdt[7] = base >> 32;
	uint64_t rsp0 = um_kstack_top;
	__builtin_memcpy(tss + 4, &rsp0, 8);
}

int guest_main(void)
{
	/* user code: mov $7,%eax; syscall; mov %eax,%edi... simply: syscall twice, then exit */
	static const uint8_t code[] = {
		0xb8, 0x07, 0x00, 0x00, 0x00, /* mov $7, %eax */
		0x0f, 0x05,                   /* syscall      */
		0x83, 0xf8, 0x08,             /* cmp $8, %eax (the kernel returned nr + 1) */
		0x75, 0xfe,                   /* jne .        (hang: the test times out) */
		0x64, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, /* mov %fs:0, %rax */
		0x48, 0xbb, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, /* movabs $TLS_MAGIC, %rbx */
		0x48, 0x39, 0xd8,             /* cmp %rbx, %rax */
		0x75, 0xfe,                   /* jne .        (a lost FS base: the test times out) */
		0xb8, 0x3c, 0x00, 0x00, 0x00, /* mov $60, %eax */
		0x0f, 0x05,                   /* syscall      */
		0xeb, 0xfe,                   /* jmp .        */
	};
	/* Page tables: everything supervisor-only but the user 2 MiB page. */
	pml4[0] = (uint64_t)pdpt | 7;
	for (int i = 0; i < 4; i++) {
		pdpt[i] = (uint64_t)pd[i] | 7;
		for (int j = 0; j < 512; j++)
			pd[i][j] = ((uint64_t)(i * 512 + j) << 21) | 0x83;
	}
	pd[0][USER_BASE >> 21] |= 4;
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	__builtin_memcpy((void *)USER_BASE, code, sizeof(code));
	*(volatile uint64_t *)TLS_WORD = TLS_MAGIC;

	gdt[1] = 0x00af9a000000ffffull; /* 0x08 kernel code64 */
	gdt[2] = 0x00cf92000000ffffull; /* 0x10 kernel data */
	gdt[3] = 0x00cffa000000ffffull; /* 0x18 user code32 (SYSRET base) */
	gdt[4] = 0x00cff2000000ffffull; /* 0x20 user data */
	gdt[5] = 0x00affa000000ffffull; /* 0x28 user code64 */
	set_tss_desc();
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gd = {sizeof(gdt) - 1, (uint64_t)gdt};
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\tleaq 1f(%%rip), %%rax\n\tpushq %%rax\n\tlretq\n1:\n\t"
			 "movw $0x10, %%ax\n\tmovw %%ax, %%ds\n\tmovw %%ax, %%ss\n\t"
			 "movw %1, %%ax\n\tltr %%ax" : : "m"(gd), "i"(TSS_SEL) : "rax", "memory");
	idt_init();
	idt_set_handler(14, page_fault);

	rt_wrmsr(MSR_EFER, rt_rdmsr(MSR_EFER) | 1); /* SCE */
	rt_wrmsr(MSR_STAR, (0x18ull << 48) | ((uint64_t)K_CS << 32));
	rt_wrmsr(MSR_LSTAR, (uint64_t)um_syscall_entry);
	rt_wrmsr(MSR_FMASK, 0x700);
	rt_printf("usermode: entering ring 3 at %lx, LSTAR %lx\n", USER_BASE, (uint64_t)um_syscall_entry);
	__asm__ volatile("pushq %0\n\tpushq %1\n\tpushq $0x2\n\tpushq %2\n\tpushq %3\n\tiretq"
			 : : "i"(U_DS), "r"(USER_STACK), "i"(U_CS), "r"(USER_BASE) : "memory");
	return 1;
}
