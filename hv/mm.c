#include "mm.h"

#include "log.h"

#define LARGE_PAGES 512 /* 2 MiB: lets EPT/NPT map guest RAM with large pages */

static struct pmem *pool;

void mm_init(struct pmem *pm)
{
	pool = pm;
}

uint64_t mm_alloc(uint64_t pages)
{
	uint64_t pa = pmem_alloc(pool, pages, pages >= LARGE_PAGES ? LARGE_PAGES : 1);
	uint64_t i, *p = mm_ptr(pa);

	if (!pa)
		return 0;
	for (i = 0; i < pages * PAGE_SIZE / 8; i++)
		p[i] = 0; /* nothing of a previous owner may leak to the next */
	return pa;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	if (pmem_free(pool, pa, pages))
		log_error("freeing pages at 0x%llx that were not allocated: ignored",
			  (unsigned long long)pa);
}

uint64_t mm_free_pages(void)
{
	return pool->free_pages;
}
