/* The CMOS RTC's update cycle (src/vm/hw/rtc.c) through its ports, no KVM:
 * UIP in register A before each update, UF and AF in register C (IRQF only for
 * what register B enables), register C cleared by reading it. Before the
 * model, register A was a constant 0x26 and register C always 0. Waits are
 * for the condition, bounded by a generous wall-clock deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/log.h"
#include "vm/hw/legacy.h"
#include "vm/vm.h"

static struct vm vm;

static uint8_t rd(uint8_t reg)
{
	uint8_t v = reg;
	io__dispatch(&vm.io, 0x70, true, &v, 1);
	io__dispatch(&vm.io, 0x71, false, &v, 1);
	return v;
}

static void wr(uint8_t reg, uint8_t val)
{
	io__dispatch(&vm.io, 0x70, true, &reg, 1);
	io__dispatch(&vm.io, 0x71, true, &val, 1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int setup(void **state)
{
	(void)state;
	struct st_err err = {0};
	log__set_level(ST_LOG_ERROR); /* IRQ 8 on a VM that is not there */
	vm.kvm.vm_fd = -1;
	assert_int_equal(rtc__init(&vm, &err), 0);
	wr(0x0b, 0x06); /* 24 h, binary */
	return 0;
}

static void wait_next_second(void)
{
	uint8_t s = rd(0x00);
	double end = now() + 30;
	while (rd(0x00) == s)
		assert_true(now() < end);
}

static void uip_before_each_update(void **state)
{
	(void)state;
	/* A busy host may take this thread off the CPU for the whole 244 us of
	 * some seconds: look for two edges within a generous deadline. A second
	 * read between two reads that both show UIP is surely the old one. */
	double end = now() + 60;
	unsigned long reads = 0;
	for (int edges = 0; edges < 2;) {
		if (now() > end)
			fail_msg("%d UIP edges in 60 s (%lu reads of register A)", edges, reads);
		reads++;
		if (!(rd(0x0a) & 0x80))
			continue;
		uint8_t before = rd(0x00);
		if (!(rd(0x0a) & 0x80))
			continue;
		while (rd(0x0a) & 0x80)
			assert_true(now() < end);
		uint8_t after = rd(0x00);
		assert_int_not_equal(after, before); /* the update came as UIP fell */
		assert_int_equal(rd(0x0a) & 0x7f, 0x26);
		edges++;
	}
	/* SET holds the clock: no update, no UIP */
	wr(0x0b, 0x86);
	double held = now() + 1.5;
	while (now() < held)
		assert_false(rd(0x0a) & 0x80);
	wr(0x0b, 0x06);
}

static void update_and_alarm_flags(void **state)
{
	(void)state;
	wr(0x01, 0xff), wr(0x03, 0xff), wr(0x05, 0xff); /* alarm: every second */
	(void)rd(0x0c);
	wait_next_second();
	uint8_t c = rd(0x0c);
	assert_int_equal(c & 0x30, 0x30); /* UF, AF */
	assert_int_equal(c & 0x80, 0);    /* nothing enabled: no IRQF */
	assert_int_equal(rd(0x0c), 0);    /* reading cleared it */

	wr(0x0b, 0x16); /* UIE */
	wait_next_second();
	c = rd(0x0c);
	assert_int_equal(c & 0x90, 0x90); /* IRQF, UF */

	/* an alarm for a second that does not come now: AF stays clear */
	wr(0x0b, 0x26); /* AIE only */
	wr(0x01, (uint8_t)((rd(0x00) + 30) % 60));
	(void)rd(0x0c);
	wait_next_second();
	c = rd(0x0c);
	assert_int_equal(c & 0xb0, 0x10); /* UF, not AF nor IRQF */
	wr(0x0b, 0x06);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uip_before_each_update),
		cmocka_unit_test(update_and_alarm_flags),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
