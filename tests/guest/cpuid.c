/* Prints the CPUID words the VMM shapes (features, topology, KVM PV leaf) so the
 * tests can check templates and --cpu-features from inside the guest. */
#include "rt.h"

int guest_main(void)
{
	static const uint32_t leaves[][2] = {
		{1, 0}, {7, 0}, {0xd, 1}, {0x40000001, 0}, {0x80000001, 0}, {0x80000008, 0},
	};
	uint32_t r[4];
	for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		rt_cpuid(leaves[i][0], leaves[i][1], r);
		rt_printf("cpuid %x.%x: %x %x %x %x\n", leaves[i][0], leaves[i][1], r[0], r[1], r[2], r[3]);
	}
	rt_puts("cpuid: PASS\n");
	return 0;
}
