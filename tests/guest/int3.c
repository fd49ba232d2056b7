/* int3 under an IDT #BP handler: the handler must run once per int3 with
 * the saved RIP just past the instruction, and execution must go on. This
 * nested KVM's emulator refuses int3, so it proves the VMM's assist. */
#include "rt.h"

static volatile unsigned hits;
static volatile uint64_t rips[4];

static void bp_handler(struct rt_frame *f)
{
	if (hits < 4)
		rips[hits] = f->rip;
	hits++;
}

int guest_main(void)
{
	idt_init();
	idt_set_handler(3, bp_handler);
	extern const char after_bp0[], after_bp1[], after_bp2[];
	__asm__ volatile("int3\n.globl after_bp0\nafter_bp0:\n\t"
			 "int3\n.globl after_bp1\nafter_bp1:\n\t"
			 "int3\n.globl after_bp2\nafter_bp2:" ::: "memory");
	const char *want[3] = { after_bp0, after_bp1, after_bp2 };
	rt_printf("int3: %u breakpoints handled\n", hits);
	if (hits != 3)
		rt_fail("int3: expected 3 #BP, got %u", hits);
	for (int i = 0; i < 3; i++)
		if (rips[i] != (uint64_t)want[i])
			rt_fail("int3: #BP %d saved rip %lx, expected %p", i, rips[i], (const void *)want[i]);
	rt_puts("int3: PASS\n");
	return 0;
}
