/* fwait (9b): a no-op with no pending x87 exception. This nested KVM's
 * emulator refuses it; the VMM must step over it and go on. */
#include "rt.h"

int guest_main(void)
{
	volatile unsigned after = 0;
	for (int i = 0; i < 3; i++) {
		__asm__ volatile("fwait" ::: "memory");
		after++;
	}
	rt_printf("fwait: %u fwaits done\n", after);
	if (after != 3)
		rt_fail("fwait: the loop did not run 3 times");
	rt_puts("fwait: PASS\n");
	return 0;
}
