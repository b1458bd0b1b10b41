/* EPT/NPT builder and walker: map, translate, large pages, permissions,
 * unmap with splits, overlap refusal, and no table page leaked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpt.h"

#define MIB (1ull << 20)
#define GIB (1ull << 30)

static int live_pages;

/* On the host a table's "physical address" is its pointer. */
static void *alloc_page(void *ctx, uint64_t *pa)
{
	void *p = aligned_alloc(4096, 4096);

	(void)ctx;
	memset(p, 0, 4096);
	*pa = (uint64_t)(uintptr_t)p;
	live_pages++;
	return p;
}

static void free_page(void *ctx, uint64_t pa)
{
	(void)ctx;
	free((void *)(uintptr_t)pa);
	live_pages--;
}

static void *ptr(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static const struct gpt_memory mem = { alloc_page, free_page, ptr, NULL };

static void expect_translation(const struct gpt *t, uint64_t gpa, uint64_t hpa, uint64_t page, unsigned perms)
{
	struct gpt_walk w;

	assert_int_equal(gpt_translate(t, gpa, &w), 0);
	assert_int_equal(w.pa, hpa);
	assert_int_equal(w.page_size, page);
	assert_int_equal(w.perms, perms);
}

static void expect_unmapped(const struct gpt *t, uint64_t gpa)
{
	struct gpt_walk w;

	assert_int_equal(gpt_translate(t, gpa, &w), -1);
}

static void ram_uses_the_largest_pages_allowed(const struct gpt_format *fmt)
{
	struct gpt t;

	assert_int_equal(gpt_init(&t, fmt, &mem, GPT_2M | GPT_1G), 0);
	/* 1 GiB + 6 MiB + 8 KiB at a 1 GiB aligned host address. */
	assert_int_equal(gpt_map(&t, 0, 4 * GIB, GIB + 6 * MIB + 8192, GPT_RWX, GPT_MEM_WB), 0);
	expect_translation(&t, 0x12345678, 4 * GIB + 0x12345678, GPT_1G, GPT_RWX);
	expect_translation(&t, GIB + 5 * MIB + 3, 5 * GIB + 5 * MIB + 3, GPT_2M, GPT_RWX);
	expect_translation(&t, GIB + 6 * MIB + 4100, 5 * GIB + 6 * MIB + 4100, GPT_4K, GPT_RWX);
	expect_unmapped(&t, GIB + 6 * MIB + 8192);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static void ept_large_pages(void **state)
{
	(void)state;
	ram_uses_the_largest_pages_allowed(&gpt_format_ept);
}

static void npt_large_pages(void **state)
{
	(void)state;
	ram_uses_the_largest_pages_allowed(&gpt_format_npt);
}

static void page_sizes_are_honoured(void **state)
{
	struct gpt t;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_ept, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 0, 2 * GIB, GPT_RWX, GPT_MEM_WB), 0);
	expect_translation(&t, GIB, GIB, GPT_2M, GPT_RWX); /* no 1 GiB pages offered */
	gpt_destroy(&t);
	assert_int_equal(gpt_init(&t, &gpt_format_npt, &mem, 0), 0);
	assert_int_equal(gpt_map(&t, 0, 2 * MIB, 4 * MIB, GPT_RWX, GPT_MEM_WB), 0);
	expect_translation(&t, 3 * MIB, 5 * MIB, GPT_4K, GPT_RWX);
	gpt_destroy(&t);
	/* Misaligned host address: 4 KiB pages even where large ones are offered. */
	assert_int_equal(gpt_init(&t, &gpt_format_npt, &mem, GPT_2M | GPT_1G), 0);
	assert_int_equal(gpt_map(&t, 0, 4096, 4 * MIB, GPT_RWX, GPT_MEM_WB), 0);
	expect_translation(&t, 2 * MIB, 2 * MIB + 4096, GPT_4K, GPT_RWX);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static void permissions_and_memory_types(void **state)
{
	struct gpt t;
	struct gpt_walk w;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_ept, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 0, 2 * MIB, GPT_READ, GPT_MEM_WB), 0);
	assert_int_equal(gpt_map(&t, 2 * MIB, 2 * MIB, 4096, GPT_READ | GPT_WRITE, GPT_MEM_UC), 0);
	assert_int_equal(gpt_map(&t, 4 * MIB, 4 * MIB, 4096, GPT_EXEC, GPT_MEM_WB), 0); /* EPT can */
	expect_translation(&t, 100, 100, GPT_2M, GPT_READ);
	expect_translation(&t, 2 * MIB, 2 * MIB, GPT_4K, GPT_READ | GPT_WRITE);
	expect_translation(&t, 4 * MIB, 4 * MIB, GPT_4K, GPT_EXEC);
	assert_int_equal(gpt_translate(&t, 2 * MIB, &w), 0);
	gpt_destroy(&t);

	assert_int_equal(gpt_init(&t, &gpt_format_npt, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 0, 4096, GPT_READ, GPT_MEM_WB), 0);
	assert_int_equal(gpt_map(&t, 4096, 4096, 4096, GPT_READ | GPT_EXEC, GPT_MEM_UC), 0);
	expect_translation(&t, 0, 0, GPT_4K, GPT_READ);
	expect_translation(&t, 4096, 4096, GPT_4K, GPT_READ | GPT_EXEC);
	/* Nested page tables cannot express execute-only: refused, nothing mapped. */
	assert_int_equal(gpt_map(&t, 8192, 8192, 4096, GPT_EXEC, GPT_MEM_WB), -1);
	expect_unmapped(&t, 8192);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static void entry_bits(void **state)
{
	struct gpt t;
	uint64_t *pml4, *pdpt, *pd;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_npt, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 2 * MIB, 2 * MIB, GPT_READ | GPT_WRITE, GPT_MEM_UC), 0);
	pml4 = (uint64_t *)(uintptr_t)t.root;
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & ~0xfffull);
	assert_int_equal(pml4[0] & 0xfff, 0x7); /* present, writable, user */
	/* 2 MiB leaf: P, RW, U/S, PWT+PCD (UC), PS, NX */
	assert_int_equal(pd[0], 2 * MIB | 0x1 | 0x2 | 0x4 | 0x18 | 0x80 | (1ull << 63));
	gpt_destroy(&t);

	assert_int_equal(gpt_init(&t, &gpt_format_ept, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 2 * MIB, 2 * MIB, GPT_RWX, GPT_MEM_WB), 0);
	pml4 = (uint64_t *)(uintptr_t)t.root;
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull);
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & ~0xfffull);
	assert_int_equal(pml4[0] & 0xfff, 0x7);
	assert_int_equal(pd[0], 2 * MIB | 0x7 | (6 << 3) | 0x80); /* RWX, WB, large */
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static void unmap_splits_large_pages(void **state)
{
	struct gpt t;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_ept, &mem, GPT_2M | GPT_1G), 0);
	assert_int_equal(gpt_map(&t, 0, GIB, GIB, GPT_RWX, GPT_MEM_WB), 0);
	assert_int_equal(gpt_unmap(&t, 3 * MIB, 4096), 0);
	expect_unmapped(&t, 3 * MIB);
	expect_unmapped(&t, 3 * MIB + 4095);
	expect_translation(&t, 3 * MIB - 1, GIB + 3 * MIB - 1, GPT_4K, GPT_RWX);
	expect_translation(&t, 3 * MIB + 4096, GIB + 3 * MIB + 4096, GPT_4K, GPT_RWX);
	expect_translation(&t, 2 * MIB - 1, GIB + 2 * MIB - 1, GPT_2M, GPT_RWX);
	expect_translation(&t, 500 * MIB, GIB + 500 * MIB, GPT_2M, GPT_RWX);
	/* Unmapping what is already unmapped is fine; the rest goes too. */
	assert_int_equal(gpt_unmap(&t, 0, GIB), 0);
	expect_unmapped(&t, 500 * MIB);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static void overlaps_and_bad_arguments_are_refused(void **state)
{
	struct gpt t;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_npt, &mem, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 4 * MIB, 0, 4 * MIB, GPT_RWX, GPT_MEM_WB), 0);
	assert_int_equal(gpt_map(&t, 2 * MIB, 0, 4 * MIB, GPT_RWX, GPT_MEM_WB), -1);
	expect_unmapped(&t, 2 * MIB); /* the refused map left nothing behind */
	assert_int_equal(gpt_map(&t, 7 * MIB, 0, 4096, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_map(&t, 100, 0, 4096, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_map(&t, 0, 0, 0, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_map(&t, (1ull << 48) - 4096, 0, 8192, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_map(&t, 0, UINT64_MAX & ~0xfffull, 8192, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_unmap(&t, 1, 4096), -1);
	assert_int_equal(gpt_unmap(&t, 0, UINT64_MAX & ~0xfffull), -1);
	expect_unmapped(&t, 1ull << 48);
	expect_translation(&t, 4 * MIB, 0, GPT_2M, GPT_RWX);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

/* The overlap check skips unmapped spans a level at a time: a lone page past a wide hole is still found. */
static void an_overlap_past_a_hole_is_refused(void **state)
{
	struct gpt t;

	(void)state;
	assert_int_equal(gpt_init(&t, &gpt_format_ept, &mem, GPT_2M | GPT_1G), 0);
	assert_int_equal(gpt_map(&t, GIB + 6 * MIB + 4096, 0, 4096, GPT_RWX, GPT_MEM_WB), 0);
	assert_int_equal(gpt_map(&t, 0, 0, GIB + 8 * MIB, GPT_RWX, GPT_MEM_WB), -1);
	assert_int_equal(gpt_map(&t, GIB + 6 * MIB, 0, 2 * MIB, GPT_RWX, GPT_MEM_WB), -1);
	expect_unmapped(&t, 0);
	expect_unmapped(&t, GIB + 6 * MIB);
	assert_int_equal(gpt_map(&t, 0, 0, GIB + 6 * MIB + 4096, GPT_RWX, GPT_MEM_WB), 0);
	assert_int_equal(gpt_map(&t, GIB + 6 * MIB + 8192, 0, 2 * GIB, GPT_RWX, GPT_MEM_WB), 0);
	expect_translation(&t, GIB + 4 * MIB, GIB + 4 * MIB, GPT_2M, GPT_RWX);
	expect_translation(&t, GIB + 6 * MIB + 8192, 0, GPT_4K, GPT_RWX);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

static int failing_after;

static void *alloc_limited(void *ctx, uint64_t *pa)
{
	return failing_after-- > 0 ? alloc_page(ctx, pa) : NULL;
}

static void out_of_memory_leaves_nothing_half_done(void **state)
{
	static const struct gpt_memory limited = { alloc_limited, free_page, ptr, NULL };
	struct gpt t;

	(void)state;
	failing_after = 3; /* root, a PDPT, a PD: no page table for the 4 KiB tail */
	assert_int_equal(gpt_init(&t, &gpt_format_ept, &limited, GPT_2M), 0);
	assert_int_equal(gpt_map(&t, 0, 0, 2 * MIB + 4096, GPT_RWX, GPT_MEM_WB), -1);
	expect_unmapped(&t, 0);
	gpt_destroy(&t);
	assert_int_equal(live_pages, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ept_large_pages),
		cmocka_unit_test(npt_large_pages),
		cmocka_unit_test(page_sizes_are_honoured),
		cmocka_unit_test(permissions_and_memory_types),
		cmocka_unit_test(entry_bits),
		cmocka_unit_test(unmap_splits_large_pages),
		cmocka_unit_test(overlaps_and_bad_arguments_are_refused),
		cmocka_unit_test(an_overlap_past_a_hole_is_refused),
		cmocka_unit_test(out_of_memory_leaves_nothing_half_done),
	};

	return cmocka_run_group_tests_name("gpt", tests, NULL, NULL);
}
