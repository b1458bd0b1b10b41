/*
 * The host's wall clock: the date the host's RTC showed at start-up
 * (drivers/cmos_rtc.c), carried forward by the TSC. UTC, in nanoseconds
 * since 1970-01-01 00:00:00 (Unix time). What the partitions' RTCs show
 * is this plus an offset of their own (hv/vdev/rtc.c).
 */
#ifndef HV_WALLTIME_H
#define HV_WALLTIME_H

#include <stdint.h>

/* 2000-01-01 00:00:00 UTC: the time kept when the host's RTC tells none. */
#define WALLTIME_FALLBACK 946684800

/* 2500-01-01: nanoseconds since 1970 fit in 64 bits until 2554. */
#define WALLTIME_SECONDS_MAX 16725225600ll

/*
 * The clock read unix_seconds when the TSC read tsc_at_read; once, at
 * start-up. 0, or -1 (nothing kept) for a time before 1970 or from
 * WALLTIME_SECONDS_MAX on.
 */
int walltime_init(int64_t unix_seconds, uint64_t tsc_at_read);

/* The wall clock at TSC value tsc (no earlier than at start-up). */
uint64_t walltime_unix_ns(uint64_t tsc);

/* The first TSC value at which the wall clock reads unix_ns or later (the inverse of the above). */
uint64_t walltime_tsc(uint64_t unix_ns);

#endif
