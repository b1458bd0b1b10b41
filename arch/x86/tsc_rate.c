#include "tsc_rate.h"

#include "lib/fmt.h"
#include "lib/muldiv.h"

#define PPM 1000000ull

static int agree(uint64_t announced, uint64_t measured)
{
	uint64_t diff = announced > measured ? announced - measured : measured - announced;

	return diff * 1000 <= announced * TSC_AGREEMENT_PER_MILLE;
}

struct tsc_rate tsc_rate_choose(uint64_t announced_hz, uint64_t measured_hz)
{
	struct tsc_rate r = { 0, announced_hz, measured_hz, TSC_UNKNOWN };

	if (announced_hz && measured_hz)
		r.verdict = agree(announced_hz, measured_hz) ? TSC_AGREE : TSC_DISAGREE;
	else if (measured_hz)
		r.verdict = TSC_NOT_ANNOUNCED;
	else if (announced_hz)
		r.verdict = TSC_NOT_MEASURED;
	r.hz = r.verdict == TSC_AGREE || r.verdict == TSC_NOT_MEASURED ? announced_hz
	       : r.verdict == TSC_UNKNOWN ? TSC_ASSUMED_HZ
					   : measured_hz;
	return r;
}

/* "2419.200": MHz to the kHz, enough to show a 0.1 % difference. */
static const char *mhz(char *buf, size_t size, uint64_t hz)
{
	fmt(buf, size, "%llu.%03llu", (unsigned long long)(hz / 1000000),
	    (unsigned long long)(hz / 1000 % 1000));
	return buf;
}

int tsc_rate_describe(char *buf, size_t size, const struct tsc_rate *r, const char *reference)
{
	char a[24], m[24], h[24];

	mhz(a, sizeof(a), r->announced);
	mhz(m, sizeof(m), r->measured);
	mhz(h, sizeof(h), r->hz);
	switch (r->verdict) {
	case TSC_AGREE:
		return fmt(buf, size, "tsc: %s MHz from CPUID 0x15; %s MHz measured against %s: "
			   "they agree within 0.1 %%", a, m, reference);
	case TSC_DISAGREE:
		return fmt(buf, size, "tsc: %s MHz measured against %s; CPUID 0x15 says %s MHz: not used",
			   m, reference, a);
	case TSC_NOT_ANNOUNCED:
		return fmt(buf, size, "tsc: %s MHz measured against %s; CPUID 0x15 states no rate", m,
			   reference);
	case TSC_NOT_MEASURED:
		return fmt(buf, size, "tsc: %s MHz from CPUID 0x15, unchecked: %s does not count", a,
			   reference);
	case TSC_UNKNOWN:
		break;
	}
	return fmt(buf, size, "tsc: no rate: %s does not count and CPUID 0x15 states none; assuming "
		   "%s MHz, so time slices and cpu_ms are only as right as that guess", reference, h);
}

uint64_t tsc_rate_median(uint64_t *v, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		uint64_t x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	return v[n / 2];
}

/* The time from a to b in femtoseconds, by the clock's count; 0 when it did not move or that overflows. */
static uint64_t elapsed_fs(const struct clock_point *a, const struct clock_point *b, uint64_t period_fs)
{
	uint64_t ticks = b->count - a->count;

	return period_fs && ticks <= ~0ull / period_fs ? ticks * period_fs : 0;
}

uint64_t tsc_rate_between(const struct clock_point *a, const struct clock_point *b, uint64_t period_fs)
{
	uint64_t fs = elapsed_fs(a, b, period_fs);

	return fs && b->tsc > a->tsc ? mul_div(b->tsc - a->tsc, FS_PER_S, fs) : 0;
}

uint64_t tsc_rate_error_ppm(const struct clock_point *a, const struct clock_point *b, uint64_t period_fs)
{
	uint64_t fs = elapsed_fs(a, b, period_fs), tick, reads;

	if (!fs || b->tsc <= a->tsc)
		return ~0ull;
	tick = mul_div_up(period_fs, PPM, fs);
	reads = mul_div_up(a->width + b->width, PPM / 2, b->tsc - a->tsc);
	return reads > ~0ull - tick ? ~0ull : tick + reads;
}
