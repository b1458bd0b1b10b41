#include "mc146818.h"

static int binary(uint8_t b)
{
	return (b & RTC_B_BINARY) != 0;
}

unsigned mc146818_decode(uint8_t v, uint8_t b)
{
	return binary(b) ? v : (v >> 4) * 10u + (v & 0xfu);
}

/* v below 100 in BCD (the caller's fields are), below 256 in binary. */
uint8_t mc146818_encode(unsigned v, uint8_t b)
{
	return (uint8_t)(binary(b) ? v : (v / 10 % 10) << 4 | v % 10);
}

int mc146818_field_valid(uint8_t v, uint8_t b)
{
	return binary(b) || ((v >> 4) < 10 && (v & 0xf) < 10);
}

unsigned mc146818_decode_hour(uint8_t v, uint8_t b)
{
	unsigned hour;

	if (b & RTC_B_24H)
		return mc146818_decode(v, b);
	hour = mc146818_decode(v & (uint8_t)~RTC_HOUR_PM, b) % 12; /* 12 AM is 0, 12 PM is 12 */
	return v & RTC_HOUR_PM ? hour + 12 : hour;
}

uint8_t mc146818_encode_hour(unsigned hour, uint8_t b)
{
	unsigned twelve = hour % 12 ? hour % 12 : 12;

	if (b & RTC_B_24H)
		return mc146818_encode(hour, b);
	return (uint8_t)(mc146818_encode(twelve, b) | (hour >= 12 ? RTC_HOUR_PM : 0));
}

void mc146818_get_date(const uint8_t *cmos, struct date *d)
{
	uint8_t b = cmos[RTC_REG_B];

	d->year = (int64_t)mc146818_decode(cmos[RTC_CENTURY], b) * 100 + mc146818_decode(cmos[RTC_YEAR], b);
	d->month = mc146818_decode(cmos[RTC_MONTH], b);
	d->day = mc146818_decode(cmos[RTC_DAY], b);
	d->hour = mc146818_decode_hour(cmos[RTC_HOURS], b);
	d->minute = mc146818_decode(cmos[RTC_MINUTES], b);
	d->second = mc146818_decode(cmos[RTC_SECONDS], b);
	d->weekday = 0;
}

/* Years outside 0-9999 keep their last four digits: the registers hold no more. */
void mc146818_set_date(uint8_t *cmos, const struct date *d)
{
	uint8_t b = cmos[RTC_REG_B];
	unsigned year = (unsigned)((d->year % 10000 + 10000) % 10000);

	cmos[RTC_SECONDS] = mc146818_encode(d->second, b);
	cmos[RTC_MINUTES] = mc146818_encode(d->minute, b);
	cmos[RTC_HOURS] = mc146818_encode_hour(d->hour, b);
	cmos[RTC_WEEKDAY] = mc146818_encode(d->weekday + 1, b);
	cmos[RTC_DAY] = mc146818_encode(d->day, b);
	cmos[RTC_MONTH] = mc146818_encode(d->month, b);
	cmos[RTC_YEAR] = mc146818_encode(year % 100, b);
	cmos[RTC_CENTURY] = mc146818_encode(year / 100, b);
}

static int hour_valid(uint8_t v, uint8_t b)
{
	uint8_t digits = b & RTC_B_24H ? v : v & (uint8_t)~RTC_HOUR_PM;
	unsigned value = mc146818_decode(digits, b);

	if (!mc146818_field_valid(digits, b))
		return 0;
	return b & RTC_B_24H ? value < 24 : value >= 1 && value <= 12;
}

int mc146818_date_valid(const uint8_t *cmos)
{
	static const uint8_t fields[] = { RTC_SECONDS, RTC_MINUTES, RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY };
	uint8_t b = cmos[RTC_REG_B];
	struct date d;
	unsigned i;

	for (i = 0; i < sizeof(fields); i++)
		if (!mc146818_field_valid(cmos[fields[i]], b) || mc146818_decode(cmos[fields[i]], b) > 99)
			return 0;
	if (!hour_valid(cmos[RTC_HOURS], b))
		return 0;
	mc146818_get_date(cmos, &d);
	return date_valid(&d);
}
