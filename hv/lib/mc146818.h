/*
 * The Motorola MC146818A real-time clock as every PC has it (MC146818A
 * datasheet, "Address Map", "Time, Calendar and Alarm Locations",
 * "Registers"), with the century byte at 0x32 of its CMOS RAM (the IBM
 * PC AT's place for it, which ACPI's FADT CENTURY field names): register
 * numbers, bits, and the formats of the time registers. Shared by the
 * driver of the host's RTC (drivers/cmos_rtc.c) and the partitions'
 * virtual one (hv/vdev/rtc.c).
 */
#ifndef HV_LIB_MC146818_H
#define HV_LIB_MC146818_H

#include <stdint.h>

#include "date.h"

#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_WEEKDAY 0x06 /* 1 Sunday ... 7 Saturday */
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09    /* 0-99 */
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_REG_D 0x0d
#define RTC_CENTURY 0x32
#define RTC_CMOS_BYTES 128

#define RTC_A_UIP 0x80       /* update in progress */
#define RTC_A_DIVIDER 0x70   /* DV2-DV0 */
#define RTC_A_RATE 0x0f      /* RS3-RS0 */
#define RTC_B_SET 0x80
#define RTC_B_PIE 0x40
#define RTC_B_AIE 0x20
#define RTC_B_UIE 0x10
#define RTC_B_SQWE 0x08      /* square-wave output */
#define RTC_B_BINARY 0x04    /* DM: binary, else BCD */
#define RTC_B_24H 0x02
#define RTC_C_IRQF 0x80
#define RTC_C_PF 0x40        /* each flag has its enable at the same bit of B */
#define RTC_C_AF 0x20
#define RTC_C_UF 0x10
#define RTC_D_VRT 0x80       /* valid RAM and time: the battery is good */
#define RTC_HOUR_PM 0x80     /* in the 12-hour format */

/*
 * A field in the format register B (b) gives it: BCD or binary. BCD
 * digits above 9 decode as what they are worth (0x1F is 25), so that no
 * byte a guest writes is refused; mc146818_field_valid() tells them.
 */
unsigned mc146818_decode(uint8_t v, uint8_t b);
uint8_t mc146818_encode(unsigned v, uint8_t b);
int mc146818_field_valid(uint8_t v, uint8_t b);

/* The hours register: 0-23 as 24-hour, or 12-hour with RTC_HOUR_PM (12 AM is midnight). */
unsigned mc146818_decode_hour(uint8_t v, uint8_t b);
uint8_t mc146818_encode_hour(unsigned hour, uint8_t b);

/*
 * The date the time registers of cmos[] (indexed by register number, of
 * RTC_CMOS_BYTES) hold, in the format of cmos[RTC_REG_B]; fields as
 * decoded, unchecked (date_to_unix() carries those out of range). The
 * weekday register is not read: the date says which day it is.
 */
void mc146818_get_date(const uint8_t *cmos, struct date *d);
/* The time registers, weekday and century of cmos[] set to d. */
void mc146818_set_date(uint8_t *cmos, const struct date *d);
/* 1 if every time register and the century hold a value their format allows and the date exists. */
int mc146818_date_valid(const uint8_t *cmos);

#endif
