/* MC146818 CMOS RTC: the time runs with the host clock from a base (UTC by
 * default, --rtc-base as QEMU's -rtc base=), read in BCD or binary and 24- or
 * 12-hour mode as register B asks. A time the guest writes (hwclock) moves the
 * base, as on QEMU; the other CMOS bytes are plain storage. */
#include "vm/hw/legacy.h"
#include "vm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RTC_INDEX 0x70
#define RTC_DATA  0x71
#define RTC_SEC   0x00
#define RTC_MIN   0x02
#define RTC_HOUR  0x04
#define RTC_WDAY  0x06
#define RTC_MDAY  0x07
#define RTC_MON   0x08
#define RTC_YEAR  0x09
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_HOUR_PM 0x80

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	bool localtime;   /* the guest's clock shows host local time, not UTC */
	int64_t offset;   /* seconds between the guest's clock and the host's */
	uint8_t cmos[128];
};

int rtc__parse_base(const char *spec, struct rtc_base *out, struct st_err *err)
{
	*out = (struct rtc_base){0};
	if (!spec || !strcmp(spec, "utc"))
		return 0;
	if (!strcmp(spec, "localtime")) {
		out->localtime = true;
		return 0;
	}
	struct tm tm = {0};
	const char *end = strptime(spec, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(spec, "%Y-%m-%d", &tm);
	}
	if (!end || *end || tm.tm_year < 0 || tm.tm_year > 8099)
		return st_fail(err, 0, "--rtc-base: '%s' is not utc, localtime, YYYY-MM-DD or "
			       "YYYY-MM-DDTHH:MM:SS", spec);
	out->offset = (int64_t)timegm(&tm) - (int64_t)time(NULL);
	return 0;
}

static void rtc__now(const struct rtc *r, struct tm *tm)
{
	time_t t = (time_t)((int64_t)time(NULL) + r->offset);
	if (r->localtime)
		localtime_r(&t, tm);
	else
		gmtime_r(&t, tm);
}

static uint8_t rtc__encode(const struct rtc *r, int v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_BINARY)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int rtc__decode(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc__encode_hour(const struct rtc *r, int hour)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc__encode(r, hour);
	int h12 = hour % 12 ? hour % 12 : 12; /* 00:xx is 12 AM, 12:xx is 12 PM */
	return (uint8_t)(rtc__encode(r, h12) | (hour >= 12 ? RTC_HOUR_PM : 0));
}

static int rtc__decode_hour(const struct rtc *r, uint8_t v)
{
	if (r->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc__decode(r, v);
	return rtc__decode(r, v & ~RTC_HOUR_PM) % 12 + (v & RTC_HOUR_PM ? 12 : 0);
}

static uint8_t rtc__read(struct rtc *r, uint8_t reg)
{
	struct tm tm;
	rtc__now(r, &tm);
	switch (reg) {
	case RTC_SEC: return rtc__encode(r, tm.tm_sec);
	case RTC_MIN: return rtc__encode(r, tm.tm_min);
	case RTC_HOUR: return rtc__encode_hour(r, tm.tm_hour);
	case RTC_WDAY: return rtc__encode(r, tm.tm_wday + 1);
	case RTC_MDAY: return rtc__encode(r, tm.tm_mday);
	case RTC_MON: return rtc__encode(r, tm.tm_mon + 1);
	case RTC_YEAR: return rtc__encode(r, tm.tm_year % 100);
	case RTC_CENTURY: return rtc__encode(r, (tm.tm_year + 1900) / 100);
	case RTC_REG_A: return 0x26; /* 32.768 kHz base, 1024 Hz rate, never "update in progress" */
	case RTC_REG_C: return 0;
	case RTC_REG_D: return 0x80; /* battery good */
	default: return r->cmos[reg];
	}
}

/* A written time field moves the guest's clock: the other fields keep their
 * current values, so hwclock's field-by-field writes end at the time it set. */
static bool rtc__write_time(struct rtc *r, uint8_t reg, uint8_t v)
{
	struct tm tm;
	rtc__now(r, &tm);
	switch (reg) {
	case RTC_SEC: tm.tm_sec = rtc__decode(r, v); break;
	case RTC_MIN: tm.tm_min = rtc__decode(r, v); break;
	case RTC_HOUR: tm.tm_hour = rtc__decode_hour(r, v); break;
	case RTC_MDAY: tm.tm_mday = rtc__decode(r, v); break;
	case RTC_MON: tm.tm_mon = rtc__decode(r, v) - 1; break;
	case RTC_YEAR: tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + rtc__decode(r, v) - 1900; break;
	case RTC_CENTURY: tm.tm_year = rtc__decode(r, v) * 100 + tm.tm_year % 100 - 1900; break;
	case RTC_WDAY: return true; /* derived from the date */
	default: return false;
	}
	tm.tm_isdst = -1;
	time_t t = r->localtime ? mktime(&tm) : timegm(&tm);
	if (t != (time_t)-1)
		r->offset = (int64_t)t - (int64_t)time(NULL);
	return true;
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
		if (!rtc__write_time(r, r->index, data[0]) && r->index >= RTC_REG_A)
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
	r->localtime = vm->cfg.rtc_base.localtime;
	r->offset = vm->cfg.rtc_base.offset;
	r->cmos[RTC_REG_B] = RTC_B_24H;
	return io__register(&vm->io, RTC_INDEX, 2, rtc__io, r, err);
}
