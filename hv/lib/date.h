/*
 * Civil dates in UTC on the proleptic Gregorian calendar, and Unix time
 * (seconds since 1970-01-01 00:00:00 UTC, leap seconds not counted, as
 * POSIX defines it). Pure: the host's wall clock (hv/walltime.c) and the
 * partitions' RTCs (hv/vdev/rtc.c) convert with it.
 */
#ifndef HV_LIB_DATE_H
#define HV_LIB_DATE_H

#include <stdint.h>

#define DATE_SECONDS_PER_DAY 86400

struct date {
	int64_t year;
	unsigned month;   /* 1-12 */
	unsigned day;     /* 1-31 */
	unsigned hour, minute, second;
	unsigned weekday; /* 0 Sunday ... 6 Saturday; date_to_unix() ignores it */
};

/*
 * Fields out of range carry into the next larger one, as C's mktime()
 * does: month 13 is January of the next year, month 0 December of the
 * year before, day 0 the last day of the month before, second 60 the
 * next minute. Any year the int64_t holds in seconds is fine; years
 * beyond +-2^32 overflow.
 */
int64_t date_to_unix(const struct date *d);
void date_from_unix(int64_t seconds, struct date *d);

/* 1 if month, day (within its month), hour, minute and second are in range. */
int date_valid(const struct date *d);

#endif
