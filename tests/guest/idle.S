/* A PVH guest that halts forever with interrupts off: the start-up benchmark
 * reads a VMM's resident memory while it runs this. */
#include "pvh-note.h"

	PVH_NOTE(pvh_start)

	.section .text.entry, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
1:	hlt
	jmp 1b
