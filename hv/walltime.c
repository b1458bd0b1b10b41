#include "walltime.h"

#include "arch.h"
#include "lib/muldiv.h"

#define NS_PER_S 1000000000ull

static uint64_t base_ns, base_tsc;

int walltime_init(int64_t unix_seconds, uint64_t tsc_at_read)
{
	if (unix_seconds < 0 || unix_seconds >= WALLTIME_SECONDS_MAX)
		return -1;
	base_ns = (uint64_t)unix_seconds * NS_PER_S;
	base_tsc = tsc_at_read;
	return 0;
}

uint64_t walltime_unix_ns(uint64_t tsc)
{
	return base_ns + (tsc > base_tsc ? mul_div(tsc - base_tsc, NS_PER_S, arch_tsc_hz()) : 0);
}

uint64_t walltime_tsc(uint64_t unix_ns)
{
	if (unix_ns <= base_ns)
		return base_tsc;
	return base_tsc + mul_div_up(unix_ns - base_ns, arch_tsc_hz(), NS_PER_S);
}
