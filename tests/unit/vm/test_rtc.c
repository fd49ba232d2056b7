/* The CMOS RTC's update cycle (src/vm/hw/rtc.c) through its ports, no KVM:
 * UIP in register A before each update, UF and AF in register C (IRQF only for
 * what register B enables), register C cleared by reading it. Before the
 * model, register A was a constant 0x26 and register C always 0. The RTC
 * follows a clock the test steps (rtc__set_host_clock), so no check races the
 * real clock's 244 us window on a busy host. */
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

#define NS 1000000000LL

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

static _Atomic long long clock_ns = 1700000000LL * NS; /* what the RTC reads */

static struct timespec test_clock(void)
{
	long long ns = clock_ns;
	return (struct timespec){.tv_sec = (time_t)(ns / NS), .tv_nsec = (long)(ns % NS)};
}

/* moves the clock to `ns` past the start of the current second */
static void set_within_second(long long ns)
{
	clock_ns = clock_ns / NS * NS + ns;
}

static int setup(void **state)
{
	(void)state;
	struct st_err err = {0};
	log__set_level(ST_LOG_ERROR); /* IRQ 8 on a VM that is not there */
	vm.kvm.vm_fd = -1;
	rtc__set_host_clock(test_clock);
	assert_int_equal(rtc__init(&vm, &err), 0);
	wr(0x0b, 0x06); /* 24 h, binary */
	return 0;
}

static void next_second(void)
{
	uint8_t s = rd(0x00);
	clock_ns = (clock_ns / NS + 1) * NS + 1000;
	assert_int_equal(rd(0x00), (s + 1) % 60);
}

static void uip_before_each_update(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++) {
		set_within_second(NS - 244000 - 1); /* just before the window */
		assert_int_equal(rd(0x0a), 0x26);
		set_within_second(NS - 244000); /* the 244 us before the update */
		assert_int_equal(rd(0x0a), 0x80 | 0x26);
		uint8_t before = rd(0x00);
		set_within_second(NS - 1);
		assert_true(rd(0x0a) & 0x80);
		assert_int_equal(rd(0x00), before); /* no update while UIP shows */
		clock_ns += 2;                      /* the update: UIP falls */
		assert_int_equal(rd(0x0a), 0x26);
		assert_int_equal(rd(0x00), (before + 1) % 60);
	}
	/* SET holds the clock: no UIP even inside the window */
	wr(0x0b, 0x86);
	set_within_second(NS - 1000);
	assert_false(rd(0x0a) & 0x80);
	wr(0x0b, 0x06);
	next_second();
}

static void update_and_alarm_flags(void **state)
{
	(void)state;
	wr(0x01, 0xff), wr(0x03, 0xff), wr(0x05, 0xff); /* alarm: every second */
	(void)rd(0x0c);
	next_second();
	uint8_t c = rd(0x0c);
	assert_int_equal(c & 0x30, 0x30); /* UF, AF */
	assert_int_equal(c & 0x80, 0);    /* nothing enabled: no IRQF */
	assert_int_equal(rd(0x0c), 0);    /* reading cleared it */

	wr(0x0b, 0x16); /* UIE */
	next_second();
	c = rd(0x0c);
	assert_int_equal(c & 0x90, 0x90); /* IRQF, UF */

	/* an alarm for a second that does not come now: AF stays clear */
	wr(0x0b, 0x26); /* AIE only */
	wr(0x01, (uint8_t)((rd(0x00) + 30) % 60));
	(void)rd(0x0c);
	next_second();
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
