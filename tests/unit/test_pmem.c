/* Page allocator: only free RAM is handed out, never twice, and frees of
 * pages that were not handed out are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pmem.h"

#define MIB (1ull << 20)

/* A firmware-like map: holes, ACPI, loader data, a region overlapping another. */
static const struct mem_region map[] = {
	{ 0x0, 0x9f000, MEM_FREE, 0 },
	{ 0x9f000, 0x61000, MEM_RESERVED, 0 },
	{ 1 * MIB, 7 * MIB, MEM_FREE, 0 },
	{ 8 * MIB, 1 * MIB, MEM_ACPI_RECLAIM, 0 },
	{ 9 * MIB, 23 * MIB, MEM_FREE, 0 },
	{ 20 * MIB, 1 * MIB, MEM_RESERVED, 0 }, /* overlaps the free region above */
	{ 32 * MIB, 1 * MIB, MEM_LOADED, 0 },
	{ 33 * MIB, 31 * MIB + 0x800, MEM_FREE, 0 }, /* ends off a page boundary */
	{ 64 * MIB + 0x800, 1 * MIB, MEM_ACPI_NVS, 0 },
	{ 0xfee00000, 0x1000, MEM_RESERVED, 0 },
};
#define NMAP (sizeof(map) / sizeof(map[0]))

static const struct pmem_range image = { 12 * MIB, 512 * 1024 };

static struct pmem pm;
static uint64_t *storage;
static struct pmem_range excluded[2];

static int setup(void **state)
{
	uint64_t bytes = pmem_bitmap_bytes(map, NMAP);

	(void)state;
	excluded[0] = image;
	excluded[1].base = pmem_place_bitmap(map, NMAP, bytes, excluded, 1);
	excluded[1].size = bytes;
	storage = malloc(bytes);
	pmem_init(&pm, storage, map, NMAP, excluded, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(storage);
	return 0;
}

static int page_allowed(uint64_t a)
{
	size_t i;

	if (a < PMEM_LOW_LIMIT)
		return 0;
	for (i = 0; i < NMAP; i++)
		if (map[i].type != MEM_FREE && a + PAGE_SIZE > map[i].base && a < map[i].base + map[i].size)
			return 0;
	for (i = 0; i < 2; i++)
		if (a + PAGE_SIZE > excluded[i].base && a < excluded[i].base + excluded[i].size)
			return 0;
	for (i = 0; i < NMAP; i++)
		if (map[i].type == MEM_FREE && a >= map[i].base && a + PAGE_SIZE <= map[i].base + map[i].size)
			return 1;
	return 0;
}

static void bitmap_is_placed_in_free_memory(void **state)
{
	uint64_t a;

	(void)state;

	assert_true(excluded[1].base >= PMEM_LOW_LIMIT);
	assert_true(excluded[1].size > 0);
	for (a = excluded[1].base; a < excluded[1].base + excluded[1].size; a += PAGE_SIZE) {
		excluded[1].size = 0; /* judge the bitmap's pages against the map alone */
		assert_true(page_allowed(a));
		excluded[1].size = pmem_bitmap_bytes(map, NMAP);
	}
	assert_false(excluded[1].base < image.base + image.size && image.base < excluded[1].base + excluded[1].size);
}

static void every_page_handed_out_is_free_ram_and_only_once(void **state)
{
	uint64_t limit = 128 * MIB / PAGE_SIZE, count = 0, a;
	uint8_t *seen = calloc(limit, 1);

	(void)state;
	while ((a = pmem_alloc(&pm, 1, 1)) != 0) {
		assert_true(page_allowed(a));
		assert_true(a / PAGE_SIZE < limit);
		assert_int_equal(seen[a / PAGE_SIZE], 0);
		seen[a / PAGE_SIZE] = 1;
		count++;
	}
	assert_int_equal(count, pm.total_free);
	assert_int_equal(pm.free_pages, 0);
	/* Every allowed page was found: nothing free was lost either. */
	for (a = 0; a < limit; a++)
		if (page_allowed(a * PAGE_SIZE) && !(a * PAGE_SIZE >= excluded[1].base &&
						    a * PAGE_SIZE < excluded[1].base + excluded[1].size))
			assert_int_equal(seen[a], 1);
	free(seen);
}

static void double_free_and_foreign_free_are_refused(void **state)
{
	uint64_t a = pmem_alloc(&pm, 4, 1), before;

	(void)state;
	assert_int_not_equal(a, 0);
	assert_int_equal(pmem_free(&pm, a, 4), 0);
	before = pm.free_pages;
	assert_int_equal(pmem_free(&pm, a, 4), -1);         /* double free */
	assert_int_equal(pmem_free(&pm, 8 * MIB, 1), -1);   /* ACPI, never handed out */
	assert_int_equal(pmem_free(&pm, image.base, 1), -1); /* the hypervisor image */
	assert_int_equal(pmem_free(&pm, a + 1, 1), -1);     /* not page aligned */
	assert_int_equal(pmem_free(&pm, UINT64_MAX & ~(PAGE_SIZE - 1), 1), -1);
	assert_int_equal(pmem_free(&pm, a, UINT64_MAX), -1);
	assert_int_equal(pm.free_pages, before);
}

static void partial_double_free_changes_nothing(void **state)
{
	uint64_t a = pmem_alloc(&pm, 2, 1), before;

	(void)state;
	assert_int_equal(pmem_free(&pm, a, 1), 0);
	before = pm.free_pages;
	assert_int_equal(pmem_free(&pm, a, 2), -1);
	assert_int_equal(pm.free_pages, before);
	assert_int_equal(pmem_free(&pm, a + PAGE_SIZE, 1), 0);
}

static void contiguous_aligned_runs(void **state)
{
	uint64_t a = pmem_alloc(&pm, 512, 512), i;

	(void)state;
	assert_int_not_equal(a, 0);
	assert_int_equal(a % (2 * MIB), 0);
	for (i = 0; i < 512; i++)
		assert_true(page_allowed(a + i * PAGE_SIZE));
	assert_int_equal(pmem_free(&pm, a, 512), 0);
	/* Larger than any free run: refused, nothing taken. */
	assert_int_equal(pmem_alloc(&pm, 32 * MIB / PAGE_SIZE, 1), 0);
	assert_int_equal(pm.free_pages, pm.total_free);
}

static void bad_requests(void **state)
{
	(void)state;
	assert_int_equal(pmem_alloc(&pm, 0, 1), 0);
	assert_int_equal(pmem_alloc(&pm, 1, 3), 0);
	assert_int_equal(pmem_alloc(&pm, 1, 0), 0);
	assert_int_equal(pmem_alloc(&pm, UINT64_MAX, 1), 0);
}

/*
 * 2 MiB of RAM at 2 MiB but for one used page k: a run longer than the
 * free pages on one side of k is found on the other, wherever k falls in a
 * word of the bitmap (the search reads it a word at a time).
 */
static void runs_either_side_of_one_used_page(void **state)
{
	static const struct mem_region two_mib = { 2 * MIB, 2 * MIB, MEM_FREE, 0 };
	static const unsigned used[] = { 0, 1, 62, 63, 64, 65, 127, 128, 300, 446, 447, 448, 510, 511 };
	uint64_t *bits = malloc(pmem_bitmap_bytes(&two_mib, 1)), a, run;
	struct pmem small;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		unsigned k = used[i];
		pmem_init(&small, bits, &two_mib, 1, NULL, 0);
		a = pmem_alloc(&small, 512, 1);
		assert_int_equal(a, 2 * MIB);
		if (k)
			assert_int_equal(pmem_free(&small, a, k), 0);
		if (k < 511)
			assert_int_equal(pmem_free(&small, a + (k + 1) * PAGE_SIZE, 511 - k), 0);
		run = k > 511 - k ? k : 511 - k;
		assert_int_equal(pmem_alloc(&small, run, 1), k > 511 - k ? a : a + (k + 1) * PAGE_SIZE);
		assert_int_equal(pmem_alloc(&small, run + 1, 1), 0);
	}
	free(bits);
}

static void empty_map(void **state)
{
	struct pmem empty;
	uint64_t word;
	struct mem_region none = { 0, 0x1000, MEM_RESERVED, 0 };

	(void)state;
	assert_int_equal(pmem_bitmap_bytes(&none, 1), 0);
	pmem_init(&empty, &word, &none, 1, NULL, 0);
	assert_int_equal(empty.total_free, 0);
	assert_int_equal(pmem_alloc(&empty, 1, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bitmap_is_placed_in_free_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(every_page_handed_out_is_free_ram_and_only_once, setup, teardown),
		cmocka_unit_test_setup_teardown(double_free_and_foreign_free_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_double_free_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(contiguous_aligned_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_requests, setup, teardown),
		cmocka_unit_test(runs_either_side_of_one_used_page),
		cmocka_unit_test(empty_map),
	};

	return cmocka_run_group_tests_name("pmem", tests, NULL, NULL);
}
