/* CMOS RTC: prints the date and time (the test compares it with the host
 * clock) and checks that the clock ticks. */
#include "rt.h"

int guest_main(void)
{
	struct rtc_time t, u;
	rtc_read(&t);
	rt_printf("rtc: %04u-%02u-%02u %02u:%02u:%02u\n", t.year, t.month, t.day, t.hour, t.min, t.sec);
	if (t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 || t.hour > 23 || t.min > 59 || t.sec > 59)
		rt_fail("rtc: the date/time is not valid");
	/* the seconds must move within ~2 s */
	for (int i = 0; i < 40; i++) {
		rt_udelay(50000);
		rtc_read(&u);
		if (u.sec != t.sec) {
			rt_printf("rtc: ticked to %02u:%02u:%02u\n", u.hour, u.min, u.sec);
			rt_puts("rtc: PASS\n");
			return 0;
		}
	}
	rt_fail("rtc: the clock did not tick in 2 s");
}
