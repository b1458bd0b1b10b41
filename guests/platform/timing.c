/*
 * Clocks: the TSC's rate (stated by the hypervisor's CPUID leaf, else
 * measured against the ACPI PM timer), the 8254's channel 2 gated
 * through port 0x61 as operating systems calibrate with it, and the
 * CMOS RTC's date and time.
 */
#include <stdint.h>

#include "lib/muldiv.h"
#include "platform.h"

#define HV_LEAF 0x40000000
#define HV_TIMING_LEAF 0x40000010 /* EAX: TSC kHz, EBX: local APIC bus kHz */
#define PORT61 0x61
#define PORT61_GATE2 0x01
#define PORT61_SPEAKER 0x02
#define PORT61_OUT2 0x20
#define PIT_CMD 0x43
#define PIT_CH2 0x42
#define RTC_INDEX 0x70
#define RTC_DATA 0x71
#define RTC_A_UIP 0x80
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define CALIBRATE_MS 10
#define PIT_SPAN_MS 20
#define SPANS 9 /* the median of as many spans of CALIBRATE_MS: a busy host stops us now and then */

static uint64_t pm_measured_hz;
static char hv_signature[13];

uint32_t pm_timer_read(void)
{
	return inl(pf.pm_timer) & (pf.pm_timer_32 ? 0xffffffffu : 0xffffffu);
}

static uint32_t pm_ticks_between(uint32_t a, uint32_t b)
{
	return (b - a) & (pf.pm_timer_32 ? 0xffffffffu : 0xffffffu);
}

/* The TSC's rate against the PM timer over CALIBRATE_MS. */
static uint64_t tsc_hz_by_pm_span(void)
{
	uint32_t p0, p1, want = (uint32_t)(PM_TIMER_HZ * CALIBRATE_MS / 1000), t;
	uint64_t t0, t1;

	p0 = pm_timer_read();
	while ((t = pm_timer_read()) == p0) /* start on an edge */
		;
	p0 = t;
	t0 = rdtsc();
	do
		p1 = pm_timer_read();
	while (pm_ticks_between(p0, p1) < want);
	t1 = rdtsc();
	return mul_div(t1 - t0, PM_TIMER_HZ, pm_ticks_between(p0, p1));
}

/* The median of SPANS spans: a busy host can stop us between reading one clock and the other. */
static uint64_t tsc_hz_by_pm_timer(void)
{
	uint64_t hz[SPANS];
	unsigned i;

	if (!pf.pm_timer)
		return 0;
	for (i = 0; i < SPANS; i++)
		hz[i] = tsc_hz_by_pm_span();
	return median(hz, SPANS);
}

/* The rates every check uses: pf.tsc_hz and, where stated, pf.bus_hz. */
void measure_rates(void)
{
	uint32_t r[4];

	cpuid(HV_LEAF, r);
	*(uint32_t *)&hv_signature[0] = r[1];
	*(uint32_t *)&hv_signature[4] = r[2];
	*(uint32_t *)&hv_signature[8] = r[3];
	cpuid(1, r);
	if ((r[2] >> 31 & 1) && (cpuid(HV_LEAF, r), r[0] >= HV_TIMING_LEAF)) {
		cpuid(HV_TIMING_LEAF, r);
		pf.tsc_hz = (uint64_t)r[0] * 1000;
		pf.bus_hz = (uint64_t)r[1] * 1000;
		pf.bus_from_cpuid = pf.bus_hz != 0;
	}
	pm_measured_hz = tsc_hz_by_pm_timer();
	if (!pf.tsc_hz)
		pf.tsc_hz = pm_measured_hz;
}

void check_tsc_rate(void)
{
	unsigned off = per_mille_off(pm_measured_hz, pf.tsc_hz);

	if (!pf.tsc_hz) {
		report("tsc_rate", FAIL, "no CPUID 0x%x rate and no PM timer to measure against", HV_TIMING_LEAF);
		pf.tsc_hz = 1000000000; /* something to time the other checks with */
		return;
	}
	if (pm_measured_hz == pf.tsc_hz) {
		report("tsc_rate", PASS, "source=pm_timer tsc_khz=%llu (no CPUID 0x%x rate; signature '%s')",
		       (unsigned long long)(pf.tsc_hz / 1000), HV_TIMING_LEAF, hv_signature);
		return;
	}
	report("tsc_rate", !pm_measured_hz || off <= 10 ? PASS : FAIL,
	       "source=cpuid_0x%x signature '%s' tsc_khz=%llu pm_timer_khz=%llu off_per_mille=%d", HV_TIMING_LEAF,
	       hv_signature, (unsigned long long)(pf.tsc_hz / 1000), (unsigned long long)(pm_measured_hz / 1000),
	       (int)off);
}

/*
 * Channel 2 in mode 0 (interrupt on terminal count) with its gate from
 * port 0x61: OUT2, read back in port 0x61 bit 5, rises when the count
 * runs out (8254 datasheet, mode 0; Linux's pit_calibrate_tsc()). The
 * TSC's rate over one count; 0 if OUT2 never rose. The TSC is read
 * before the count starts and after OUT2 is seen: a stall on a busy host
 * can only lengthen a span, so the shortest of several is the truest.
 */
static uint64_t tsc_hz_by_pit_span(uint32_t count)
{
	uint64_t t0, t1;
	int rose;

	outb(PIT_CMD, 0xb0); /* channel 2, lobyte/hibyte, mode 0, binary */
	outb(PIT_CH2, (uint8_t)count);
	t0 = rdtsc();
	outb(PIT_CH2, (uint8_t)(count >> 8)); /* counting starts with the high byte */
	while (!(rose = (inb(PORT61) & PORT61_OUT2) != 0) && rdtsc() - t0 < 4 * ms_ticks(PIT_SPAN_MS))
		;
	t1 = rdtsc();
	return rose ? mul_div(t1 - t0, PIT_HZ, count) : ~0ull;
}

void check_pit_calibration(void)
{
	uint32_t count = (uint32_t)(PIT_HZ * PIT_SPAN_MS / 1000);
	uint8_t p61 = inb(PORT61);
	uint64_t hz, best = ~0ull;
	unsigned i;

	outb(PORT61, (uint8_t)((p61 & ~PORT61_SPEAKER) | PORT61_GATE2));
	for (i = 0; i < SPANS; i++)
		if ((hz = tsc_hz_by_pit_span(count)) < best)
			best = hz;
	outb(PORT61, p61);
	report("pit_calibration", per_mille_off(best, pf.tsc_hz) <= 10 ? PASS : FAIL,
	       "channel 2, shortest of %u counts of %u: tsc_khz=%llu against %llu off_per_mille=%d", SPANS, count,
	       (unsigned long long)(best / 1000), (unsigned long long)(pf.tsc_hz / 1000),
	       (int)per_mille_off(best, pf.tsc_hz));
}

/* ---- RTC (MC146818A datasheet) ---------------------------------------- */

uint8_t rtc_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

void rtc_write(uint8_t reg, uint8_t value)
{
	outb(RTC_INDEX, reg);
	outb(RTC_DATA, value);
}

struct rtc_time {
	unsigned sec, min, hour, day, month, year, century;
};

static unsigned from_bcd(uint8_t v, int binary)
{
	return binary ? v : (v >> 4) * 10u + (v & 15u);
}

static void rtc_registers(uint8_t v[7])
{
	static const uint8_t regs[6] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09 }; /* s, min, h, day, month, year */
	unsigned i;

	for (i = 0; i < 6; i++)
		v[i] = rtc_read(regs[i]);
	v[6] = pf.century ? rtc_read(pf.century) : 0; /* the FADT names the century's register */
}

/* A reading outside an update: UIP clear, the same values twice. */
static void rtc_now(struct rtc_time *t, int binary)
{
	uint8_t v[7], w[7];
	unsigned i, same;

	do {
		while (rtc_read(0x0a) & RTC_A_UIP)
			;
		rtc_registers(v);
		rtc_registers(w);
		for (i = 0, same = 1; i < 7; i++)
			same &= v[i] == w[i];
	} while (!same);
	t->sec = from_bcd(v[0], binary);
	t->min = from_bcd(v[1], binary);
	t->hour = from_bcd(v[2] & 0x7f, binary);
	t->day = from_bcd(v[3], binary);
	t->month = from_bcd(v[4], binary);
	t->year = from_bcd(v[5], binary);
	t->century = from_bcd(v[6], binary);
}

/* Waits for the seconds to change from s; the TSC then. */
static uint64_t next_second(unsigned *s, int binary, uint64_t limit)
{
	uint64_t t0 = rdtsc();
	struct rtc_time t;

	do
		rtc_now(&t, binary);
	while (t.sec == *s && rdtsc() - t0 < limit);
	*s = t.sec;
	return rdtsc();
}

void check_rtc_time(void)
{
	uint8_t b = rtc_read(0x0b);
	int binary = (b & RTC_B_BINARY) != 0, valid;
	struct rtc_time t;
	unsigned s0, s1;
	uint64_t t0, t1;

	rtc_now(&t, binary);
	valid = t.sec < 60 && t.min < 60 && t.hour < 24 && t.day >= 1 && t.day <= 31 && t.month >= 1 &&
		t.month <= 12 && t.year < 100;
	s0 = t.sec;
	t0 = next_second(&s0, binary, 2 * pf.tsc_hz);
	s1 = s0;
	t1 = next_second(&s1, binary, 2 * pf.tsc_hz);
	report("rtc_time", valid && (s0 + 1) % 60 == s1 && per_mille_off(t1 - t0, pf.tsc_hz) <= 20 ? PASS : FAIL,
	       "%02u%02u-%02u-%02u %02u:%02u:%02u %s %s; second %u->%u took %llu us of TSC", t.century, t.year,
	       t.month, t.day, t.hour, t.min, t.sec, binary ? "binary" : "BCD", b & RTC_B_24H ? "24h" : "12h", s0,
	       s1, (unsigned long long)((t1 - t0) * 1000000 / pf.tsc_hz));
}
