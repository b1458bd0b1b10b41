/*
 * The host's RTC is read the way the MC146818A datasheet ("Update Cycle")
 * allows: when its update-in-progress bit is clear, the time registers
 * will not change for at least 244 us; reading them twice, each time
 * after UIP is clear, and keeping the first pair that agrees rules out a
 * read that straddled an update all the same (an SMI, an emulator
 * descheduled between two reads). The second it shows began somewhere in
 * the second before: the wall clock is up to a second behind.
 */
#include "cmos_rtc.h"

#include "arch.h"
#include "cpu.h"
#include "lib/mc146818.h"

#define CMOS_INDEX 0x70 /* bit 7 clear: NMIs stay enabled */
#define CMOS_DATA 0x71
#define UIP_WAIT_US 10000 /* UIP lasts 244 + 1984 us at most (MC146818A, "Update Cycle") */
#define READS_MAX 8

static const uint8_t time_registers[] = { RTC_SECONDS, RTC_MINUTES, RTC_HOURS, RTC_DAY,
					  RTC_MONTH,   RTC_YEAR,    RTC_REG_B, RTC_CENTURY };

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static int wait_update_done(void)
{
	uint64_t end = arch_tsc() + arch_tsc_hz() / 1000000 * UIP_WAIT_US;

	while (cmos_read(RTC_REG_A) & RTC_A_UIP)
		if (arch_tsc() > end)
			return -1;
	return 0;
}

/* The time registers into cmos[]; -1 if an update never ends. */
static int read_time(uint8_t *cmos)
{
	unsigned i;

	if (wait_update_done())
		return -1;
	for (i = 0; i < sizeof(time_registers); i++)
		cmos[time_registers[i]] = cmos_read(time_registers[i]);
	return 0;
}

static int same_time(const uint8_t *a, const uint8_t *b)
{
	unsigned i;

	for (i = 0; i < sizeof(time_registers); i++)
		if (a[time_registers[i]] != b[time_registers[i]])
			return 0;
	return 1;
}

const char *cmos_rtc_read(int64_t *unix_seconds, uint64_t *tsc)
{
	uint8_t last[RTC_CMOS_BYTES] = { 0 }, now[RTC_CMOS_BYTES] = { 0 };
	unsigned i;

	if (read_time(last))
		return "its update never ends";
	for (i = 0; i < READS_MAX; i++) {
		if (read_time(now))
			return "its update never ends";
		if (same_time(last, now)) {
			*tsc = arch_tsc();
			return cmos_rtc_decode(now, unix_seconds);
		}
		__builtin_memcpy(last, now, sizeof(now));
	}
	return "it shows another time at every read";
}

const char *cmos_rtc_decode(const uint8_t *cmos, int64_t *unix_seconds)
{
	uint8_t regs[RTC_CMOS_BYTES], b = cmos[RTC_REG_B];
	struct date d;

	__builtin_memcpy(regs, cmos, sizeof(regs));
	if (!mc146818_field_valid(regs[RTC_CENTURY], b) || mc146818_decode(regs[RTC_CENTURY], b) < 19)
		regs[RTC_CENTURY] = mc146818_encode(mc146818_decode(regs[RTC_YEAR], b) < 70 ? 20 : 19, b);
	if (!mc146818_date_valid(regs))
		return "it holds no valid date";
	mc146818_get_date(regs, &d);
	*unix_seconds = date_to_unix(&d);
	return 0;
}
