/* The number of bits set in a word, for bitmaps. */
#ifndef HV_LIB_BITS_H
#define HV_LIB_BITS_H

#include <stdint.h>

/* In a few steps whatever the word (no libgcc, no POPCNT assumed: the hypervisor links none, nor checks for it). */
static inline unsigned bits_count(uint64_t v)
{
	v -= (v >> 1) & 0x5555555555555555ull;
	v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

#endif
