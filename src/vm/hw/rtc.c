/* MC146818 CMOS RTC: the time runs with the host clock from a base (UTC by
 * default, --rtc-base as QEMU's -rtc base=), read in BCD or binary and 24- or
 * 12-hour mode as register B asks. A time the guest writes (hwclock) moves the
 * base, as on QEMU; the other CMOS bytes are plain storage.
 * The once-a-second update follows the host clock's second: register A shows
 * update-in-progress (UIP) for the 244 us before it, as the chip does (the
 * datasheet's tBUC), computed from the clock when read. Each update sets UF in
 * register C, and AF when the time matches the alarm registers (0xc0-0xff a
 * "don't care"); flags enabled in register B (UIE, AIE) set IRQF and raise
 * IRQ 8 until register C is read. Flags are brought up to date lazily at each
 * access; a thread, started when the guest first enables UIE or AIE, does it at
 * each second for the interrupt. Periodic interrupts (PIE) are not modelled. */
#include "vm/hw/legacy.h"
#include "common/log.h"
#include "vm/kvm.h"
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
#define RTC_SEC_ALARM  0x01
#define RTC_MIN_ALARM  0x03
#define RTC_HOUR_ALARM 0x05
#define RTC_A_UIP 0x80
#define RTC_B_SET 0x80
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_C_IRQF 0x80
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_HOUR_PM 0x80
#define RTC_IRQ 8
#define RTC_UIP_NS 244000    /* UIP is set this long before each update */
#define RTC_CATCH_UP_MAX 86400 /* updates looked at after a long silence */

struct rtc {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct vm *vm;
	uint8_t index;
	bool localtime;   /* the guest's clock shows host local time, not UTC */
	int64_t offset;   /* seconds between the guest's clock and the host's */
	int64_t updated;  /* the host second of the last update accounted for */
	bool irq;         /* IRQ 8 raised */
	bool ticker;      /* the update-interrupt thread runs */
	uint8_t cmos[128];
};

static struct timespec realtime_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

static struct timespec (*_Atomic host_clock)(void) = realtime_now;

void rtc__set_host_clock(struct timespec (*clock)(void))
{
	host_clock = clock ? clock : realtime_now;
}

static struct timespec rtc__host_now(void)
{
	return host_clock();
}

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
		return err__fail(err, 0, "--rtc-base: '%s' is not utc, localtime, YYYY-MM-DD or "
			       "YYYY-MM-DDTHH:MM:SS", spec);
	out->offset = (int64_t)timegm(&tm) - (int64_t)time(NULL);
	return 0;
}

/* The guest's clock at host second host_sec. */
static void rtc__at(const struct rtc *r, int64_t host_sec, struct tm *tm)
{
	time_t t = (time_t)(host_sec + r->offset);
	if (r->localtime)
		localtime_r(&t, tm);
	else
		gmtime_r(&t, tm);
}

static void rtc__now(const struct rtc *r, struct tm *tm)
{
	rtc__at(r, rtc__host_now().tv_sec, tm);
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

static bool alarm_field_matches(uint8_t alarm, uint8_t now)
{
	return alarm >= 0xc0 || alarm == now;
}

/* The updates since the last look: UF for each, AF when one matched the
 * alarm; IRQF and IRQ 8 when an enabled flag is set. Lock held. */
static void rtc__catch_up(struct rtc *r)
{
	int64_t now = rtc__host_now().tv_sec;
	if (now <= r->updated)
		return;
	if (now - r->updated > RTC_CATCH_UP_MAX)
		r->updated = now - RTC_CATCH_UP_MAX;
	uint8_t *c = &r->cmos[RTC_REG_C];
	for (int64_t s = r->updated + 1; s <= now && !(r->cmos[RTC_REG_B] & RTC_B_SET); s++) {
		*c |= RTC_C_UF;
		if (*c & RTC_C_AF)
			continue;
		struct tm tm;
		rtc__at(r, s, &tm);
		if (alarm_field_matches(r->cmos[RTC_SEC_ALARM], rtc__encode(r, tm.tm_sec)) &&
		    alarm_field_matches(r->cmos[RTC_MIN_ALARM], rtc__encode(r, tm.tm_min)) &&
		    alarm_field_matches(r->cmos[RTC_HOUR_ALARM], rtc__encode_hour(r, tm.tm_hour)))
			*c |= RTC_C_AF;
	}
	r->updated = now;
	if (*c & r->cmos[RTC_REG_B] & (RTC_C_UF | RTC_C_AF))
		*c |= RTC_C_IRQF;
	if ((*c & RTC_C_IRQF) && !r->irq) {
		r->irq = true;
		kvm__irq_line(&r->vm->kvm, RTC_IRQ, 1);
	}
}

/* UIP: the 244 us before the next update, unless SET holds the clock. */
static uint8_t rtc__reg_a(const struct rtc *r)
{
	uint8_t a = r->cmos[RTC_REG_A] & 0x7f;
	if (!(r->cmos[RTC_REG_B] & RTC_B_SET) && rtc__host_now().tv_nsec >= 1000000000 - RTC_UIP_NS)
		a |= RTC_A_UIP;
	return a;
}

static uint8_t rtc__read_c(struct rtc *r)
{
	uint8_t c = r->cmos[RTC_REG_C];
	r->cmos[RTC_REG_C] = 0;
	if (r->irq) {
		r->irq = false;
		kvm__irq_line(&r->vm->kvm, RTC_IRQ, 0);
	}
	return c;
}

/* With UIE or AIE on, brings the flags up to date at each second so that the
 * interrupt comes when the update does; idle (on the condition) otherwise. */
static void *rtc__ticker(void *arg)
{
	struct rtc *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		if (!(r->cmos[RTC_REG_B] & (RTC_B_UIE | RTC_B_AIE))) {
			pthread_cond_wait(&r->changed, &r->lock);
			continue;
		}
		/* the wake-up is on the real clock whatever clock the RTC follows */
		struct timespec next = {.tv_sec = realtime_now().tv_sec + 1};
		pthread_cond_timedwait(&r->changed, &r->lock, &next);
		rtc__catch_up(r);
	}
	return NULL;
}

static void rtc__write_b(struct rtc *r, uint8_t v)
{
	rtc__catch_up(r); /* flags of updates under the old settings */
	r->cmos[RTC_REG_B] = v;
	if ((v & (RTC_B_UIE | RTC_B_AIE)) && !r->ticker) {
		pthread_t t;
		r->ticker = pthread_create(&t, NULL, rtc__ticker, r) == 0;
		if (r->ticker)
			pthread_detach(t);
		else
			log__warn("rtc: no thread for update interrupts; they will come late");
	}
	pthread_cond_signal(&r->changed);
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
	case RTC_REG_A: return rtc__reg_a(r);
	case RTC_REG_C: return rtc__read_c(r);
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
		r->offset = (int64_t)t - rtc__host_now().tv_sec;
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
		rtc__catch_up(r);
		if (r->index == RTC_REG_B)
			rtc__write_b(r, data[0]);
		else if (r->index == RTC_REG_C || r->index == RTC_REG_D)
			; /* read-only */
		else if (!rtc__write_time(r, r->index, data[0]))
			r->cmos[r->index] = data[0];
	} else {
		rtc__catch_up(r);
		data[0] = rtc__read(r, r->index);
	}
	pthread_mutex_unlock(&r->lock);
}

int rtc__init(struct vm *vm, struct st_err *err)
{
	struct rtc *r = calloc(1, sizeof(*r));
	if (!r)
		return err__fail(err, ENOMEM, "rtc");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	r->vm = vm;
	r->localtime = vm->cfg.rtc_base.localtime;
	r->offset = vm->cfg.rtc_base.offset;
	r->updated = rtc__host_now().tv_sec;
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
	r->cmos[RTC_REG_B] = RTC_B_24H;
	return io__register(&vm->io, RTC_INDEX, 2, rtc__io, r, err);
}
