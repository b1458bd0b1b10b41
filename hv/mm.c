#include "mm.h"

#include "lib/spinlock.h"
#include "log.h"

#define LARGE_PAGES 512 /* 2 MiB: lets EPT/NPT map guest RAM with large pages */

static struct pmem *pool;
static struct spinlock lock;

void mm_init(struct pmem *pm)
{
	pool = pm;
}

uint64_t mm_alloc_unzeroed(uint64_t pages)
{
	uint64_t pa;

	spin_lock(&lock);
	pa = pmem_alloc(pool, pages, pages >= LARGE_PAGES ? LARGE_PAGES : 1);
	spin_unlock(&lock);
	return pa;
}

uint64_t mm_alloc(uint64_t pages)
{
	uint64_t pa = mm_alloc_unzeroed(pages);

	if (pa)
		mm_zero(pa, pages * PAGE_SIZE); /* nothing of a previous owner may leak to the next */
	return pa;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	int bad;

	spin_lock(&lock);
	bad = pmem_free(pool, pa, pages);
	spin_unlock(&lock);
	if (bad)
		log_error("freeing pages at 0x%llx that were not allocated: ignored",
			  (unsigned long long)pa);
}

uint64_t mm_free_pages(void)
{
	return pool->free_pages;
}
