/*
 * TSC frequency, measured at start-up against a second clock and compared
 * with the rate CPUID leaf 0x15 announces (Intel SDM Vol. 2A, CPUID, "Time
 * Stamp Counter and Nominal Core Crystal Clock Information Leaf");
 * tsc_rate_choose() decides which is used. The second clock is the HPET
 * where the ACPI tables describe one that is fit to use (drivers/hpet.c),
 * else the 8254 PIT's channel 2.
 *
 * Both are read alike: two RDTSCs bracket each read, which is placed at
 * the bracket's middle, and a window's start is the narrowest of a few
 * reads, leaving out one an SMI or a descheduled emulator stretched (both
 * clocks count on meanwhile, so what happens inside a window costs
 * nothing). A window's rate is then off by at most one tick of the clock
 * and the two half-brackets, over its length (tsc_rate_error_ppm()).
 *
 * The HPET's window lasts until that bound, computed from its own reads,
 * is 0.01 % (HPET_ERROR_PPM), a tenth of the 0.1 % CPUID 0x15's rate is
 * checked to (tsc_rate.h). Its counter's period, from its capabilities
 * register, is 10 ns under QEMU and Bochs (10,000,000 fs: 100 MHz), and
 * 69.8 ns on the usual chipsets (69,841,279 fs: 14.318 MHz). Under QEMU a
 * read's bracket is a few instructions wide, so the bound is reached
 * after about 0.25 ms (make bench's `tsc rate` step: 0.25 million
 * instructions, where three 10 ms PIT windows took 30.0); on a chipset
 * whose HPET read takes 1 us, after about 7 ms. A window that has not
 * reached it in HPET_WINDOW_MAX_MS (reads slower than 2 us) is not used.
 *
 * The PIT is polled through a counter-latch command and its low and high
 * byte (8254 data sheet, "Read Operations") in mode 2 with the full 65536
 * count. Its tick is 838 ns and a read of three port accesses takes about
 * 1.5 us, so its rate is the median of three fixed 10 ms windows, each
 * within 0.03 %: a window spanning more than the 55 ms its count takes to
 * wrap (an emulator descheduled that long) would miss ticks, and the
 * median discards it.
 */
#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "hpet.h"
#include "lib/muldiv.h"
#include "log.h"
#include "tsc_rate.h"

#define PIT_HZ 1193182ull
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_MODE2_FULL 0xb4 /* channel 2, low then high byte, mode 2 (rate generator), binary */
#define PIT_CH2_LATCH 0x80      /* channel 2, counter latch */
#define PORT_B 0x61             /* bit 0: channel 2 gate, bit 1: speaker */
#define PIT_WINDOW_MS 10
#define PIT_WINDOWS 3
#define HPET_ERROR_PPM 100
#define HPET_WINDOW_MAX_MS 20
#define EDGE_READS 8           /* reads at the start of a window, the narrowest kept */
#define STUCK_READS 100000     /* reads without a change: the clock does not count */

static uint64_t tsc_hz;
static enum tsc_verdict tsc_verdict;

static uint64_t from_cpuid(void)
{
	struct cpuid_regs r;

	if (cpuid(0, 0).eax < 0x15)
		return 0;
	r = cpuid(0x15, 0); /* TSC/crystal ratio EBX/EAX, crystal Hz in ECX */
	return r.eax && r.ebx && r.ecx ? (uint64_t)r.ecx * r.ebx / r.eax : 0;
}

/* A clock to measure against, and the ticks it counted since its first read. */
struct ref_clock {
	uint32_t (*read)(const void *ctx); /* its count, going up modulo mask + 1 */
	const void *ctx;
	uint32_t mask;
	uint64_t period_fs;
	uint64_t ticks;
	uint32_t last;
	unsigned unchanged;
};

/* One read of the clock, placed at the middle of its TSC bracket; 0 once the clock is stuck. */
static int clock_read(struct ref_clock *c, struct clock_point *p)
{
	uint64_t t0 = arch_tsc(), t1;
	uint32_t count = c->read(c->ctx);

	t1 = arch_tsc();
	c->unchanged = count == c->last ? c->unchanged + 1 : 0;
	c->ticks += (count - c->last) & c->mask;
	c->last = count;
	*p = (struct clock_point){ t0 + (t1 - t0) / 2, t1 - t0, c->ticks };
	return c->unchanged < STUCK_READS;
}

static int clock_narrowest(struct ref_clock *c, struct clock_point *best)
{
	struct clock_point p;
	unsigned i;

	best->width = ~0ull;
	for (i = 0; i < EDGE_READS; i++) {
		if (!clock_read(c, &p))
			return 0;
		if (p.width < best->width)
			*best = p;
	}
	return 1;
}

/* The PIT's count, latched, as a count that goes up: it counts down from 65536. */
static uint32_t pit_count(const void *unused)
{
	uint16_t count;

	(void)unused;
	outb(PIT_COMMAND, PIT_CH2_LATCH);
	count = inb(PIT_CHANNEL2);
	count = (uint16_t)(count | inb(PIT_CHANNEL2) << 8);
	return (uint16_t)-count;
}

/* The TSC rate over one window of the PIT, 0 when the PIT does not count. */
static uint64_t pit_window_hz(struct ref_clock *c)
{
	struct clock_point start, end;

	if (!clock_narrowest(c, &start))
		return 0;
	do
		if (!clock_read(c, &end))
			return 0;
	while (end.count - start.count < PIT_HZ * PIT_WINDOW_MS / 1000);
	if (!clock_narrowest(c, &end))
		return 0;
	return tsc_rate_between(&start, &end, c->period_fs);
}

/* The count is loaded on the PIT clock after it was written: wait for it to move. */
static int pit_started(struct ref_clock *c)
{
	struct clock_point p;
	uint32_t first;

	if (!clock_read(c, &p))
		return 0;
	first = c->last;
	while (c->last == first)
		if (!clock_read(c, &p))
			return 0;
	return 1;
}

static uint64_t from_pit(void)
{
	uint64_t hz[PIT_WINDOWS];
	struct ref_clock c = { pit_count, 0, 0xffff, FS_PER_S / PIT_HZ, 0, 0, 0 };
	uint8_t b = inb(PORT_B);
	unsigned i = 0;

	outb(PORT_B, (uint8_t)((b & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_COMMAND, PIT_CH2_MODE2_FULL);
	outb(PIT_CHANNEL2, 0);
	outb(PIT_CHANNEL2, 0);
	if (pit_started(&c))
		while (i < PIT_WINDOWS && (hz[i] = pit_window_hz(&c)) != 0)
			i++;
	outb(PORT_B, b);
	return i == PIT_WINDOWS ? tsc_rate_median(hz, PIT_WINDOWS) : 0;
}

/* The TSC rate over one window of the HPET, once within HPET_ERROR_PPM; 0 when it is not. */
static uint64_t hpet_window_hz(struct ref_clock *c)
{
	uint64_t max_ticks = mul_div(FS_PER_S / 1000, HPET_WINDOW_MAX_MS, c->period_fs);
	struct clock_point start, end;

	if (!clock_narrowest(c, &start))
		return 0;
	do
		if (!clock_read(c, &end))
			return 0;
	while (tsc_rate_error_ppm(&start, &end, c->period_fs) > HPET_ERROR_PPM && end.count - start.count < max_ticks);
	return tsc_rate_error_ppm(&start, &end, c->period_fs) <= HPET_ERROR_PPM
		       ? tsc_rate_between(&start, &end, c->period_fs)
		       : 0;
}

/* The TSC rate against the HPET; 0 when there is none fit to use, said in the log unless absent. */
static uint64_t from_hpet(void)
{
	struct hpet h;
	struct ref_clock c;
	uint64_t base, hz;

	if (acpi_read_hpet(&base) != 0 || hpet_open(&h, base) != 0)
		return 0;
	c = (struct ref_clock){ hpet_count, &h, 0xffffffffu, h.period_fs, 0, 0, 0 };
	hz = hpet_window_hz(&c);
	hpet_close(&h);
	if (!hz)
		log_warn("hpet: at 0x%llx, its counter does not count, or is read too slowly to give the TSC's "
			 "rate within 0.01 %% in %u ms: not used", (unsigned long long)base, HPET_WINDOW_MAX_MS);
	return hz;
}

uint64_t arch_tsc_hz(void)
{
	struct tsc_rate r;
	char line[LOG_LINE_MAX];
	const char *reference = "the HPET";
	uint64_t measured;

	if (tsc_hz)
		return tsc_hz;
	measured = from_hpet();
	if (!measured) {
		reference = "the PIT";
		measured = from_pit();
	}
	r = tsc_rate_choose(from_cpuid(), measured);
	tsc_rate_describe(line, sizeof(line), &r, reference);
	if (r.verdict == TSC_UNKNOWN)
		log_error("%s", line);
	else if (r.verdict == TSC_DISAGREE || r.verdict == TSC_NOT_MEASURED)
		log_warn("%s", line);
	else
		log_info("%s", line);
	if (!(cpuid(0x80000000, 0).eax >= 0x80000007 && (cpuid(0x80000007, 0).edx & CPUID_INVARIANT_TSC)))
		log_info("tsc: the CPU does not state it invariant (CPUID 0x80000007 EDX bit 8); the hypervisor "
			 "and its guests take its rate as constant");
	tsc_verdict = r.verdict;
	tsc_hz = r.hz;
	return tsc_hz;
}

int tsc_rate_is_announced(void)
{
	return arch_tsc_hz() && (tsc_verdict == TSC_AGREE || tsc_verdict == TSC_NOT_MEASURED);
}

void arch_delay_us(uint64_t us)
{
	uint64_t end = arch_tsc() + arch_tsc_hz() * us / 1000000;

	while (arch_tsc() < end)
		cpu_relax();
}
