/* MC146818 CMOS RTC: the time comes from the host clock (UTC), in BCD and
 * 24-hour mode; the other CMOS bytes are plain storage. */
#include "vm/hw/legacy.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define RTC_INDEX 0x70
#define RTC_DATA  0x71
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
};

static uint8_t rtc__encode(const struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc__read(struct rtc *r, uint8_t reg)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (reg) {
	case 0x00: return rtc__encode(r, tm.tm_sec);
	case 0x02: return rtc__encode(r, tm.tm_min);
	case 0x04: return rtc__encode(r, tm.tm_hour);
	case 0x06: return rtc__encode(r, tm.tm_wday + 1);
	case 0x07: return rtc__encode(r, tm.tm_mday);
	case 0x08: return rtc__encode(r, tm.tm_mon + 1);
	case 0x09: return rtc__encode(r, tm.tm_year % 100);
	case RTC_CENTURY: return rtc__encode(r, (tm.tm_year + 1900) / 100);
	case RTC_REG_A: return 0x26; /* 32.768 kHz base, 1024 Hz rate, never "update in progress" */
	case RTC_REG_C: return 0;
	case RTC_REG_D: return 0x80; /* battery good */
	default: return r->cmos[reg];
	}
}

static void rtc__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, unsigned size)
{
	(void)size;
	struct rtc *r = opaque;
	pthread_mutex_lock(&r->lock);
	if (port == RTC_INDEX) {
		if (is_write)
			r->index = data[0] & 0x7f; /* bit 7 masks NMI */
		else
			data[0] = r->index;
	} else if (is_write) {
		/* Time writes are not kept: the guest's RTC follows the host clock. */
		if (r->index >= 0x0a)
			r->cmos[r->index] = data[0];
	} else {
		data[0] = rtc__read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

int rtc__init(struct vm *vm, struct st_err *err)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return st_fail(err, ENOMEM, "rtc");
	pthread_mutex_init(&r->lock, NULL);
	r->cmos[RTC_REG_B] = RTC_B_24H;
	return io__register(&vm->io, RTC_INDEX, 2, rtc__io, r, err);
}
