/* Debug exit: writes code=N from the command line to port 0xf4 (an outl
 * when N > 255, so the VMM's "low 8 bits" rule is exercised). */
#include "rt.h"

int guest_main(void)
{
	uint64_t code = rt_cmdline_u64("code", 0);
	rt_printf("exitcode: writing %lu to port 0xf4\n", code);
	rt_exit((uint32_t)code);
}
