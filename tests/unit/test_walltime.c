/*
 * The wall clock's pieces: civil dates to and from Unix time, the
 * MC146818's register formats, the host RTC's registers decoded (garbage
 * refused), and the clock carried forward by the TSC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "cmos_rtc.h"
#include "lib/date.h"
#include "lib/mc146818.h"
#include "walltime.h"

#define HZ 2000000000ull

static uint64_t fake_tsc;

uint64_t arch_tsc(void)
{
	return fake_tsc;
}

uint64_t arch_tsc_hz(void)
{
	return HZ;
}

static int64_t unix_of(int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute, unsigned second)
{
	struct date d = { year, month, day, hour, minute, second, 0 };

	return date_to_unix(&d);
}

static void expect_date(int64_t t, int64_t year, unsigned month, unsigned day, unsigned hour, unsigned minute,
			unsigned second, unsigned weekday)
{
	struct date d;

	date_from_unix(t, &d);
	assert_int_equal(d.year, year);
	assert_int_equal(d.month, month);
	assert_int_equal(d.day, day);
	assert_int_equal(d.hour, hour);
	assert_int_equal(d.minute, minute);
	assert_int_equal(d.second, second);
	assert_int_equal(d.weekday, weekday);
}

static void known_dates_convert_both_ways(void **state)
{
	(void)state;
	assert_int_equal(unix_of(1970, 1, 1, 0, 0, 0), 0);
	expect_date(0, 1970, 1, 1, 0, 0, 0, 4); /* a Thursday */
	assert_int_equal(unix_of(2000, 1, 1, 0, 0, 0), WALLTIME_FALLBACK);
	expect_date(WALLTIME_FALLBACK, 2000, 1, 1, 0, 0, 0, 6); /* a Saturday */
	assert_int_equal(unix_of(2038, 1, 19, 3, 14, 8), 2147483648ll); /* past 32 bits */
	expect_date(2147483648ll, 2038, 1, 19, 3, 14, 8, 2);
	assert_int_equal(unix_of(2026, 12, 3, 8, 30, 0), 1796286600ll);
	expect_date(1796286600ll, 2026, 12, 3, 8, 30, 0, 4);
	expect_date(-1, 1969, 12, 31, 23, 59, 59, 3); /* before the epoch: floor, not truncation */
	assert_int_equal(unix_of(1969, 12, 31, 23, 59, 59), -1);
}

static void leap_years_follow_the_gregorian_rules(void **state)
{
	(void)state;
	/* 2000 is a leap year (divisible by 400), 2100 is not (by 100), 2024 is (by 4). */
	expect_date(unix_of(2000, 2, 29, 12, 0, 0), 2000, 2, 29, 12, 0, 0, 2);
	expect_date(unix_of(2000, 2, 29, 0, 0, 0) + 86400, 2000, 3, 1, 0, 0, 0, 3);
	expect_date(unix_of(2100, 2, 28, 0, 0, 0) + 86400, 2100, 3, 1, 0, 0, 0, 1);
	expect_date(unix_of(2100, 3, 1, 0, 0, 0), 2100, 3, 1, 0, 0, 0, 1);
	expect_date(unix_of(2024, 2, 28, 0, 0, 0) + 86400, 2024, 2, 29, 0, 0, 0, 4);
	assert_int_equal(unix_of(2001, 1, 1, 0, 0, 0) - unix_of(2000, 1, 1, 0, 0, 0), 366 * 86400);
	assert_int_equal(unix_of(2101, 1, 1, 0, 0, 0) - unix_of(2100, 1, 1, 0, 0, 0), 365 * 86400);
}

static void the_century_turns(void **state)
{
	(void)state;
	expect_date(unix_of(1999, 12, 31, 23, 59, 59) + 1, 2000, 1, 1, 0, 0, 0, 6);
	expect_date(unix_of(2099, 12, 31, 23, 59, 59) + 1, 2100, 1, 1, 0, 0, 0, 5);
}

static void every_day_of_four_centuries_round_trips(void **state)
{
	int64_t first = unix_of(1900, 1, 1, 0, 0, 0), days = unix_of(2300, 1, 1, 0, 0, 0) / 86400 - first / 86400, k;
	struct date d;

	(void)state;
	for (k = 0; k < days; k++) {
		int64_t midnight = first + k * 86400, t = midnight + k * 37 % 86400;
		date_from_unix(t, &d);
		assert_true(date_valid(&d));
		assert_int_equal(d.weekday, (1 + k) % 7); /* 1900-01-01 was a Monday */
		assert_int_equal(date_to_unix(&d), t);
		date_from_unix(midnight + 86399, &d);
		assert_int_equal(d.hour * 3600 + d.minute * 60 + d.second, 86399);
		date_from_unix(midnight + 86400, &d);
		assert_int_equal(d.hour + d.minute + d.second, 0);
	}
}

static void fields_out_of_range_carry(void **state)
{
	(void)state;
	assert_int_equal(unix_of(2023, 13, 1, 0, 0, 0), unix_of(2024, 1, 1, 0, 0, 0));
	assert_int_equal(unix_of(2024, 0, 1, 0, 0, 0), unix_of(2023, 12, 1, 0, 0, 0));
	assert_int_equal(unix_of(2024, 3, 0, 0, 0, 0), unix_of(2024, 2, 29, 0, 0, 0));
	assert_int_equal(unix_of(2024, 1, 1, 0, 0, 75), unix_of(2024, 1, 1, 0, 1, 15));
	assert_int_equal(unix_of(2024, 1, 1, 24, 0, 0), unix_of(2024, 1, 2, 0, 0, 0));
	assert_int_equal(unix_of(2024, 255, 255, 255, 255, 255), /* the most a register can hold */
			 unix_of(2045, 3, 1, 0, 0, 0) + 254ll * 86400 + 255 * 3600 + 255 * 60 + 255);
}

static void validity_is_checked_field_by_field(void **state)
{
	struct date d = { 2023, 2, 29, 0, 0, 0, 0 };

	(void)state;
	assert_false(date_valid(&d));
	d.year = 2024;
	assert_true(date_valid(&d));
	d.month = 0;
	assert_false(date_valid(&d));
	d = (struct date){ 2024, 4, 31, 0, 0, 0, 0 };
	assert_false(date_valid(&d));
	d = (struct date){ 2024, 4, 30, 24, 0, 0, 0 };
	assert_false(date_valid(&d));
	d = (struct date){ 2024, 4, 30, 23, 60, 0, 0 };
	assert_false(date_valid(&d));
	d = (struct date){ 2024, 4, 30, 23, 59, 60, 0 };
	assert_false(date_valid(&d));
}

/* ---- MC146818 formats */

static void fields_in_bcd_and_binary(void **state)
{
	(void)state;
	assert_int_equal(mc146818_encode(59, 0), 0x59);
	assert_int_equal(mc146818_decode(0x59, 0), 59);
	assert_int_equal(mc146818_encode(59, RTC_B_BINARY), 59);
	assert_int_equal(mc146818_decode(59, RTC_B_BINARY), 59);
	assert_int_equal(mc146818_decode(0x1f, 0), 25); /* digits above 9 count as what they are worth */
	assert_false(mc146818_field_valid(0x1a, 0));
	assert_false(mc146818_field_valid(0xa1, 0));
	assert_true(mc146818_field_valid(0x99, 0));
	assert_true(mc146818_field_valid(0xff, RTC_B_BINARY));
}

static void hours_in_12_and_24_hour_form(void **state)
{
	static const struct {
		unsigned hour;
		uint8_t bcd12, bin12;
	} table[] = { { 0, 0x12, 12 }, { 1, 0x01, 1 }, { 11, 0x11, 11 }, { 12, 0x92, 0x8c }, { 13, 0x81, 0x81 },
		      { 23, 0x91, 0x8b } };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_int_equal(mc146818_encode_hour(table[i].hour, 0), table[i].bcd12);
		assert_int_equal(mc146818_decode_hour(table[i].bcd12, 0), table[i].hour);
		assert_int_equal(mc146818_encode_hour(table[i].hour, RTC_B_BINARY), table[i].bin12);
		assert_int_equal(mc146818_decode_hour(table[i].bin12, RTC_B_BINARY), table[i].hour);
		assert_int_equal(mc146818_decode_hour(mc146818_encode_hour(table[i].hour, RTC_B_24H), RTC_B_24H),
				 table[i].hour);
	}
	assert_int_equal(mc146818_encode_hour(23, RTC_B_24H), 0x23);
	assert_int_equal(mc146818_encode_hour(23, RTC_B_24H | RTC_B_BINARY), 23);
}

static void registers_hold_a_date(void **state)
{
	uint8_t cmos[RTC_CMOS_BYTES] = { 0 };
	struct date d = { 2100, 3, 1, 13, 5, 9, 1 }, back;

	(void)state;
	cmos[RTC_REG_B] = 0; /* BCD, 12-hour */
	mc146818_set_date(cmos, &d);
	assert_int_equal(cmos[RTC_SECONDS], 0x09);
	assert_int_equal(cmos[RTC_MINUTES], 0x05);
	assert_int_equal(cmos[RTC_HOURS], 0x81);
	assert_int_equal(cmos[RTC_WEEKDAY], 2); /* Monday: Sunday is 1 */
	assert_int_equal(cmos[RTC_DAY], 0x01);
	assert_int_equal(cmos[RTC_MONTH], 0x03);
	assert_int_equal(cmos[RTC_YEAR], 0x00);
	assert_int_equal(cmos[RTC_CENTURY], 0x21);
	assert_true(mc146818_date_valid(cmos));
	mc146818_get_date(cmos, &back);
	assert_int_equal(date_to_unix(&back), date_to_unix(&d));
	cmos[RTC_DAY] = 0x30; /* there is no 30 February... but this is March */
	assert_true(mc146818_date_valid(cmos));
	cmos[RTC_MONTH] = 0x02;
	assert_false(mc146818_date_valid(cmos));
	cmos[RTC_MONTH] = 0x03;
	cmos[RTC_HOURS] = 0x13; /* 13 in the 12-hour form */
	assert_false(mc146818_date_valid(cmos));
	cmos[RTC_HOURS] = 0x80; /* 0 PM */
	assert_false(mc146818_date_valid(cmos));
}

/* ---- the host RTC's registers */

static void host_registers(uint8_t *cmos, uint8_t b, uint8_t century, uint8_t year, uint8_t month, uint8_t day,
			   uint8_t hour, uint8_t minute, uint8_t second)
{
	memset(cmos, 0, RTC_CMOS_BYTES);
	cmos[RTC_REG_B] = b;
	cmos[RTC_CENTURY] = century;
	cmos[RTC_YEAR] = year;
	cmos[RTC_MONTH] = month;
	cmos[RTC_DAY] = day;
	cmos[RTC_HOURS] = hour;
	cmos[RTC_MINUTES] = minute;
	cmos[RTC_SECONDS] = second;
}

static void host_rtc_decodes_every_format(void **state)
{
	uint8_t cmos[RTC_CMOS_BYTES];
	int64_t t = 0, want = unix_of(2026, 12, 3, 20, 30, 5);

	(void)state;
	host_registers(cmos, RTC_B_24H, 0x20, 0x26, 0x12, 0x03, 0x20, 0x30, 0x05);
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, want);
	host_registers(cmos, 0, 0x20, 0x26, 0x12, 0x03, 0x88, 0x30, 0x05); /* 8 PM */
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, want);
	host_registers(cmos, RTC_B_BINARY | RTC_B_24H, 20, 26, 12, 3, 20, 30, 5);
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, want);
	host_registers(cmos, RTC_B_BINARY, 20, 26, 12, 3, 0x88, 30, 5);
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, want);
}

static void host_rtc_without_century_takes_1970_to_2069(void **state)
{
	uint8_t cmos[RTC_CMOS_BYTES];
	int64_t t = 0;

	(void)state;
	host_registers(cmos, RTC_B_24H, 0x00, 0x26, 0x01, 0x01, 0x00, 0x00, 0x00);
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, unix_of(2026, 1, 1, 0, 0, 0));
	host_registers(cmos, RTC_B_24H, 0xff, 0x99, 0x12, 0x31, 0x23, 0x59, 0x59);
	assert_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, unix_of(1999, 12, 31, 23, 59, 59));
}

static void host_rtc_garbage_is_refused(void **state)
{
	uint8_t cmos[RTC_CMOS_BYTES];
	int64_t t = 12345;

	(void)state;
	memset(cmos, 0xff, sizeof(cmos)); /* no RTC: the bus floats */
	assert_non_null(cmos_rtc_decode(cmos, &t));
	host_registers(cmos, RTC_B_24H, 0x20, 0x26, 0x1a, 0x01, 0x00, 0x00, 0x00); /* BCD digit above 9 */
	assert_non_null(cmos_rtc_decode(cmos, &t));
	host_registers(cmos, RTC_B_24H, 0x20, 0x26, 0x02, 0x30, 0x00, 0x00, 0x00); /* 30 February */
	assert_non_null(cmos_rtc_decode(cmos, &t));
	host_registers(cmos, RTC_B_24H, 0x20, 0x26, 0x01, 0x01, 0x24, 0x00, 0x00);
	assert_non_null(cmos_rtc_decode(cmos, &t));
	host_registers(cmos, RTC_B_24H | RTC_B_BINARY, 20, 26, 1, 1, 0, 60, 0);
	assert_non_null(cmos_rtc_decode(cmos, &t));
	host_registers(cmos, RTC_B_24H | RTC_B_BINARY, 20, 126, 1, 1, 0, 0, 0); /* year 126 */
	assert_non_null(cmos_rtc_decode(cmos, &t));
	assert_int_equal(t, 12345);
}

/* ---- the clock */

static void walltime_counts_from_the_read(void **state)
{
	(void)state;
	assert_int_equal(walltime_init(1796286600ll, 1000), 0);
	assert_int_equal(walltime_unix_ns(1000), 1796286600ull * 1000000000ull);
	assert_int_equal(walltime_unix_ns(1000 + HZ * 3 + HZ / 2), 1796286603500000000ull);
	assert_int_equal(walltime_unix_ns(999), 1796286600ull * 1000000000ull); /* never before the read */
	assert_int_equal(walltime_unix_ns(1000 + 1000ull * 86400 * HZ), (1796286600ull + 86400000ull) * 1000000000ull);
}

static void walltime_inverse_is_the_first_tick_there(void **state)
{
	uint64_t ns, tsc;

	(void)state;
	assert_int_equal(walltime_init(WALLTIME_FALLBACK, 7), 0);
	assert_int_equal(walltime_tsc((uint64_t)WALLTIME_FALLBACK * 1000000000ull + 3), 7 + 6); /* 2 ticks per ns */
	for (ns = 0; ns < 5000; ns += 7) {
		uint64_t want = (uint64_t)WALLTIME_FALLBACK * 1000000000ull + 1000000000ull + ns;
		tsc = walltime_tsc(want);
		assert_true(walltime_unix_ns(tsc) >= want);
		assert_true(walltime_unix_ns(tsc - 1) < want);
	}
	assert_int_equal(walltime_tsc(5), 7); /* a time before the read: the read */
}

static void walltime_refuses_what_it_cannot_hold(void **state)
{
	(void)state;
	assert_int_equal(walltime_init(1000, 5), 0);
	assert_int_equal(walltime_init(-1, 6), -1);
	assert_int_equal(walltime_init(WALLTIME_SECONDS_MAX, 6), -1);
	assert_int_equal(walltime_unix_ns(5), 1000000000000ull); /* the refused reads changed nothing */
	assert_int_equal(walltime_init(WALLTIME_SECONDS_MAX - 1, 0), 0);
	assert_true(walltime_unix_ns(50ull * 365 * 86400 * HZ) > walltime_unix_ns(0)); /* no wrap 50 years on */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_dates_convert_both_ways),
		cmocka_unit_test(leap_years_follow_the_gregorian_rules),
		cmocka_unit_test(the_century_turns),
		cmocka_unit_test(every_day_of_four_centuries_round_trips),
		cmocka_unit_test(fields_out_of_range_carry),
		cmocka_unit_test(validity_is_checked_field_by_field),
		cmocka_unit_test(fields_in_bcd_and_binary),
		cmocka_unit_test(hours_in_12_and_24_hour_form),
		cmocka_unit_test(registers_hold_a_date),
		cmocka_unit_test(host_rtc_decodes_every_format),
		cmocka_unit_test(host_rtc_without_century_takes_1970_to_2069),
		cmocka_unit_test(host_rtc_garbage_is_refused),
		cmocka_unit_test(walltime_counts_from_the_read),
		cmocka_unit_test(walltime_inverse_is_the_first_tick_there),
		cmocka_unit_test(walltime_refuses_what_it_cannot_hold),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
