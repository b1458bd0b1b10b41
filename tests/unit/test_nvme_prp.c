/*
 * The NVMe PRP-list builder: the two-entry and list forms, the page rules
 * (only the first entry may start inside a page, only the last may end
 * early), splits where segments break them, cuts at block boundaries, the
 * list's capacity, and hostile segment lists (wrapping, misaligned, empty
 * segments); then random segment lists, each command's PRPs checked to
 * name exactly the request's bytes in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nvme_prp.h"

#define LIST_PA 0x7000000ull
#define KIB 1024u

static uint64_t list[NVME_PRP_LIST_ENTRIES];

static uint32_t build(const struct blk_seg *seg, uint32_t nseg, struct blk_cursor *at, uint32_t max,
		      uint32_t bs, struct nvme_prp *p)
{
	memset(list, 0xee, sizeof(list));
	return nvme_prp_build(seg, nseg, at, max, bs, list, LIST_PA, p);
}

static void one_page_or_less(void **state)
{
	const struct blk_seg seg[] = { { 0x100200, 512 } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 1, &at, ~0u, 512, &p), 512);
	assert_int_equal(p.prp1, 0x100200);
	assert_int_equal(p.prp2, 0);
	assert_int_equal(p.list_len, 0);
	assert_int_equal(build(seg, 1, &at, ~0u, 512, &p), 0); /* nothing left */
}

static void two_pages_use_prp2_directly(void **state)
{
	const struct blk_seg seg[] = { { 0x200000, 8 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 1, &at, ~0u, 512, &p), 8 * KIB);
	assert_int_equal(p.prp1, 0x200000);
	assert_int_equal(p.prp2, 0x201000);
	assert_int_equal(p.list_len, 0);
}

static void three_pages_use_a_list(void **state)
{
	/* Starts inside a page: 3.5 KiB, 4 KiB, 0.5 KiB. */
	const struct blk_seg seg[] = { { 0x300200, 8 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 1, &at, ~0u, 512, &p), 8 * KIB);
	assert_int_equal(p.prp1, 0x300200);
	assert_int_equal(p.prp2, LIST_PA);
	assert_int_equal(p.list_len, 2);
	assert_int_equal(list[0], 0x301000);
	assert_int_equal(list[1], 0x302000);
}

static void segment_ending_inside_a_page_splits(void **state)
{
	const struct blk_seg seg[] = { { 0x400000, 512 }, { 0x500000, 4 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 2, &at, ~0u, 512, &p), 512);
	assert_int_equal(p.prp1, 0x400000);
	assert_int_equal(p.prp2, 0);
	assert_int_equal(build(seg, 2, &at, ~0u, 512, &p), 4 * KIB);
	assert_int_equal(p.prp1, 0x500000);
	assert_int_equal(p.prp2, 0);
}

static void later_segment_starting_inside_a_page_splits(void **state)
{
	const struct blk_seg seg[] = { { 0x400000, 4 * KIB }, { 0x500200, 512 } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 2, &at, ~0u, 512, &p), 4 * KIB);
	assert_int_equal(build(seg, 2, &at, ~0u, 512, &p), 512);
	assert_int_equal(p.prp1, 0x500200);
}

static void contiguous_segments_share_an_entry(void **state)
{
	const struct blk_seg seg[] = { { 0x600000, 512 }, { 0x600200, 3584 }, { 0x900000, 4 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 3, &at, ~0u, 512, &p), 8 * KIB);
	assert_int_equal(p.prp1, 0x600000);
	assert_int_equal(p.prp2, 0x900000);
	assert_int_equal(p.list_len, 0);
}

static void cuts_fall_on_block_boundaries(void **state)
{
	/* 4 KiB blocks: 1 KiB ends inside a page, then 7 KiB: the first cut would leave 1 KiB of a block. */
	const struct blk_seg seg[] = { { 0x100000, 1 * KIB }, { 0x200000, 7 * KIB } };
	const struct blk_seg ok[] = { { 0x100c00, 1 * KIB }, { 0x101000, 7 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(seg, 2, &at, ~0u, 4096, &p), 0);
	assert_int_equal(at.seg, 0); /* the cursor stays put on failure */
	assert_int_equal(at.off, 0);
	/* The same sizes, contiguous: one command. */
	assert_int_equal(build(ok, 2, &at, ~0u, 4096, &p), 8 * KIB);
	assert_int_equal(p.prp1, 0x100c00);
	assert_int_equal(p.prp2, LIST_PA);
	assert_int_equal(p.list_len, 2);
	/* A limit that is not a whole block is rounded down. */
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(build(ok, 2, &at, 6 * KIB, 4096, &p), 4 * KIB);
	assert_int_equal(at.seg, 1);
	assert_int_equal(at.off, 3 * KIB);
}

static void the_list_holds_one_page_of_entries(void **state)
{
	const struct blk_seg seg[] = { { 0x10000000, 4u << 20 } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;
	uint32_t first;

	(void)state;
	first = build(seg, 1, &at, ~0u, 512, &p);
	assert_int_equal(first, (1 + NVME_PRP_LIST_ENTRIES) * NVME_PAGE);
	assert_int_equal(p.list_len, NVME_PRP_LIST_ENTRIES);
	assert_int_equal(list[NVME_PRP_LIST_ENTRIES - 1], 0x10000000 + (uint64_t)NVME_PRP_LIST_ENTRIES * NVME_PAGE);
	assert_int_equal(build(seg, 1, &at, ~0u, 512, &p), (4u << 20) - first);
	assert_int_equal(p.prp1, 0x10000000 + first);
	/* A transfer limit (MDTS) ends a command early too. */
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(build(seg, 1, &at, 128 * KIB, 512, &p), 128 * KIB);
	assert_int_equal(p.list_len, 31);
}

static void hostile_segments(void **state)
{
	const struct blk_seg wrap[] = { { 0xfffffffffffff000ull, 8 * KIB } };
	const struct blk_seg odd[] = { { 0x100002, 512 } };
	const struct blk_seg empty[] = { { 0x100000, 0 }, { 0x200000, 512 }, { 0x300000, 0 }, { 0x200200, 512 } };
	const struct blk_seg wrap_later[] = { { 0x100000, 4 * KIB }, { 0xfffffffffffff000ull, 8 * KIB } };
	struct blk_cursor at = { 0, 0 };
	struct nvme_prp p;

	(void)state;
	assert_int_equal(build(wrap, 1, &at, ~0u, 512, &p), 0);
	assert_int_equal(build(odd, 1, &at, ~0u, 512, &p), 0);
	assert_int_equal(build(odd, 1, &at, ~0u, 0, &p), 0);
	/* Empty segments are stepped over; the data around them is contiguous. */
	assert_int_equal(build(empty, 4, &at, ~0u, 512, &p), 1 * KIB);
	assert_int_equal(p.prp1, 0x200000);
	assert_int_equal(p.prp2, 0);
	/* A bad segment after good ones ends the command before it, and the next one cannot start. */
	at = (struct blk_cursor){ 0, 0 };
	assert_int_equal(build(wrap_later, 2, &at, ~0u, 512, &p), 4 * KIB);
	assert_int_equal(build(wrap_later, 2, &at, ~0u, 512, &p), 0);
	/* A cursor past the end describes nothing. */
	at = (struct blk_cursor){ 7, 0 };
	assert_int_equal(build(empty, 4, &at, ~0u, 512, &p), 0);
}

/* ---- random segment lists, checked sector by sector ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33) % n;
}

/* The address of each 512-byte sector, in order, that a command's PRPs name. */
static uint32_t prp_sectors(const struct nvme_prp *p, uint32_t bytes, uint64_t *out)
{
	uint64_t entries[1 + NVME_PRP_LIST_ENTRIES];
	uint32_t n = 0, e = 0, i;

	entries[n++] = p->prp1;
	if (p->list_len)
		for (i = 0; i < p->list_len; i++)
			entries[n++] = list[i];
	else if (p->prp2)
		entries[n++] = p->prp2;
	for (i = 0; i < bytes / 512; i++) {
		uint64_t addr;

		if (i && (out[i - 1] + 512) % NVME_PAGE == 0)
			e++;
		assert_true(e < n);
		if (e)
			assert_int_equal(entries[e] % NVME_PAGE, 0); /* only PRP1 has an offset */
		addr = i && (out[i - 1] + 512) % NVME_PAGE ? out[i - 1] + 512 : entries[e];
		out[i] = addr;
	}
	assert_int_equal(e + 1, n); /* no entry unused */
	return bytes / 512;
}

static void random_lists_are_described_exactly(void **state)
{
	static uint64_t want[BLK_SEG_MAX * 64], got[(1 + NVME_PRP_LIST_ENTRIES) * 8];
	unsigned round;

	(void)state;
	for (round = 0; round < 3000; round++) {
		struct blk_seg seg[BLK_SEG_MAX];
		uint32_t nseg = 1 + rnd(12), bs = rnd(2) ? 512 : 4096, i, k, n = 0, done = 0;
		struct blk_cursor at = { 0, 0 };
		uint64_t next = 0x100000;

		for (i = 0; i < nseg; i++) {
			uint32_t len = 512 * (1 + rnd(24));
			/* Mostly page-aligned, sometimes contiguous with the last, sometimes anywhere. */
			uint64_t pa = rnd(3) == 0 ? next : rnd(2) ? 0x100000 + NVME_PAGE * (uint64_t)rnd(4096)
								 : 0x100000 + 512 * (uint64_t)rnd(32768);
			seg[i] = (struct blk_seg){ pa, len };
			next = pa + len;
			for (k = 0; k < len / 512; k++)
				want[n++] = pa + 512 * k;
		}
		while (done < n * 512) {
			struct nvme_prp p;
			uint32_t max = rnd(4) ? ~0u : bs * (1 + rnd(16));
			uint32_t bytes = build(seg, nseg, &at, max, bs, &p), s;

			if (!bytes) {
				/* Only where what is left cannot start with a whole block in PRPs. */
				assert_int_not_equal(bs, 512);
				break;
			}
			assert_int_equal(bytes % bs, 0);
			assert_true(bytes <= max);
			assert_int_equal(p.prp1 % 4, 0);
			s = prp_sectors(&p, bytes, got);
			assert_memory_equal(got, want + done / 512, s * sizeof(got[0]));
			done += bytes;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_page_or_less),
		cmocka_unit_test(two_pages_use_prp2_directly),
		cmocka_unit_test(three_pages_use_a_list),
		cmocka_unit_test(segment_ending_inside_a_page_splits),
		cmocka_unit_test(later_segment_starting_inside_a_page_splits),
		cmocka_unit_test(contiguous_segments_share_an_entry),
		cmocka_unit_test(cuts_fall_on_block_boundaries),
		cmocka_unit_test(the_list_holds_one_page_of_entries),
		cmocka_unit_test(hostile_segments),
		cmocka_unit_test(random_lists_are_described_exactly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
