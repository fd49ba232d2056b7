#include "vm/nested.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"

/* Features the guest kernel must not use on kvm_pvm, as Linux's X86_FEATURE_*
 * bit numbers (word * 32 + bit). On this host the guest reads the hardware's
 * CPUID bits whatever KVM's table says, so the kernel is told instead. KVM's
 * emulator refuses these instructions (or every SIMD one costs an assist:
 * 2.4 million in one boot when the crypto self-tests saw SSSE3), or their
 * kernel paths need what is not there (SMAP/SMEP/UMIP, PCID, FSGSBASE).
 * Numbers, not names: shorter (the argument is cut at 127 bytes — names cut
 * the list after sha_ni before) and understood by every kernel version.
 * noxsave already hides XSAVE and what depends on it: AVX*, FMA, VAES,
 * VPCLMULQDQ, PKU, XSAVEOPT/C/S (cpuid-deps.c). */
static const struct {
	const char *name;
	int bit;
} hidden[] = {
	{"ssse3", 4 * 32 + 9},      {"sse4_1", 4 * 32 + 19},    {"sse4_2", 4 * 32 + 20},
	{"aes", 4 * 32 + 25},       {"pclmulqdq", 4 * 32 + 1},  {"sha_ni", 9 * 32 + 29},
	{"gfni", 16 * 32 + 8},      {"f16c", 4 * 32 + 29},      {"cx16", 4 * 32 + 13},
	{"popcnt", 4 * 32 + 23},    {"movbe", 4 * 32 + 22},     {"abm", 6 * 32 + 5},
	{"bmi1", 9 * 32 + 3},       {"bmi2", 9 * 32 + 8},       {"adx", 9 * 32 + 19},
	{"rdrand", 4 * 32 + 30},    {"rdseed", 9 * 32 + 18},    {"rdtscp", 1 * 32 + 27},
	{"rdpid", 16 * 32 + 22},    {"smap", 9 * 32 + 20},      {"smep", 9 * 32 + 7},
	{"umip", 16 * 32 + 2},      {"fsgsbase", 9 * 32 + 0},   {"pcid", 4 * 32 + 17},
	{"invpcid", 9 * 32 + 10},   {"erms", 9 * 32 + 9},       {"fsrm", 18 * 32 + 4},
	{"clflushopt", 9 * 32 + 23}, {"clwb", 9 * 32 + 24},
};

/* nokaslr and nopti keep the SYSCALL trampoline's page-table slot free and
 * visible from ring 3 (pvm_syscall.h; docs/nested-kvm.md). The kernel's own
 * speculation defences for its code: on kvm_pvm every guest kernel instruction
 * goes through KVM's emulator (kvm_emulate_insn, one per instruction), never
 * the CPU's speculative machinery, so the SRSO/retbleed return thunk (three
 * instructions for every return) and generic retpolines guard nothing there and
 * cost a third of the kernel's instructions. Guest user space runs natively:
 * its defences (spectre_v2_user, IBPB) stay as the kernel chooses.
 * cryptomgr.notests: the crypto API's self-tests at algorithm registration
 * (a development aid, ignored in FIPS mode) are most of a stock kernel's boot
 * under emulation — RSA private-key vectors alone ran for over 20 minutes in
 * mpihelp_divrem on the Debian kernel. */
static const char fixed_options[] = "noxsave nowatchdog nokaslr nopti retbleed=off "
				    "spec_rstack_overflow=off spectre_v2=retpoline,lfence "
				    "cryptomgr.notests=1";

static char clearcpuid[NESTED_CLEARCPUID_MAX + 1];
static char options[sizeof(fixed_options) + sizeof(" clearcpuid=") + sizeof(clearcpuid)];

bool nested__host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

const char *nested__clearcpuid(void)
{
	if (clearcpuid[0])
		return clearcpuid;
	size_t len = 0;
	for (size_t i = 0; i < ST_ARRAY_SIZE(hidden); i++) {
		int n = snprintf(clearcpuid + len, sizeof(clearcpuid) - len, "%s%d",
				 i ? "," : "", hidden[i].bit);
		/* Cannot happen with the table above (a unit test holds it to the
		 * limit); never hand the kernel a list cut in the middle of a number. */
		if (n < 0 || (size_t)n >= sizeof(clearcpuid) - len) {
			clearcpuid[len] = '\0';
			break;
		}
		len += (size_t)n;
	}
	return clearcpuid;
}

const char *nested__kernel_options(void)
{
	if (!options[0])
		snprintf(options, sizeof(options), "%s clearcpuid=%s", fixed_options,
			 nested__clearcpuid());
	return options;
}

int nested__cleared_bit(const char *name)
{
	for (size_t i = 0; i < ST_ARRAY_SIZE(hidden); i++)
		if (!strcmp(hidden[i].name, name))
			return hidden[i].bit;
	return -1;
}
