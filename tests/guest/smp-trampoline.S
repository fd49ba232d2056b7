/* AP start-up: real-mode code copied below 1 MiB (the SIPI vector page),
 * which loads the runtime's GDT, enters protected mode and jumps to
 * ap_pm32; that enters long mode on the BSP's page tables, takes a stack
 * and calls ap_main(index). */
	.section .rodata
	.code16
	.globl smp_trampoline, smp_trampoline_end
smp_trampoline:
	cli
	cld
	/* progress marks on COM1 ("1" real mode, "2" protected, "3" long mode)
	 * show how far an AP got when start-up fails */
	movw $0x3f8, %dx
	movb $'1', %al
	outb %al, %dx
	lgdtl %cs:(tramp_gdtr - smp_trampoline)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x18, $ap_pm32
	.p2align 3
tramp_gdtr:
	.word 31
	.long rt_gdt
smp_trampoline_end:

	.text
	.code32
ap_pm32:
	movw $0x3f8, %dx
	movb $'2', %al
	outb %al, %dx
	/* no stack yet: enter_long_mode is inlined here rather than called.
	 * The data segments still carry real-mode limits (64 KiB): reload them
	 * before any memory access above 64 KiB. The GDT is already the runtime's. */
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $0x20, %eax
	movl %eax, %cr4
	movl boot_cr3, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	rdmsr
	orl $0x100, %eax
	wrmsr
	/* a fixed CR0 (PG, ET, PE): clears the CD and NW bits INIT leaves set */
	movl $0x80000011, %eax
	movl %eax, %cr0
	ljmp $0x08, $ap_long

	.code64
ap_long:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw $0x3f8, %dx
	movb $'3', %al
	outb %al, %dx
	movl $1, %edi
	lock xaddl %edi, ap_next
	movl %edi, %eax
	incl %eax
	shll $12, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	call ap_main
1:	cli
	hlt
	jmp 1b

	.data
	.globl boot_cr3
boot_cr3:
	.long 0
ap_next:
	.long 0

	.bss
	.p2align 12
	.globl ap_stacks
ap_stacks:
	.skip 4096 * 64
