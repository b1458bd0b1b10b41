/* Page allocation for the rest of the hypervisor, over the boot allocator. */
#ifndef HV_MM_H
#define HV_MM_H

#include <stdint.h>

#include "pmem.h"

void mm_init(struct pmem *pm);
/* Zeroed, physically contiguous, aligned to their size rounded up to 2 MiB
 * when that large; 0 when memory is short. */
uint64_t mm_alloc(uint64_t pages);
void mm_free(uint64_t pa, uint64_t pages);
/* The hypervisor maps all memory one to one. */
static inline void *mm_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}
uint64_t mm_free_pages(void);

#endif
