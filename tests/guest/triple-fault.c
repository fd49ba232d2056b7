/* Triple fault: an empty IDT, then ud2; #UD cannot be delivered, nor can
 * #DF, so the CPU shuts down (strata-vm: status 2, RIP on stderr). */
#include "rt.h"

int guest_main(void)
{
	extern const char tf_ud2[];
	rt_printf("triple-fault: ud2 at %p with an empty IDT\n", (const void *)tf_ud2);
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty = { 0, 0 };
	__asm__ volatile("lidt %0\n\t"
			 ".globl tf_ud2\n"
			 "tf_ud2: ud2" : : "m"(empty));
	rt_fail("triple-fault: still running after ud2");
}
