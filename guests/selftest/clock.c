/*
 * mode=clock: the partition's clocks as the guest sees them, every half
 * second of its own time (its local APIC's timer, periodic): a line
 * "CLOCK n tsc=T tsc_khz=K pm=P rtc=S" with n the timer's count, its TSC,
 * the rate the hypervisor states for it (CPUID 0x40000010 EAX), the ACPI
 * PM timer and the RTC's time of day in seconds. Across a pause of its
 * partition each should have moved by the half second between two lines,
 * not by the time paused.
 */
#include <stdint.h>

#include "selftest.h"
#include "vdev/platform.h"

#define APIC_EOI 0xfee000b0ull
#define APIC_SVR 0xfee000f0ull
#define APIC_LVT_TIMER 0xfee00320ull
#define APIC_TIMER_INITIAL 0xfee00380ull
#define APIC_TIMER_DIVIDE 0xfee003e0ull
#define LVT_PERIODIC (1u << 17)
#define DIVIDE_BY_1 0xb
#define PM_TIMER_PORT (PLATFORM_ACPI_PM_PORT + 8) /* its 32-bit PM timer (platform.h) */
#define PERIOD_MS 500
#define RTC_A 0x0a
#define RTC_A_UIP 0x80

static volatile unsigned ticks;

void clock_interrupt(void)
{
	ticks++;
	mmio_write32(APIC_EOI, 0);
}

static uint8_t cmos(uint8_t reg)
{
	outb(PLATFORM_RTC_PORT, reg);
	return inb(PLATFORM_RTC_PORT + 1);
}

static unsigned from_bcd(uint8_t v)
{
	return (v >> 4) * 10u + (v & 0xf);
}

/* The RTC's time of day in seconds (BCD, 24-hour: as reset leaves it), read outside an update. */
static unsigned rtc_seconds(void)
{
	unsigned s, again;

	do {
		while (cmos(RTC_A) & RTC_A_UIP)
			;
		s = from_bcd(cmos(4)) * 3600 + from_bcd(cmos(2)) * 60 + from_bcd(cmos(0));
		again = from_bcd(cmos(0));
	} while (again != s % 60);
	return s;
}

void clock_report(void)
{
	uint32_t hv[4];
	unsigned printed = 0;

	cpuid(0x40000010, hv); /* EAX: TSC kHz, EBX: APIC timer kHz */
	mmio_write32(APIC_SVR, 0x1ff);
	mmio_write32(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	mmio_write32(APIC_LVT_TIMER, CLOCK_VECTOR | LVT_PERIODIC);
	mmio_write32(APIC_TIMER_INITIAL, hv[1] * PERIOD_MS);
	print("CLOCK ready period_ms=%u\n", PERIOD_MS);
	for (;;) {
		__asm__ volatile("sti; hlt; cli");
		if (ticks == printed)
			continue;
		printed = ticks;
		print("CLOCK %u tsc=%llu tsc_khz=%u pm=%u rtc=%u\n", printed, (unsigned long long)rdtsc(), hv[0],
		      inl(PM_TIMER_PORT), rtc_seconds());
	}
}
