/*
 * The local APIC the hypervisor gives each vCPU (Intel SDM Vol. 3A,
 * chapter 11): its timer in one-shot, periodic and TSC-deadline modes,
 * through the xAPIC page and then the x2APIC MSRs, against the TSC;
 * priorities (TPR, in-service order); IPIs to vCPU 1.
 */
#include <stdint.h>

#include "selftest.h"

#define MSR_APIC_BASE 0x1b
#define MSR_TSC_DEADLINE 0x6e0
#define APIC_BASE_X2APIC (1ull << 10)
#define XAPIC_PAGE 0xfee00000ull
#define X2APIC_MSR(offset) (0x800u + ((offset) >> 4))

#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_IRR 0x200
#define APIC_ICR 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3e0
#define APIC_SELF_IPI 0x3f0

#define TIMER_VECTOR 0x40
#define IPI_VECTOR 0x41
#define LOW_VECTOR 0x30  /* priority class 3 */
#define HIGH_VECTOR 0x58 /* class 5 */
#define TIMER_PERIODIC (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define DIVIDE_BY_1 0xb
#define ICR_OTHERS (3u << 18)

#define PERIODS 40
/* How late an interrupt may come, in 10 ms periods: its vCPU may wait for three neighbours' slices. */
#define LATE_MAX 4
#define TOLERANCE_PER_MILLE 20 /* 2 % */
/*
 * Runs of a timer measured before its rate counts as wrong: under an
 * emulator on a busy host the whole guest can stop for tens of ms (every
 * interrupt of a half late, or a one-shot's count run out between two
 * reads); a wrong rate is wrong on every run.
 */
#define ATTEMPTS 3

static volatile unsigned timer_count, ap_ipis, order_count;
static volatile uint64_t timer_stamp[PERIODS + 1];
static volatile uint8_t order[4];

static int in_x2apic(void)
{
	return (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) != 0;
}

static uint64_t apic_read(unsigned offset)
{
	if (in_x2apic())
		return rdmsr(X2APIC_MSR(offset));
	return *(volatile uint32_t *)(uintptr_t)(XAPIC_PAGE + offset);
}

static void apic_write(unsigned offset, uint64_t value)
{
	if (in_x2apic())
		wrmsr(X2APIC_MSR(offset), value);
	else
		*(volatile uint32_t *)(uintptr_t)(XAPIC_PAGE + offset) = (uint32_t)value;
}

/* An IPI to APIC ID dest: the xAPIC writes the destination first, the command then sends. */
static void send_ipi(uint32_t dest, uint32_t command)
{
	if (in_x2apic()) {
		wrmsr(X2APIC_MSR(APIC_ICR), (uint64_t)dest << 32 | command);
		return;
	}
	apic_write(APIC_ICR_HIGH, dest << 24);
	apic_write(APIC_ICR, command);
}

void apic_interrupt(uint64_t vector)
{
	if (vector == TIMER_VECTOR && timer_count <= PERIODS)
		timer_stamp[timer_count] = rdtsc();
	if (vector == TIMER_VECTOR)
		timer_count++;
	else if (vector == IPI_VECTOR)
		ap_ipis++;
	else if (order_count < sizeof(order))
		order[order_count++] = (uint8_t)vector;
	apic_write(APIC_EOI, 0);
}

void apic_ap_init(void)
{
	apic_write(APIC_SVR, 0x1ff); /* software-enabled, spurious vector 0xff */
}

/* Halts until count reaches n or `ticks` of TSC pass (the hypervisor's wake-up ends the last HLT); 1 if it did. */
static int wait_for(volatile unsigned *count, unsigned n, uint64_t ticks)
{
	uint64_t t0 = rdtsc(), now;

	while (*count < n && (now = rdtsc()) - t0 < ticks) {
		wake_after(ticks - (now - t0));
		__asm__ volatile("sti; hlt; cli");
	}
	return *count >= n;
}

/* |measured - expected| in thousandths of expected; ~0u if it never came. */
static unsigned error_per_mille(uint64_t measured, uint64_t expected)
{
	uint64_t d = measured > expected ? measured - expected : expected - measured;

	return measured ? (unsigned)(d * 1000 / expected) : ~0u;
}

struct rates {
	uint64_t tsc_hz, bus_hz;
};

/*
 * The current count, and the TSC halfway through reading it (a read
 * exits: it takes time). Of a few reads, the quickest: a read during
 * which the vCPU lost its CPU to a neighbour says little of when it was.
 */
static uint64_t count_at(uint64_t *tsc)
{
	uint64_t best = ~0ull, count = 0;
	unsigned i;

	for (i = 0; i < 8; i++) {
		uint64_t before = rdtsc(), c = apic_read(APIC_TIMER_CURRENT), took = rdtsc() - before;
		if (took < best) {
			best = took;
			count = c;
			*tsc = before + took / 2;
		}
	}
	return count;
}

/*
 * The count's rate against the TSC, over about half the period:
 * thousandths off bus_hz. Read every 1/64 of the period, the last count
 * not yet 0 ends the span: a vCPU that lost its CPU for a while may find
 * the count run out, which says nothing of its rate.
 */
static unsigned count_rate_error(const struct rates *r, uint64_t period)
{
	uint64_t t0, t1 = 0, c0 = count_at(&t0), c1 = c0, t, c;

	do {
		uint64_t next = rdtsc() + period / 64;
		while (rdtsc() < next)
			__asm__ volatile("pause");
		c = count_at(&t);
		if (c) {
			c1 = c;
			t1 = t;
		}
	} while (c && t - t0 < period / 2);
	if (c1 >= c0)
		return ~0u;
	return error_per_mille((c0 - c1) * r->tsc_hz / (t1 - t0), r->bus_hz);
}

/*
 * One-shot: counts down at the bus rate, fires once, not before the period
 * is over. *wrong when it fired early or twice or its count did not end at
 * 0: no neighbour's load explains those.
 */
static unsigned one_shot(const struct rates *r, uint64_t period, uint64_t *late, int *wrong)
{
	uint64_t t0;
	unsigned rate;
	int came, again;

	timer_count = 0;
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR);
	t0 = rdtsc();
	apic_write(APIC_TIMER_INITIAL, period * r->bus_hz / r->tsc_hz);
	rate = count_rate_error(r, period);
	came = wait_for(&timer_count, 1, period + LATE_MAX * period / 4);
	*late = timer_stamp[0] - t0 - period;
	again = wait_for(&timer_count, 2, 2 * period); /* must not: one shot */
	*wrong = again || (came && timer_stamp[0] - t0 < period) || apic_read(APIC_TIMER_CURRENT) != 0;
	if (!came || *wrong)
		return ~0u;
	return rate;
}

/*
 * Of the interrupts stamped first..last, the earliest against the period's
 * grid (counted from stamp 0): its distance from the grid, and its period
 * number. An interrupt can come late (its vCPU waited for the CPU), never
 * early.
 */
static uint64_t earliest_on_grid(uint64_t period, unsigned first, unsigned last, uint64_t *n)
{
	uint64_t best = ~0ull;
	unsigned j;

	for (j = first; j <= last; j++) {
		uint64_t since = timer_stamp[j] - timer_stamp[0], k = (since + period / 2) / period;
		uint64_t off = since - k * period + period; /* plus a period: never below 0 */
		if (off < best) {
			best = off;
			*n = k;
		}
	}
	return best;
}

/*
 * Periodic: the interrupts' rate over PERIODS periods, against the TSC.
 * The drift of the earliest arrivals of the first and the second half
 * gives it: a neighbour on the CPU delays some interrupts (or merges two,
 * as on hardware whose CPU has interrupts off for a period) without
 * changing the rate they are on. Halves, not quarters: with three vCPUs
 * taking turns of 10 ms on one CPU, six periods in a row could all come
 * a few ms late.
 */
static unsigned periodic(const struct rates *r, uint64_t period)
{
	uint64_t early, late, n_early = 0, n_late = 0;
	int came;

	timer_count = 0;
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR | TIMER_PERIODIC);
	apic_write(APIC_TIMER_INITIAL, period * r->bus_hz / r->tsc_hz);
	came = wait_for(&timer_count, PERIODS + 1, 2 * (PERIODS + 3) * period);
	apic_write(APIC_TIMER_INITIAL, 0); /* stops it */
	if (!came)
		return ~0u;
	early = earliest_on_grid(period, 0, PERIODS / 2 - 1, &n_early);
	late = earliest_on_grid(period, PERIODS / 2, PERIODS, &n_late);
	if (n_late <= n_early)
		return ~0u;
	return error_per_mille(period * (n_late - n_early) + late - early, period * (n_late - n_early));
}

/* TSC-deadline: fires at the deadline, never before; *late by how much after. */
static int tsc_deadline(const struct rates *r, uint64_t period, uint64_t *late)
{
	uint64_t deadline;
	int came;

	timer_count = 0;
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR | TIMER_TSC_DEADLINE);
	deadline = rdtsc() + period;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	came = wait_for(&timer_count, 1, (LATE_MAX + 1) * period);
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR | (1u << 16)); /* masked, one-shot again */
	*late = timer_stamp[0] - deadline;
	(void)r;
	return came && timer_stamp[0] >= deadline && rdmsr(MSR_TSC_DEADLINE) == 0;
}

/*
 * The rates must be right within 2 %; how late an interrupt comes after
 * its time is the emulator's and the scheduler's latency, reported, and
 * only bounded by LATE_MAX periods.
 */
static void check_timer(const char *name, const struct rates *r)
{
	uint64_t period = r->tsc_hz / 100; /* 10 ms */
	uint64_t once_late, deadline_late;
	unsigned once, every, once_attempts, attempts;
	int deadline, once_wrong;

	apic_write(APIC_TPR, 0);
	apic_write(APIC_SVR, 0x1ff);
	apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	for (once_attempts = 1;; once_attempts++) {
		once = one_shot(r, 4 * period, &once_late, &once_wrong); /* long enough for the count's rate to show */
		if (once_wrong || (once <= TOLERANCE_PER_MILLE && once_late < LATE_MAX * period) || once_attempts == ATTEMPTS)
			break;
	}
	for (attempts = 1;; attempts++) {
		every = periodic(r, period);
		if (every <= TOLERANCE_PER_MILLE || attempts == ATTEMPTS)
			break;
	}
	deadline = tsc_deadline(r, period, &deadline_late);
	report(name, once <= TOLERANCE_PER_MILLE && every <= TOLERANCE_PER_MILLE && deadline && once_late < LATE_MAX * period &&
			     deadline_late < LATE_MAX * period,
	       "rate_error_per_mille one_shot=%d periodic=%d (attempts=%u,%u) late_us one_shot=%llu tsc_deadline=%llu%s "
	       "bus_khz=%llu",
	       (int)once, (int)every, once_attempts, attempts, (unsigned long long)(once_late * 1000000 / r->tsc_hz),
	       (unsigned long long)(deadline_late * 1000000 / r->tsc_hz), deadline ? "" : " (early or never)",
	       (unsigned long long)(r->bus_hz / 1000));
}

/* The vectors taken while interrupts were let in for a moment. */
static unsigned let_in(void)
{
	order_count = 0;
	__asm__ volatile("sti; nop; nop; cli");
	return order_count;
}

/*
 * A self-IPI below the TPR waits and comes as soon as the TPR (here
 * CR8, which the TPR register sets) drops; two that wait together come
 * highest class first, both seen in the IRR meanwhile.
 */
static void check_priority(void)
{
	uint64_t cr8;
	unsigned held, after_drop, in_irr, both;

	apic_write(APIC_TPR, 0x50);
	__asm__ volatile("mov %%cr8, %0" : "=r"(cr8));
	apic_write(APIC_SELF_IPI, LOW_VECTOR);
	held = let_in();
	__asm__ volatile("mov %0, %%cr8" : : "r"(0ull));
	after_drop = let_in() == 1 && order[0] == LOW_VECTOR;
	apic_write(APIC_SELF_IPI, LOW_VECTOR);
	apic_write(APIC_SELF_IPI, HIGH_VECTOR);
	in_irr = (apic_read(APIC_IRR + 0x10) >> (LOW_VECTOR - 32) & 1) && (apic_read(APIC_IRR + 0x20) >> (HIGH_VECTOR - 64) & 1);
	both = let_in();
	report("apic_priority", cr8 == 5 && held == 0 && after_drop && in_irr && both == 2 &&
					order[0] == HIGH_VECTOR && order[1] == LOW_VECTOR,
	       "cr8=%llu held_below_tpr=%u came_after_tpr_drop=%u both_in_irr=%u order=0x%x,0x%x",
	       (unsigned long long)cr8, held, after_drop, in_irr, order[0], order[1]);
}

/* Alone in its partition: an IPI to its own APIC ID comes; all-but-self reaches no one. */
static void check_ipi_alone(uint64_t tsc_hz)
{
	int to_self, to_others;

	ap_ipis = 0;
	send_ipi(0, IPI_VECTOR);
	to_self = wait_for(&ap_ipis, 1, tsc_hz);
	send_ipi(0, IPI_VECTOR | ICR_OTHERS);
	to_others = wait_for(&ap_ipis, 2, tsc_hz / 100);
	report("apic_ipi", to_self && !to_others && ap_ipis == 1, "vcpus=1 to_own_id=%d all_but_self_came_back=%d",
	       to_self, to_others);
}

/* vCPU 1 (sleeping in HLT) takes an IPI by its APIC ID and one by the all-but-self shorthand. */
static void check_ipi(uint64_t tsc_hz)
{
	uint32_t r[4];
	int by_id, by_shorthand;

	cpuid(1, r);
	if ((r[1] >> 16 & 0xff) < 2) {
		check_ipi_alone(tsc_hz);
		return;
	}
	ap_ipis = 0;
	send_ipi(1, IPI_VECTOR);
	by_id = wait_for(&ap_ipis, 1, tsc_hz);
	send_ipi(0, IPI_VECTOR | ICR_OTHERS);
	by_shorthand = wait_for(&ap_ipis, 2, tsc_hz);
	report("apic_ipi", by_id && by_shorthand && ap_ipis == 2, "by_apic_id=%d by_shorthand=%d taken=%u", by_id,
	       by_shorthand, ap_ipis);
}

/* One timer interrupt: armed for one bus tick, waited for in HLT. */
static void timer_round(void)
{
	unsigned before = timer_count;

	apic_write(APIC_TIMER_INITIAL, 1);
	while (timer_count == before)
		__asm__ volatile("sti; hlt; cli");
}

void check_apic(void)
{
	uint32_t t[4];
	struct rates r;

	cpuid(0x40000010, t); /* TSC and APIC bus rates, in kHz */
	r.tsc_hz = (uint64_t)t[0] * 1000;
	r.bus_hz = (uint64_t)t[1] * 1000;
	if (!r.tsc_hz || !r.bus_hz) {
		report("apic_xapic_timer", 0, "no rates at CPUID 0x40000010: tsc_khz=%u bus_khz=%u", t[0], t[1]);
		return;
	}
	check_timer("apic_xapic_timer", &r);
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	check_timer("apic_x2apic_timer", &r);
	check_priority();
	check_ipi(r.tsc_hz);
}

/*
 * Benchmarks (mode=bench): TSC ticks for `rounds` of an xAPIC EOI (a
 * decoded MMIO write), an x2APIC EOI (an MSR write), and a local APIC
 * timer interrupt from the write that arms it (one-shot, count 1) to its
 * handler, the vCPU halting meanwhile. The xAPIC one must come first:
 * x2APIC mode, once on, stays.
 */
uint64_t apic_bench(enum apic_bench what, unsigned rounds)
{
	uint64_t t0;
	unsigned i;

	apic_write(APIC_SVR, 0x1ff);
	apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	apic_write(APIC_LVT_TIMER, TIMER_VECTOR);
	if (what == BENCH_X2APIC_EOI && !in_x2apic())
		wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	t0 = rdtsc();
	for (i = 0; i < rounds; i++) {
		if (what == BENCH_XAPIC_EOI)
			*(volatile uint32_t *)(uintptr_t)(XAPIC_PAGE + APIC_EOI) = 0;
		else if (what == BENCH_X2APIC_EOI)
			wrmsr(X2APIC_MSR(APIC_EOI), 0);
		else
			timer_round();
	}
	return rdtsc() - t0;
}
