/*
 * Days from and to a civil date with the era arithmetic of Howard
 * Hinnant's "chrono-Compatible Low-Level Date Algorithms": years are
 * counted from March, so that the leap day ends the year, and eras of
 * 400 years (146097 days) repeat exactly.
 */
#include "date.h"

#define DAYS_PER_ERA 146097
#define EPOCH_DAYS 719468 /* 0000-03-01 to 1970-01-01 */
#define EPOCH_WEEKDAY 4   /* 1970-01-01 was a Thursday */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

static int leap(int64_t year)
{
	return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

static unsigned days_in_month(int64_t year, unsigned month)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return month == 2 && leap(year) ? 29u : days[month - 1];
}

/* Days from 1970-01-01 to the first of month (1-12) of year. */
static int64_t days_from_civil(int64_t year, unsigned month)
{
	int64_t y = year - (month <= 2), era = floor_div(y, 400);
	uint64_t year_of_era = (uint64_t)(y - era * 400);
	uint64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5;
	uint64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;

	return era * DAYS_PER_ERA + (int64_t)day_of_era - EPOCH_DAYS;
}

int64_t date_to_unix(const struct date *d)
{
	int64_t year = d->year + (d->month == 0 ? -1 : (int64_t)(d->month - 1) / 12);
	unsigned month = d->month == 0 ? 12 : (d->month - 1) % 12 + 1;
	int64_t days = days_from_civil(year, month) + (int64_t)d->day - 1;

	return days * DATE_SECONDS_PER_DAY + (int64_t)d->hour * 3600 + (int64_t)d->minute * 60 + d->second;
}

void date_from_unix(int64_t seconds, struct date *d)
{
	int64_t days = floor_div(seconds, DATE_SECONDS_PER_DAY), z = days + EPOCH_DAYS;
	int64_t era = floor_div(z, DAYS_PER_ERA);
	uint64_t day_of_era = (uint64_t)(z - era * DAYS_PER_ERA);
	uint64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	uint64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	uint64_t month_from_march = (5 * day_of_year + 2) / 153;
	unsigned time_of_day = (unsigned)(seconds - days * DATE_SECONDS_PER_DAY);

	d->month = (unsigned)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
	d->year = (int64_t)year_of_era + era * 400 + (d->month <= 2);
	d->day = (unsigned)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
	d->hour = time_of_day / 3600;
	d->minute = time_of_day / 60 % 60;
	d->second = time_of_day % 60;
	d->weekday = (unsigned)(days + EPOCH_WEEKDAY - floor_div(days + EPOCH_WEEKDAY, 7) * 7);
}

int date_valid(const struct date *d)
{
	return d->month >= 1 && d->month <= 12 && d->day >= 1 && d->day <= days_in_month(d->year, d->month) &&
	       d->hour < 24 && d->minute < 60 && d->second < 60;
}
