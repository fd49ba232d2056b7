/* PVH entry (XEN_ELFNOTE_PHYS32_ENTRY, the note is in pvh.S): 32-bit
 * protected mode, paging off, EBX = hvm_start_info. Switches to long mode on
 * static identity-mapped page tables (low 4 GiB in 2 MiB pages) and calls
 * rt_start(start_info). The multiboot guest enters at rt_mb_start instead
 * (multiboot.S), with EAX = 0x2badb002 and EBX = the multiboot info. */

#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	movl %ebx, rt_start_info_paddr
	movl $boot_stack_top, %esp
	call enter_long_mode
	ljmp $0x08, $long_entry

	.globl rt_mb_start
rt_mb_start:
	cli
	cld
	movl %eax, rt_multiboot_magic
	movl %ebx, rt_multiboot_info
	movl $boot_stack_top, %esp
	call enter_long_mode
	ljmp $0x08, $long_entry

/* Shared by the BSP and the APs (the SMP guest's trampoline jumps to
 * rt_ap_pm32 in 32-bit protected mode). */
	.globl enter_long_mode
enter_long_mode:
	lgdt rt_gdt_desc
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ret

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	movl rt_start_info_paddr, %edi
	call rt_start
1:	cli
	hlt
	jmp 1b

/* Interrupt stubs: 16 bytes each, so the IDT code finds stub v at
 * rt_isr_stubs + 16 * v. Vectors with a CPU error code skip the dummy push. */
	.p2align 4
	.globl rt_isr_stubs
rt_isr_stubs:
	.set vec, 0
	.rept 48
	.p2align 4
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call rt_isr_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.data
	.p2align 3
	.globl rt_gdt
rt_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff        /* 0x10: flat data */
	.quad 0x00cf9a000000ffff        /* 0x18: 32-bit code (AP trampoline) */
rt_gdt_end:
	.globl rt_gdt_desc
rt_gdt_desc:
	.word rt_gdt_end - rt_gdt - 1
	.quad rt_gdt

	.globl rt_start_info_paddr, rt_multiboot_magic, rt_multiboot_info
rt_start_info_paddr:
	.long 0
rt_multiboot_magic:
	.long 0
rt_multiboot_info:
	.long 0

	.p2align 12
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + 0x3
	.quad pd + 0x1000 + 0x3
	.quad pd + 0x2000 + 0x3
	.quad pd + 0x3000 + 0x3
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 2048
	.quad (page << 21) | 0x83       /* present, writable, 2 MiB */
	.set page, page + 1
	.endr

	.bss
	.p2align 12
boot_stack:
	.skip 16384
boot_stack_top:
