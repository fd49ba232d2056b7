/* The SYSCALL trampoline's MSR exits (src/vm/pvm_syscall.c) make the checks
 * the CPU makes: under the nested profile KVM's own checks of LSTAR never run. */
#include "vm/pvm_syscall.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm/vcpu.h"
#include "vm/vm.h"

#define MSR_LSTAR 0xc0000082

static void canonical_at_48_and_57_bits(void **state)
{
	(void)state;
	assert_true(pvm_syscall__canonical(0, 48));
	assert_true(pvm_syscall__canonical(0x00007fffffffffffull, 48));
	assert_true(pvm_syscall__canonical(0xffff800000000000ull, 48));
	assert_false(pvm_syscall__canonical(0x0000800000000000ull, 48));
	assert_false(pvm_syscall__canonical(0xaaaaaaaaaaaaaaaaull, 48));
	assert_false(pvm_syscall__canonical(0xffaaaaaaaaaaaaaaull, 48));
	assert_true(pvm_syscall__canonical(0xffaaaaaaaaaaaaaaull, 57));
	assert_true(pvm_syscall__canonical(0x0000800000000000ull, 57));
	assert_false(pvm_syscall__canonical(0x0100000000000000ull, 57));
	assert_false(pvm_syscall__canonical(0xaaaaaaaaaaaaaaaaull, 57));
}

/* A non-canonical WRMSR(LSTAR) is answered with #GP and changes nothing: a
 * read afterwards still returns the entry the guest had programmed. (Before
 * the check, the write went on and dropped the guest's entry.) No KVM here:
 * fd -1, so any ioctl the exit made would fail. */
static void noncanonical_lstar_gets_gp_and_keeps_the_old_entry(void **state)
{
	(void)state;
	static struct vm vm;
	static struct kvm_run run;
	struct vcpu v = {.vm = &vm, .fd = -1, .run = &run};
	v.pvm.guest_lstar = 0xffffffff81600000ull;
	const uint64_t bad[] = {0xaaaaaaaaaaaaaaaaull, 0xffaaaaaaaaaaaaaaull, 0x0000800000000000ull};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&run, 0, sizeof(run));
		run.exit_reason = KVM_EXIT_X86_WRMSR;
		run.msr.index = MSR_LSTAR;
		run.msr.data = bad[i];
		assert_true(pvm_syscall__msr_exit(&v));
		assert_int_equal(run.msr.error, 1);
		assert_int_equal(v.pvm.guest_lstar, 0xffffffff81600000ull);
		memset(&run, 0, sizeof(run));
		run.exit_reason = KVM_EXIT_X86_RDMSR;
		run.msr.index = MSR_LSTAR;
		assert_true(pvm_syscall__msr_exit(&v));
		assert_int_equal(run.msr.error, 0);
		assert_int_equal(run.msr.data, 0xffffffff81600000ull);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(canonical_at_48_and_57_bits),
		cmocka_unit_test(noncanonical_lstar_gets_gp_and_keeps_the_old_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
