/* Small legacy PC devices: each registers its ports on the VM's I/O bus. */
#ifndef STRATA_VM_HW_LEGACY_H
#define STRATA_VM_HW_LEGACY_H

#include "common/err.h"

struct vm;
struct rtc_base;
struct timespec;

int i8042__init(struct vm *vm, struct st_err *err);       /* reset line at 0x64 */
int rtc__init(struct vm *vm, struct st_err *err);         /* CMOS RTC at 0x70 */
/* utc, localtime or a date/time (YYYY-MM-DD[THH:MM:SS], UTC) the clock starts at */
int rtc__parse_base(const char *spec, struct rtc_base *out, struct st_err *err);
/* The host clock the RTC follows (CLOCK_REALTIME unless set): tests step a
 * clock of their own through the 244 us of UIP instead of racing the real one. */
void rtc__set_host_clock(struct timespec (*clock)(void));
int debug_exit__init(struct vm *vm, struct st_err *err);  /* test-guest exit at 0xf4 */
int port80__init(struct vm *vm, struct st_err *err);      /* POST/delay port, ignored */

#define DEBUG_EXIT_PORT 0xf4

#endif
