/*
 * Which TSC rate to trust: the one CPUID leaf 0x15 announces only when a
 * measurement against a second clock confirms it, since firmware and
 * emulators announce wrong ones. Pure functions, unit tested on the host.
 */
#ifndef ARCH_X86_TSC_RATE_H
#define ARCH_X86_TSC_RATE_H

#include <stddef.h>
#include <stdint.h>

#define TSC_AGREEMENT_PER_MILLE 1 /* announced and measured agree within 0.1 % */
#define TSC_ASSUMED_HZ 1000000000ull /* when there is neither: a guess, said so */

enum tsc_verdict {
	TSC_AGREE,          /* the announced rate, confirmed */
	TSC_DISAGREE,       /* the measured rate; the announced one is wrong */
	TSC_NOT_ANNOUNCED,  /* the measured rate; CPUID states none */
	TSC_NOT_MEASURED,   /* the announced rate, unchecked: the second clock does not count */
	TSC_UNKNOWN,        /* neither: TSC_ASSUMED_HZ */
};

struct tsc_rate {
	uint64_t hz;        /* the rate to use */
	uint64_t announced; /* CPUID 0x15's, 0: none */
	uint64_t measured;  /* against the second clock, 0: it did not count */
	enum tsc_verdict verdict;
};

struct tsc_rate tsc_rate_choose(uint64_t announced_hz, uint64_t measured_hz);

/* One log line saying both rates and which is used; `reference` names the second clock. */
int tsc_rate_describe(char *buf, size_t size, const struct tsc_rate *r, const char *reference);

#define FS_PER_S 1000000000000000ull

/*
 * One read of a second clock, bracketed by two reads of the TSC: it
 * happened at some instant between them, so it is placed at their middle.
 */
struct clock_point {
	uint64_t tsc;   /* the bracket's middle */
	uint64_t width; /* the bracket's width, TSC ticks */
	uint64_t count; /* the clock's ticks since it was first read */
};

/* The TSC's rate from a to b on a clock that ticks every period_fs; 0 when either did not move. */
uint64_t tsc_rate_between(const struct clock_point *a, const struct clock_point *b, uint64_t period_fs);

/*
 * The most that rate can be off, in millionths, rounded up: a count
 * stands within one period of the instant it was read at (so their
 * difference within one period of the time between the reads), and each
 * read within half its bracket of the bracket's middle. ~0 when either
 * clock did not move.
 */
uint64_t tsc_rate_error_ppm(const struct clock_point *a, const struct clock_point *b, uint64_t period_fs);

/* The median of n > 0 measurements (sorts v); one disturbed measurement does not move it. */
uint64_t tsc_rate_median(uint64_t *v, unsigned n);

/* Whether the rate the hypervisor uses is CPUID 0x15's (arch/x86/tsc.c: AGREE or NOT_MEASURED). */
int tsc_rate_is_announced(void);

#endif
