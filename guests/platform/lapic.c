/*
 * The local APIC (Intel SDM Vol. 3A, chapter 11) through its xAPIC page
 * (the MADT's address) or its x2APIC MSRs, and its timer in one-shot,
 * periodic and TSC-deadline modes, timed with the TSC.
 */
#include <stdint.h>

#include "lib/fmt.h"
#include "lib/muldiv.h"
#include "platform.h"

#define MSR_TSC_DEADLINE 0x6e0
#define APIC_BASE_ENABLE (1ull << 11)
#define X2APIC_MSR(offset) (0x800u + ((offset) >> 4))
#define APIC_ID 0x20
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ICR 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0
#define ICR_PENDING (1u << 12)
#define TIMER_PERIODIC (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_1 0xb
#define CPUID1_X2APIC (1u << 21)
#define CPUID1_TSC_DEADLINE (1u << 24)
#define PERIODS 20

int in_x2apic(void)
{
	return (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) != 0;
}

static uint64_t xapic_base(void)
{
	return pf.lapic_addr ? pf.lapic_addr : rdmsr(MSR_APIC_BASE) & ~0xfffull;
}

uint32_t lapic_read(unsigned offset)
{
	if (in_x2apic())
		return (uint32_t)rdmsr(X2APIC_MSR(offset));
	return mmio_read32(xapic_base() + offset);
}

void lapic_write(unsigned offset, uint32_t value)
{
	if (in_x2apic())
		wrmsr(X2APIC_MSR(offset), value);
	else
		mmio_write32(xapic_base() + offset, value);
}

void lapic_eoi(void)
{
	lapic_write(APIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(APIC_ID);

	return in_x2apic() ? id : id >> 24;
}

/* An IPI: the xAPIC takes the destination first, the command sends (SDM 11.6.1). */
void send_ipi(uint32_t dest, uint32_t command)
{
	uint64_t t0 = rdtsc();

	if (in_x2apic()) {
		wrmsr(X2APIC_MSR(APIC_ICR), (uint64_t)dest << 32 | command);
		return;
	}
	lapic_write(APIC_ICR_HIGH, dest << 24);
	lapic_write(APIC_ICR, command);
	while ((lapic_read(APIC_ICR) & ICR_PENDING) && rdtsc() - t0 < ms_ticks(10))
		__asm__ volatile("pause");
}

/* Software-enabled, accepting every priority. */
void lapic_enable(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE);
	lapic_write(APIC_TPR, 0);
	lapic_write(APIC_SVR, 0x100 | VEC_SPURIOUS);
}

/* ---- the timer -------------------------------------------------------- */

/* The current count, and the TSC halfway through reading it. */
static uint32_t count_at(uint64_t *tsc)
{
	uint64_t before = rdtsc();
	uint32_t count = lapic_read(APIC_TIMER_CURRENT);

	*tsc = before + (rdtsc() - before) / 2;
	return count;
}

/* The count's rate against the TSC over ticks, in Hz: the median of 5 spans. Starts the timer at initial. */
static uint64_t count_rate(uint32_t initial, uint64_t ticks)
{
	uint64_t t0, t1, rate[5];
	uint32_t c0, c1;
	unsigned i;

	lapic_write(APIC_TIMER_INITIAL, initial);
	c0 = count_at(&t0);
	for (i = 0; i < 5; i++, c0 = c1, t0 = t1) {
		delay(ticks / 5);
		c1 = count_at(&t1);
		rate[i] = c1 < c0 ? mul_div(c0 - c1, pf.tsc_hz, t1 - t0) : 0;
	}
	return median(rate, 5);
}

/* Without a stated rate: the count's rate measured, masked, over 20 ms. */
static void measure_bus_rate(void)
{
	lapic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	lapic_write(APIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	pf.bus_hz = count_rate(0xffffffffu, ms_ticks(20));
	lapic_write(APIC_TIMER_INITIAL, 0);
}

static const char *rate_note(void)
{
	return pf.bus_from_cpuid ? "bus rate from CPUID 0x40000010"
				 : "bus rate measured: periodic vs one-shot consistency only";
}

/* One-shot: counts at the bus rate, fires once, not before its time, within a period after. */
static int one_shot_once(uint64_t period, uint64_t *rate, uint64_t *late, int *came, int *again)
{
	uint32_t initial = (uint32_t)mul_div(period, pf.bus_hz, pf.tsc_hz);
	uint64_t t0;

	watch_vector(VEC_TIMER);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER);
	t0 = rdtsc();
	*rate = count_rate(initial, period / 2);
	*came = wait_irqs(VEC_TIMER, 1, 3 * period);
	*again = wait_irqs(VEC_TIMER, 2, 2 * period);
	*late = *came ? irq_stamp[0] - t0 - period : 0;
	return *came && !*again && irq_stamp[0] - t0 >= period && *late < period &&
	       per_mille_off(*rate, pf.bus_hz) <= RATE_TOLERANCE;
}

static void one_shot(const char *name, uint64_t period)
{
	uint64_t rate, late;
	int came, again, ok = 0;
	unsigned attempts;

	for (attempts = 1; !(ok = one_shot_once(period, &rate, &late, &came, &again)) && attempts < ATTEMPTS;)
		attempts++;
	report(name, ok ? PASS : FAIL,
	       "count_rate_khz=%llu bus_khz=%llu off_per_mille=%d fired=%d again=%d late_us=%llu attempts=%u (%s)",
	       (unsigned long long)(rate / 1000), (unsigned long long)(pf.bus_hz / 1000),
	       (int)per_mille_off(rate, pf.bus_hz), came, again, (unsigned long long)(late * 1000000 / pf.tsc_hz),
	       attempts, rate_note());
}

/* Periodic: the interrupts' typical period over PERIODS, against the TSC. */
static void periodic(const char *name, uint64_t period)
{
	uint32_t initial = (uint32_t)mul_div(period, pf.bus_hz, pf.tsc_hz);
	uint64_t typical;
	unsigned attempts;

	lapic_write(APIC_LVT_TIMER, VEC_TIMER | TIMER_PERIODIC);
	lapic_write(APIC_TIMER_INITIAL, initial);
	typical = typical_gap(VEC_TIMER, PERIODS, period, RATE_TOLERANCE, &attempts);
	lapic_write(APIC_TIMER_INITIAL, 0);
	report(name, per_mille_off(typical, period) <= RATE_TOLERANCE ? PASS : FAIL,
	       "%u periods of %u counts: median_us=%llu want_us=%llu off_per_mille=%d attempts=%u (%s)", PERIODS,
	       initial, (unsigned long long)(typical * 1000000 / pf.tsc_hz),
	       (unsigned long long)(period * 1000000 / pf.tsc_hz), (int)per_mille_off(typical, period), attempts,
	       rate_note());
}

/*
 * One TSC-deadline run: the interrupt's lateness in *late (0 if it never
 * came); 0 when it came before the deadline or the MSR did not read 0
 * after, which no neighbour's load explains.
 */
static int tsc_deadline_once(uint64_t period, uint64_t *late, int *came)
{
	uint64_t deadline;

	watch_vector(VEC_TIMER);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | TIMER_TSC_DEADLINE);
	deadline = rdtsc() + period;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	*came = wait_irqs(VEC_TIMER, 1, 3 * period);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
	*late = *came && irq_stamp[0] >= deadline ? irq_stamp[0] - deadline : 0;
	return !(*came && irq_stamp[0] < deadline) && rdmsr(MSR_TSC_DEADLINE) == 0;
}

/*
 * TSC-deadline: fires at the deadline, not before, within a period; the
 * MSR reads 0 after. A run that came late is run again, as one_shot's.
 */
static void tsc_deadline(const char *name, uint64_t period)
{
	uint32_t r[4];
	uint64_t late;
	unsigned attempts;
	int came, right;

	cpuid(1, r);
	if (!(r[2] & CPUID1_TSC_DEADLINE)) {
		report(name, SKIP, "CPUID.1:ECX.TSC_DEADLINE[24] clear");
		return;
	}
	for (attempts = 1;; attempts++) {
		right = tsc_deadline_once(period, &late, &came);
		if (!right || (came && late < period) || attempts == ATTEMPTS)
			break;
	}
	report(name, right && came && late < period ? PASS : FAIL, "fired=%d late_us=%llu early_or_kept=%d attempts=%u",
	       came, (unsigned long long)(late * 1000000 / pf.tsc_hz), !right, attempts);
}

static void timer_checks(const char *view)
{
	uint64_t period = ms_ticks(10);
	char name[40];

	lapic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	fmt(name, sizeof(name), "lapic_%s_oneshot", view);
	one_shot(name, 4 * period); /* long enough for the count's rate to show */
	fmt(name, sizeof(name), "lapic_%s_periodic", view);
	periodic(name, period);
	fmt(name, sizeof(name), "lapic_%s_tsc_deadline", view);
	tsc_deadline(name, period);
}

void check_lapic_timers(void)
{
	uint32_t r[4], xapic_id = lapic_id();

	if (!pf.bus_from_cpuid)
		measure_bus_rate();
	timer_checks("xapic");
	cpuid(1, r);
	if (!(r[2] & CPUID1_X2APIC)) {
		report("lapic_x2apic", SKIP, "CPUID.1:ECX.x2APIC[21] clear");
		return;
	}
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	report("lapic_x2apic", in_x2apic() && lapic_id() == xapic_id ? PASS : FAIL,
	       "x2APIC mode on: id=%u (xAPIC id %u)", lapic_id(), xapic_id);
	timer_checks("x2apic");
}
