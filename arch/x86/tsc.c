/*
 * TSC frequency, measured at start-up against the 8254 PIT's channel 2
 * and compared with the rate CPUID leaf 0x15 announces (Intel SDM Vol.
 * 2A, CPUID, "Time Stamp Counter and Nominal Core Crystal Clock
 * Information Leaf"); tsc_rate_choose() decides which is used.
 *
 * The measurement polls the PIT's count (a counter-latch command, then
 * low and high byte: 8254 data sheet, "Read Operations") in mode 2 with
 * the full 65536 count, adding up the ticks between reads so that a window
 * may span wraps. Each end of a window is the read of a few whose TSC
 * bracket is narrowest: it stands within a PIT tick (838 ns) and half a
 * read (about 0.75 us where a port read takes 0.5 us) of its instant, so
 * a 10 ms window's rate is within 0.03 %, a third of the 0.1 % the rate
 * CPUID 0x15 announces is checked to (tsc_rate.h). The median of three
 * windows discards one disturbed by an SMI or a descheduled emulator.
 * The windows are as short as that accuracy allows since every partition
 * waits for them: this measurement is most of the hypervisor's start-up
 * (under QEMU, 30.0 of the 35.8 million instructions before a partition's
 * first, make bench).
 */
#include "arch.h"
#include "cpu.h"
#include "log.h"
#include "tsc_rate.h"

#define PIT_HZ 1193182ull
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_MODE2_FULL 0xb4 /* channel 2, low then high byte, mode 2 (rate generator), binary */
#define PIT_CH2_LATCH 0x80      /* channel 2, counter latch */
#define PORT_B 0x61             /* bit 0: channel 2 gate, bit 1: speaker */
#define WINDOW_MS 10
#define WINDOWS 3
#define EDGE_READS 8           /* reads at each end of a window, the narrowest kept */
#define STUCK_READS 100000     /* reads without a change: the PIT does not count */

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

/* The PIT ticks counted since it was started, and when the last read was. */
struct pit_clock {
	uint64_t ticks;
	uint16_t last;
	unsigned unchanged;
};

struct pit_point {
	uint64_t tsc, width, ticks;
};

/* One read of the count, placed at the middle of its TSC bracket; 0 once the PIT is stuck. */
static int pit_read(struct pit_clock *c, struct pit_point *p)
{
	uint64_t t0 = arch_tsc(), t1;
	uint16_t count;

	outb(PIT_COMMAND, PIT_CH2_LATCH);
	count = inb(PIT_CHANNEL2);
	count = (uint16_t)(count | inb(PIT_CHANNEL2) << 8);
	t1 = arch_tsc();
	c->unchanged = count == c->last ? c->unchanged + 1 : 0;
	c->ticks += (uint16_t)(c->last - count); /* it counts down, modulo 65536 */
	c->last = count;
	*p = (struct pit_point){ t0 + (t1 - t0) / 2, t1 - t0, c->ticks };
	return c->unchanged < STUCK_READS;
}

static int pit_narrowest(struct pit_clock *c, struct pit_point *best)
{
	struct pit_point p;
	unsigned i;

	best->width = ~0ull;
	for (i = 0; i < EDGE_READS; i++) {
		if (!pit_read(c, &p))
			return 0;
		if (p.width < best->width)
			*best = p;
	}
	return 1;
}

/* The TSC rate over one window of the PIT, 0 when the PIT does not count. */
static uint64_t pit_window_hz(struct pit_clock *c)
{
	struct pit_point start, end;

	if (!pit_narrowest(c, &start))
		return 0;
	do
		if (!pit_read(c, &end))
			return 0;
	while (end.ticks - start.ticks < PIT_HZ * WINDOW_MS / 1000);
	if (!pit_narrowest(c, &end))
		return 0;
	return (end.tsc - start.tsc) * PIT_HZ / (end.ticks - start.ticks);
}

/* The count is loaded on the PIT clock after it was written: wait for it to move. */
static int pit_started(struct pit_clock *c)
{
	struct pit_point p;
	uint16_t first;

	if (!pit_read(c, &p))
		return 0;
	first = c->last;
	while (c->last == first)
		if (!pit_read(c, &p))
			return 0;
	return 1;
}

static uint64_t from_pit(void)
{
	uint64_t hz[WINDOWS];
	struct pit_clock c = { 0, 0, 0 };
	uint8_t b = inb(PORT_B);
	unsigned i = 0;

	outb(PORT_B, (uint8_t)((b & ~0x02) | 0x01)); /* gate on, speaker off */
	outb(PIT_COMMAND, PIT_CH2_MODE2_FULL);
	outb(PIT_CHANNEL2, 0);
	outb(PIT_CHANNEL2, 0);
	if (pit_started(&c))
		while (i < WINDOWS && (hz[i] = pit_window_hz(&c)) != 0)
			i++;
	outb(PORT_B, b);
	return i == WINDOWS ? tsc_rate_median(hz, WINDOWS) : 0;
}

uint64_t arch_tsc_hz(void)
{
	struct tsc_rate r;
	char line[LOG_LINE_MAX];

	if (tsc_hz)
		return tsc_hz;
	r = tsc_rate_choose(from_cpuid(), from_pit());
	tsc_rate_describe(line, sizeof(line), &r, "the PIT");
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
