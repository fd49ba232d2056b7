/* KVM clock: the KVM CPUID leaves, the pvclock system time (MSR
 * 0x4b564d01) advancing, and the wall clock (MSR 0x4b564d00), printed as
 * UTC seconds for the test to compare with the host. */
#include "rt.h"

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)

struct pvclock_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

struct pvclock_wall_clock {
	uint32_t version, sec, nsec;
} __attribute__((packed));

static volatile struct pvclock_vcpu_time_info pvti __attribute__((aligned(64)));
static volatile struct pvclock_wall_clock wall __attribute__((aligned(64)));

static uint64_t kvmclock_ns(void)
{
	uint32_t v;
	uint64_t ns;
	do {
		v = pvti.version;
		__asm__ volatile("" ::: "memory");
		uint64_t delta = rt_rdtsc() - pvti.tsc_timestamp;
		if (pvti.tsc_shift < 0)
			delta >>= -pvti.tsc_shift;
		else
			delta <<= pvti.tsc_shift;
		ns = pvti.system_time + (uint64_t)(((unsigned __int128)delta * pvti.tsc_to_system_mul) >> 32);
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != pvti.version);
	return ns;
}

int guest_main(void)
{
	uint32_t r[4];
	rt_cpuid(0x40000000, 0, r);
	char sig[13];
	memcpy(sig, &r[1], 4), memcpy(sig + 4, &r[2], 4), memcpy(sig + 8, &r[3], 4), sig[12] = 0;
	rt_printf("kvmclock: hypervisor leaf '%s', max %x\n", sig, r[0]);
	if (memcmp(sig, "KVMKVMKVM\0\0\0", 12))
		rt_fail("kvmclock: no KVM signature at CPUID 0x40000000");
	rt_cpuid(0x40000001, 0, r);
	rt_printf("kvmclock: KVM features %x\n", r[0]);
	if (!(r[0] & KVM_FEATURE_CLOCKSOURCE2))
		rt_fail("kvmclock: KVM_FEATURE_CLOCKSOURCE2 not offered");

	rt_wrmsr(MSR_KVM_SYSTEM_TIME_NEW, (uint64_t)&pvti | 1);
	if (!pvti.version)
		rt_fail("kvmclock: the pvclock page was not filled in");
	uint64_t t1 = kvmclock_ns();
	rt_udelay(100000);
	uint64_t t2 = kvmclock_ns();
	rt_printf("kvmclock: system time %lu ns, then %lu ns after a 100 ms PIT wait (+%lu us)\n", t1, t2,
		  (t2 - t1) / 1000);
	if (t2 <= t1)
		rt_fail("kvmclock: system time did not advance");

	rt_wrmsr(MSR_KVM_WALL_CLOCK_NEW, (uint64_t)&wall);
	if (wall.version & 1)
		rt_fail("kvmclock: wall clock left mid-update");
	uint64_t now = wall.sec + (wall.nsec + kvmclock_ns()) / 1000000000ull;
	rt_printf("kvmclock: wall clock %lu s since the epoch\n", now);
	rt_puts("kvmclock: PASS\n");
	return 0;
}
