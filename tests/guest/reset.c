/* Reset through the i8042: writes 0xfe to port 0x64; the VM must end there
 * (strata-vm --on-reboot=exit: status 3). */
#include "rt.h"

int guest_main(void)
{
	rt_puts("reset: writing 0xfe to port 0x64\n");
	outb(0x64, 0xfe);
	rt_udelay(500000);
	rt_fail("reset: still running 0.5 s after the reset request");
}
