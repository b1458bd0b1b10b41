/* a * b / c without overflow in between, for rate conversions (TSC ticks, timer counts). */
#ifndef HV_LIB_MULDIV_H
#define HV_LIB_MULDIV_H

#include <stdint.h>

/*
 * The 128-bit product divided by DIV (SDM Vol. 2A, "DIV"), which faults
 * when the quotient does not fit: that case saturates first. c == 0 gives
 * all-ones. No libgcc: the hypervisor links none.
 */
static inline uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c)
{
	unsigned __int128 product = (unsigned __int128)a * b;
	uint64_t high = (uint64_t)(product >> 64), low = (uint64_t)product, quotient, remainder;

	if (high >= c)
		return ~0ull;
	__asm__("divq %4" : "=a"(quotient), "=d"(remainder) : "a"(low), "d"(high), "rm"(c));
	(void)remainder;
	return quotient;
}

/* The same, rounded up: the product is exact in 128 bits, so the remainder shows. */
static inline uint64_t mul_div_up(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t quotient = mul_div(a, b, c);

	if (quotient != ~0ull && (unsigned __int128)quotient * c != (unsigned __int128)a * b)
		quotient++;
	return quotient;
}

#endif
