/*
 * The hypervisor's own page tables: an identity map of physical memory,
 * with 1 GiB pages where the CPU has them (CPUID 0x80000001 EDX bit 26),
 * else 2 MiB pages. The tables live in the image's .bss: the firmware's
 * tables lie in memory the page allocator will hand out, so we must leave
 * them before allocating anything.
 *
 * Every mapping uses PAT entry 0 (write-back); the firmware's MTRRs still
 * make device ranges uncacheable, since with PAT WB the MTRR type wins
 * (Intel SDM Vol. 3A, 12.5.2.2, Table 12-7).
 */
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "log.h"

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE (1ull << 1)
#define PTE_LARGE (1ull << 7)
#define GIB (1ull << 30)
#define MIB2 (2ull << 20)
#define PD_PAGES 64 /* 2 MiB pages reach 64 GiB; 1 GiB pages reach 512 GiB */

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[PD_PAGES][512] __attribute__((aligned(4096)));

static int has_1g_pages(void)
{
	return cpuid(0x80000000, 0).eax >= 0x80000001 && (cpuid(0x80000001, 0).edx >> 26 & 1);
}

static uint64_t map_with_1g(uint64_t top)
{
	uint64_t gb, n = (top + GIB - 1) / GIB;

	if (n > 512)
		n = 512;
	for (gb = 0; gb < n; gb++)
		pdpt[gb] = gb * GIB | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	return n * GIB;
}

static uint64_t map_with_2m(uint64_t top)
{
	uint64_t gb, i, n = (top + GIB - 1) / GIB;

	if (n > PD_PAGES)
		n = PD_PAGES;
	for (gb = 0; gb < n; gb++) {
		for (i = 0; i < 512; i++)
			pd[gb][i] = (gb * GIB + i * MIB2) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
		pdpt[gb] = (uint64_t)(uintptr_t)pd[gb] | PTE_PRESENT | PTE_WRITE;
	}
	return n * GIB;
}

uint64_t arch_paging_init(uint64_t top)
{
	uint64_t mapped = has_1g_pages() ? map_with_1g(top) : map_with_2m(top);

	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITE;
	write_cr3((uint64_t)(uintptr_t)pml4);
	if (mapped < top)
		log_warn("memory above %llu GiB is not mapped and will not be used",
			 (unsigned long long)(mapped / GIB));
	return mapped < top ? mapped : top;
}
