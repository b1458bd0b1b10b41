/* The host's own CMOS RTC (an MC146818A or its copy in the chipset), read once at start-up. */
#ifndef DRIVERS_CMOS_RTC_H
#define DRIVERS_CMOS_RTC_H

#include <stdint.h>

/*
 * The time it shows, in Unix seconds, and the TSC when it was read:
 * NULL, or why it shows none (its update never ends, it changes at every
 * read, or it holds no valid date).
 */
const char *cmos_rtc_read(int64_t *unix_seconds, uint64_t *tsc);

/*
 * The time the registers of cmos[] (indexed by register number, of
 * RTC_CMOS_BYTES) hold; NULL, or why they hold none. Without a plausible
 * century byte (19 or more) the year is taken as 1970-2069.
 */
const char *cmos_rtc_decode(const uint8_t *cmos, int64_t *unix_seconds);

#endif
