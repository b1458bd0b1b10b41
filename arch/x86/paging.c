/*
 * The hypervisor's own page tables: an identity map of physical memory,
 * with 1 GiB pages where the CPU has them (CPUID 0x80000001 EDX bit 26),
 * else 2 MiB pages. The tables live in the image's .bss: the firmware's
 * tables lie in memory the page allocator will hand out, so we must leave
 * them before allocating anything.
 *
 * Every mapping uses PAT entry 0 (write-back); the firmware's MTRRs still
 * make device ranges uncacheable, since with PAT WB the MTRR type wins
 * (Intel SDM Vol. 3A, 12.5.2.2, Table 12-7). Device memory the drivers
 * use is mapped again with PCD and PWT set, PAT entry 3, which is UC at
 * reset and which the hypervisor never reprograms (SDM Vol. 3A, 12.12.4):
 * UC whatever the MTRRs say, which is what a 64-bit BAR placed above the
 * firmware's variable MTRRs needs.
 */
#include <stdint.h>

#include "arch.h"
#include "cpu.h"
#include "lib/spinlock.h"
#include "log.h"

#define PTE_PRESENT (1ull << 0)
#define PTE_WRITE (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_LARGE (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull
#define DEVICE_TABLES 16 /* page tables for device mappings: each PD maps 1 GiB */
#define GIB (1ull << 30)
#define MIB2 (2ull << 20)
#define PD_PAGES 64 /* 2 MiB pages reach 64 GiB; 1 GiB pages reach 512 GiB */

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[PD_PAGES][512] __attribute__((aligned(4096)));
static uint64_t device_tables[DEVICE_TABLES][512] __attribute__((aligned(4096)));
static unsigned device_tables_used;
static struct spinlock device_map_lock;

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

static uint64_t *new_table(void)
{
	if (device_tables_used == DEVICE_TABLES)
		return 0;
	return device_tables[device_tables_used++];
}

/* The table entry *e points to, made if absent; a 1 GiB page becomes 512 2 MiB pages of the same type. */
static uint64_t *next_level(uint64_t *e)
{
	uint64_t *t;
	unsigned i;

	if ((*e & PTE_PRESENT) && !(*e & PTE_LARGE))
		return (uint64_t *)(uintptr_t)(*e & PTE_ADDR);
	t = new_table();
	if (!t)
		return 0;
	for (i = 0; (*e & PTE_PRESENT) && i < 512; i++)
		t[i] = ((*e & ~PTE_LARGE) + i * MIB2) | PTE_LARGE;
	*e = (uint64_t)(uintptr_t)t | PTE_PRESENT | PTE_WRITE;
	return t;
}

static int map_uncached_2m(uint64_t pa)
{
	uint64_t *dir = next_level(&pml4[pa >> 39 & 511]);
	uint64_t *pd2;

	if (!dir)
		return -1;
	pd2 = next_level(&dir[pa >> 30 & 511]);
	if (!pd2)
		return -1;
	pd2[pa >> 21 & 511] = pa | PTE_PRESENT | PTE_WRITE | PTE_LARGE | PTE_PCD | PTE_PWT;
	return 0;
}

volatile void *arch_map_device(uint64_t pa, uint64_t size)
{
	uint64_t limit = 1ull << arch_phys_addr_bits(), at;
	int ok = 1;

	if (!size || pa >= limit || size > limit - pa)
		return 0;
	spin_lock(&device_map_lock);
	for (at = pa & ~(MIB2 - 1); ok && at < pa + size; at += MIB2)
		ok = map_uncached_2m(at) == 0;
	write_cr3(read_cr3()); /* a 1 GiB page split, or a WB entry made UC */
	spin_unlock(&device_map_lock);
	if (!ok)
		log_error("paging: no page table left to map device memory at 0x%llx", (unsigned long long)pa);
	return ok ? (volatile void *)(uintptr_t)pa : 0;
}
