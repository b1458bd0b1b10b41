/*
 * Physical page allocator: a bitmap over every 4 KiB page up to the
 * highest free address in the boot memory map. Only MEM_FREE pages are
 * ever handed out; the hypervisor image, boot_info, loaded files, ACPI
 * tables and anything the firmware reserved never are.
 */
#ifndef HV_PMEM_H
#define HV_PMEM_H

#include <stddef.h>
#include <stdint.h>

#include "boot_info.h"

#define PAGE_SIZE 4096ull
#define PAGE_SHIFT 12

struct pmem_range {
	uint64_t base;
	uint64_t size;
};

struct pmem {
	uint64_t *bitmap;   /* bit set: page in use or never usable */
	uint64_t *usable;   /* bit set: page may ever be handed out */
	uint64_t npages;    /* pages covered by the bitmap */
	uint64_t free_pages;
	uint64_t total_free; /* free pages right after init */
	uint64_t hint;      /* where the next single-page search starts */
};

/* Bytes of bitmap storage needed to cover the free memory in these regions. */
uint64_t pmem_bitmap_bytes(const struct mem_region *regions, uint32_t n);

/*
 * Finds room for the bitmap: the lowest free, page-aligned range of the
 * given size that none of the excluded ranges touch. 0 if there is none.
 */
uint64_t pmem_place_bitmap(const struct mem_region *regions, uint32_t n, uint64_t bytes,
			   const struct pmem_range *exclude, size_t nexclude);

/*
 * Builds the allocator over bitmap storage of pmem_bitmap_bytes() bytes.
 * Pages in the excluded ranges stay in use even where the map calls them
 * free (the caller lists the bitmap itself, the image and the like).
 */
void pmem_init(struct pmem *pm, uint64_t *bitmap, const struct mem_region *regions, uint32_t n,
	       const struct pmem_range *exclude, size_t nexclude);

/* npages contiguous pages aligned to align_pages (a power of two); 0 if none. */
uint64_t pmem_alloc(struct pmem *pm, uint64_t npages, uint64_t align_pages);

/* Returns pages; -1 (and nothing changed) if any of them was not handed out. */
int pmem_free(struct pmem *pm, uint64_t addr, uint64_t npages);

/* Lowest address in the bitmap never handed out: real-mode and BIOS areas. */
#define PMEM_LOW_LIMIT 0x100000ull

#endif
