/* The smallest PVH guest: one byte ('!') to COM1, then debug-exit 0. The
 * start-up benchmark boots it: the byte marks the moment guest code runs,
 * the exit the end, so both figures are the VMM's own cost. */
#include "pvh-note.h"

	PVH_NOTE(pvh_start)

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	movw $0x3f8, %dx
	movb $'!', %al
	outb %al, %dx
	xorl %eax, %eax
	outb %al, $0xf4
1:	hlt
	jmp 1b
