/* The smallest PVH guest: debug-exit 0 at once. The start-up benchmark boots
 * it, so the figure is the VMM's own cost. */
#include "pvh-note.h"

	PVH_NOTE(pvh_start)

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	xorl %eax, %eax
	outb %al, $0xf4
1:	hlt
	jmp 1b
