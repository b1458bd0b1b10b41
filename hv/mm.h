/* Page allocation for the rest of the hypervisor, over the boot allocator. */
#ifndef HV_MM_H
#define HV_MM_H

#include <stdint.h>

#include "pmem.h"

void mm_init(struct pmem *pm);
/* Zeroed, physically contiguous, aligned to their size rounded up to 2 MiB
 * when that large; 0 when memory is short. */
uint64_t mm_alloc(uint64_t pages);
/* As mm_alloc, but holding whatever its last owner left: the caller zeroes it before anyone reads it. */
uint64_t mm_alloc_unzeroed(uint64_t pages);
void mm_free(uint64_t pa, uint64_t pages);
/* The hypervisor maps all memory one to one. */
static inline void *mm_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}
uint64_t mm_free_pages(void);

/*
 * bytes (a multiple of 8) at pa zeroed with REP STOSQ: the widest store the
 * hypervisor may use without saving a guest's vector registers, one
 * instruction per 8 bytes where an emulator counts each iteration (QEMU
 * -icount), where a loop takes several.
 */
static inline void mm_zero(uint64_t pa, uint64_t bytes)
{
	void *d = mm_ptr(pa);
	uint64_t n = bytes / 8;

	__asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

#endif
