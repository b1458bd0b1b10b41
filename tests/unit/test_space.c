/* space_read_code: the bytes at CS:RIP through a guest's page tables and
 * the nested tables, with and without the vCPU's cached translation of its
 * code page; whatever the guest or the hypervisor changed between two
 * reads, the second gives what a fresh walk gives, never the old page.
 * The same for the decoded instruction the MMIO path keeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "mm.h"
#include "space.h"

#define RAM_SIZE SPACE_CHUNK /* one chunk, at guest-physical 0 */
#define CR0_PE 0x1ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LMA 0x400ull
#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull

/* Guest RAM: tables at 0x1000-0x7fff, code pages A, B and C at 0x8000, 0x9000, 0xa000. */
#define PAGE_A 0x8000u
#define PAGE_B 0x9000u
#define PAGE_C 0xa000u
#define CODE 0x400000ull /* the linear address the code runs at */

uint64_t mm_alloc(uint64_t pages)
{
	void *p = aligned_alloc(4096, pages * 4096);

	assert_non_null(p);
	memset(p, 0, pages * 4096);
	return (uint64_t)(uintptr_t)p;
}

void mm_free(uint64_t pa, uint64_t pages)
{
	(void)pages;
	free((void *)(uintptr_t)pa);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static uint8_t *ram;
static struct guest_space space;
static struct code_cache cache;

static void set_entry(uint64_t table, unsigned index, unsigned size, uint64_t value)
{
	memcpy(ram + table + index * size, &value, size);
}

static void fill_page(uint32_t gpa, uint8_t byte)
{
	memset(ram + gpa, byte, 4096);
}

static int setup(void **state)
{
	(void)state;
	ram = aligned_alloc(RAM_SIZE, RAM_SIZE);
	memset(&cache, 0, sizeof(cache));
	assert_int_equal(space_init(&space, &gpt_format_npt, 0), 0);
	assert_int_equal(space_add_ram(&space, 0, (uint64_t)(uintptr_t)ram, RAM_SIZE), 0);
	assert_non_null(space_ram(&space, 0, RAM_SIZE)); /* zeroed and mapped before the pages are filled */
	fill_page(PAGE_A, 0xaa);
	fill_page(PAGE_B, 0xbb);
	fill_page(PAGE_C, 0xcc);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	space_destroy(&space);
	free(ram);
	return 0;
}

/* 4-level tables at cr3 mapping CODE (and the 4 KiB after it) to pages a and b. */
static void long4_tables(uint64_t cr3, uint64_t pdpt, uint64_t pd, uint64_t pt, uint32_t a, uint32_t b)
{
	set_entry(cr3, 0, 8, pdpt | P | RW);
	set_entry(pdpt, 0, 8, pd | P | RW);
	set_entry(pd, 2, 8, pt | P | RW); /* CODE is 2 MiB * 2 */
	set_entry(pt, 0, 8, a | P | RW);
	set_entry(pt, 1, 8, b | P | RW);
}

static struct guest_mode long4(uint64_t cr3)
{
	return (struct guest_mode){ .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = cr3, .cr4 = CR4_PAE, .efer = EFER_LMA,
				    .cs_long = 1, .code_cache = &cache };
}

/* The byte at rip as space_read_code gives it, or -1 with the walk's failure in *r. */
static int code_byte(const struct guest_mode *g, uint64_t rip, enum guest_walk_result *r)
{
	uint8_t bytes[INSN_MAX];
	enum cpu_mode mode;
	unsigned n;

	*r = space_read_code(&space, g, rip, bytes, &n, &mode);
	return *r == GUEST_WALK_OK ? bytes[0] : -1;
}

static void expect_byte(const struct guest_mode *g, uint64_t rip, int byte)
{
	enum guest_walk_result r;

	assert_int_equal(code_byte(g, rip, &r), byte);
}

static void expect_failure(const struct guest_mode *g, uint64_t rip, enum guest_walk_result why)
{
	enum guest_walk_result r;

	assert_int_equal(code_byte(g, rip, &r), -1);
	assert_int_equal(r, why);
}

static void remapped_page_is_seen(void **state)
{
	struct guest_mode g = long4(0x1000);

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	expect_byte(&g, CODE + 0x10, 0xaa);
	assert_non_null(cache.way[0].page); /* the second read comes from the cache */
	expect_byte(&g, CODE + 0x20, 0xaa);
	set_entry(0x4000, 0, 8, PAGE_C | P); /* the guest remaps its code page, without telling */
	expect_byte(&g, CODE + 0x20, 0xcc);
	set_entry(0x3000, 2, 8, 0x5000 | P | RW); /* a new page table, at the PDE */
	set_entry(0x5000, 0, 8, PAGE_B | P);
	expect_byte(&g, CODE + 0x20, 0xbb);
	set_entry(0x5000, 0, 8, PAGE_B); /* not present */
	expect_failure(&g, CODE + 0x20, GUEST_WALK_PAGE_FAULT);
}

static void cr3_and_mode_changes_are_seen(void **state)
{
	struct guest_mode g = long4(0x1000), other = long4(0xb000), user = long4(0x1000);
	struct guest_mode flat = { .cr0 = CR0_PE, .cs_default32 = 1, .code_cache = &cache };

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	long4_tables(0xb000, 0xc000, 0xd000, 0xe000, PAGE_C, PAGE_B);
	expect_byte(&g, CODE, 0xaa);
	expect_byte(&other, CODE, 0xcc); /* a CR3 write between two exits */
	expect_byte(&g, CODE, 0xaa);
	user.cpl = 3; /* a supervisor page: a fetch at CPL 3 faults, whatever was cached at CPL 0 */
	expect_failure(&user, CODE, GUEST_WALK_PAGE_FAULT);
	expect_byte(&flat, PAGE_B + 4, 0xbb); /* paging off: linear is physical */
	expect_byte(&g, CODE, 0xaa);
}

/* A change of the nested tables (here another range's chunk zeroed and mapped) sends the next read to a walk. */
static void nested_table_changes_are_seen(void **state)
{
	struct guest_mode g = long4(0x1000);
	uint8_t *high = aligned_alloc(RAM_SIZE, RAM_SIZE);
	unsigned walks;

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	expect_byte(&g, CODE, 0xaa);
	walks = cache.next;
	expect_byte(&g, CODE, 0xaa);
	assert_int_equal(cache.next, walks); /* from the cache */
	assert_int_equal(space_add_ram(&space, 1ull << 32, (uint64_t)(uintptr_t)high, RAM_SIZE), 0);
	assert_non_null(space_ram(&space, 1ull << 32, 1));
	expect_byte(&g, CODE, 0xaa);
	assert_int_equal(cache.next, walks + 1);
	free(high); /* teardown frees the tables, which never touch it */
}

/*
 * A copy of the entry a read came through (what AMD-V keeps of its last
 * step) is current until any guest page-table entry of its walk, or the
 * nested tables, change; a read that may cross its page has no entry.
 */
static void copied_walk_sees_changes(void **state)
{
	struct guest_mode g = long4(0x1000);
	struct code_page copy;

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	expect_byte(&g, CODE + 0x10, 0xaa);
	assert_non_null(space_code_page_of(&g, CODE + 0x10));
	copy = *space_code_page_of(&g, CODE + 0x10);
	assert_ptr_equal(copy.page, ram + PAGE_A);
	assert_true(space_code_walk_unchanged(&space, &copy));
	set_entry(0x2000, 0, 8, 0x3000 | P); /* the PDPTE's write right dropped */
	assert_false(space_code_walk_unchanged(&space, &copy));
	set_entry(0x2000, 0, 8, 0x3000 | P | RW);
	assert_true(space_code_walk_unchanged(&space, &copy));
	space.generation++;
	assert_false(space_code_walk_unchanged(&space, &copy));
	expect_byte(&g, CODE + 4096 - 2, 0xaa);
	assert_null(space_code_page_of(&g, CODE + 4096 - 2));
}

/*
 * Two code pages exiting in turn (a guest's device kick, its EOI) both stay
 * cached, each checked on its own, the one that hit last as fully as the other.
 */
static void code_pages_in_turn_stay_cached(void **state)
{
	struct guest_mode g = long4(0x1000);

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	expect_byte(&g, CODE + 0x10, 0xaa);
	expect_byte(&g, CODE + 4096 + 0x10, 0xbb);
	assert_int_equal(cache.next, 2);
	expect_byte(&g, CODE + 0x20, 0xaa);
	expect_byte(&g, CODE + 4096 + 0x20, 0xbb);
	assert_int_equal(cache.next, 2); /* no walk: both from the cache */
	set_entry(0x4000, 0, 8, PAGE_C | P); /* the first remapped: walked again; the second still cached */
	expect_byte(&g, CODE + 0x20, 0xcc);
	expect_byte(&g, CODE + 4096 + 0x20, 0xbb);
	assert_int_equal(cache.next, 3);
	assert_int_equal(cache.last, 1); /* the second's way hit last: looked at first, checked like the others */
	set_entry(0x4000, 1, 8, PAGE_A | P);
	expect_byte(&g, CODE + 4096 + 0x20, 0xaa);
	assert_int_equal(cache.next, 0); /* walked again, into the fourth way */
	set_entry(0x3000, 2, 8, 0); /* the page table gone: neither page comes from the cache */
	expect_failure(&g, CODE + 0x20, GUEST_WALK_PAGE_FAULT);
	expect_failure(&g, CODE + 4096 + 0x20, GUEST_WALK_PAGE_FAULT);
}

/*
 * 32-bit paging: 4-byte entries, the PDE at index 1 for CODE (the high
 * half of the aligned word the cache rechecks it by).
 */
static void paging32_remap_is_seen(void **state)
{
	struct guest_mode g = { .cr0 = CR0_PE | CR0_PG, .cr3 = 0x1000, .cs_default32 = 1, .code_cache = &cache };

	(void)state;
	set_entry(0x1000, 1, 4, 0x2000 | P | RW);
	set_entry(0x2000, 0, 4, PAGE_A | P | US);
	expect_byte(&g, CODE + 0x100, 0xaa);
	set_entry(0x2000, 0, 4, PAGE_B | P | US);
	expect_byte(&g, CODE + 0x100, 0xbb);
	set_entry(0x3000, 0, 4, PAGE_C | P | US);
	set_entry(0x1000, 1, 4, 0x3000 | P | RW);
	expect_byte(&g, CODE + 0x100, 0xcc);
}

/* An instruction that may run into the next page is read from both, uncached, as they are now. */
static void instruction_at_a_page_end(void **state)
{
	struct guest_mode g = long4(0x1000);
	uint8_t bytes[INSN_MAX];
	enum cpu_mode mode;
	unsigned n;

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	assert_int_equal(space_read_code(&space, &g, CODE + 4096 - 3, bytes, &n, &mode), GUEST_WALK_OK);
	assert_int_equal(n, INSN_MAX);
	assert_int_equal(bytes[2], 0xaa);
	assert_int_equal(bytes[3], 0xbb);
	set_entry(0x4000, 1, 8, PAGE_C | P);
	assert_int_equal(space_read_code(&space, &g, CODE + 4096 - 3, bytes, &n, &mode), GUEST_WALK_OK);
	assert_int_equal(bytes[3], 0xcc);
	set_entry(0x4000, 1, 8, 0); /* the next page gone: only what is left of this one */
	assert_int_equal(space_read_code(&space, &g, CODE + 4096 - 3, bytes, &n, &mode), GUEST_WALK_OK);
	assert_int_equal(n, 3);
}

/* MOV dword [rax + 0x10], 1: ten bytes, so the kept check's second word holds three of them. */
static const uint8_t mov_imm[] = { 0xc7, 0x80, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00 };

/* Reads and decodes the instruction at rip and keeps it, as the MMIO path does after a decode. */
static void keep_at(const struct guest_mode *g, uint64_t rip)
{
	uint8_t bytes[INSN_MAX];
	enum cpu_mode mode;
	struct insn in;
	unsigned n;

	assert_int_equal(space_read_code(&space, g, rip, bytes, &n, &mode), GUEST_WALK_OK);
	assert_int_equal(insn_decode(bytes, n, mode, &in), 0);
	space_keep_insn(&cache.decoded, g, rip, bytes, &in, mode);
}

static const struct insn *kept(const struct guest_mode *g, uint64_t rip)
{
	enum cpu_mode mode;

	return space_kept_insn(&space, g, &cache.decoded, rip, &mode);
}

/*
 * The kept instruction is given again only at its own linear address, in
 * its mode, while its walk and each of its bytes hold; a change of any of
 * them, or of a byte past it, is judged as the decoder would judge it.
 */
static void kept_instruction_holds_only_while_unchanged(void **state)
{
	struct guest_mode g = long4(0x1000), other = long4(0xb000), user = long4(0x1000), compat = long4(0x1000);
	const struct insn *in;

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	long4_tables(0xb000, 0xc000, 0xd000, 0xe000, PAGE_A, PAGE_B);
	memcpy(ram + PAGE_A + 0x10, mov_imm, sizeof(mov_imm));
	memcpy(ram + PAGE_C + 0x10, mov_imm, sizeof(mov_imm));
	assert_null(kept(&g, CODE + 0x10)); /* nothing kept yet */
	keep_at(&g, CODE + 0x10);
	in = kept(&g, CODE + 0x10);
	assert_ptr_equal(in, &cache.decoded.in);
	assert_int_equal(in->length, sizeof(mov_imm));
	assert_int_equal(in->opcode, 0xc7);
	assert_null(kept(&g, CODE + 0x11)); /* another RIP */
	ram[PAGE_A + 0x10 + 10] = 0x90; /* past the instruction: not its business */
	assert_non_null(kept(&g, CODE + 0x10));
	ram[PAGE_A + 0x10 + 9] = 0x02; /* its immediate's last byte, in the second word */
	assert_null(kept(&g, CODE + 0x10));
	ram[PAGE_A + 0x10 + 9] = 0x00;
	assert_non_null(kept(&g, CODE + 0x10));
	ram[PAGE_A + 0x10] = 0xc6; /* its opcode, in the first word */
	assert_null(kept(&g, CODE + 0x10));
	ram[PAGE_A + 0x10] = 0xc7;
	compat.cs_long = 0; /* the same linear address in 16-bit code */
	assert_null(kept(&compat, CODE + 0x10));
	assert_null(kept(&other, CODE + 0x10)); /* another CR3, though its tables map the same page */
	user.cpl = 3;
	assert_null(kept(&user, CODE + 0x10));
	set_entry(0x4000, 0, 8, PAGE_C | P | RW); /* remapped to a page holding the same bytes */
	assert_null(kept(&g, CODE + 0x10));
	set_entry(0x4000, 0, 8, PAGE_A | P | RW);
	assert_non_null(kept(&g, CODE + 0x10));
	space.generation++; /* the nested tables changed */
	assert_null(kept(&g, CODE + 0x10));
}

/* An instruction that may run into the next page is not kept: its bytes did not come through the cache. */
static void instruction_at_a_page_end_is_not_kept(void **state)
{
	struct guest_mode g = long4(0x1000);

	(void)state;
	long4_tables(0x1000, 0x2000, 0x3000, 0x4000, PAGE_A, PAGE_B);
	memcpy(ram + PAGE_A + 4096 - 10, mov_imm, sizeof(mov_imm));
	keep_at(&g, CODE + 4096 - 10);
	assert_null(kept(&g, CODE + 4096 - 10));
}

#define CHUNK (2u << 20)
#define LAZY_GPA 0x100000000ull /* RAM from 4 GiB, as a partition's high RAM */

/* The byte at gpa's host address, not through space_ram: what lies there whether made ready or not. */
static uint8_t left(const uint8_t *lazy, uint64_t gpa)
{
	return lazy[gpa - LAZY_GPA];
}

static int mapped(uint64_t gpa)
{
	struct gpt_walk w;

	return gpt_translate(&space.gpt, gpa, &w) == 0;
}

/*
 * RAM a previous owner left 0xee in: nothing is mapped until touched, a
 * touch zeroes and maps its 2 MiB chunks (an access across a chunk boundary
 * both), the rest stays unmapped and unread; outside the RAM, nothing.
 */
static void ram_is_zeroed_and_mapped_on_first_touch(void **state)
{
	uint8_t *lazy = aligned_alloc(CHUNK, 3 * CHUNK), *p;
	uint32_t generation = space.generation;

	(void)state;
	memset(lazy, 0xee, 3 * CHUNK);
	assert_int_equal(space_add_ram(&space, LAZY_GPA, (uint64_t)(uintptr_t)lazy, 3 * CHUNK - 4096), 0);
	assert_false(mapped(LAZY_GPA));
	p = space_ram(&space, LAZY_GPA + 2 * CHUNK - 8, 16);
	assert_ptr_equal(p, lazy + 2 * CHUNK - 8);
	assert_true(mapped(LAZY_GPA + CHUNK) && mapped(LAZY_GPA + 3 * CHUNK - 8192));
	assert_false(mapped(LAZY_GPA + 3 * CHUNK - 4096) || mapped(LAZY_GPA));
	assert_int_equal(left(lazy, LAZY_GPA + CHUNK), 0);
	assert_int_equal(left(lazy, LAZY_GPA + 3 * CHUNK - 4097), 0);
	assert_int_equal(left(lazy, LAZY_GPA + CHUNK - 1), 0xee);  /* chunk 0: untouched */
	assert_int_equal(left(lazy, LAZY_GPA + 3 * CHUNK - 4096), 0xee); /* past the RAM */
	assert_true(space.generation != generation);
	p[0] = 1;
	assert_ptr_equal(space_ram(&space, LAZY_GPA + 2 * CHUNK - 8, 1), p); /* ready: not zeroed again */
	assert_int_equal(p[0], 1);
	assert_null(space_ram(&space, LAZY_GPA + 3 * CHUNK - 4096, 1));
	assert_null(space_ram(&space, LAZY_GPA - 1, 2));
	assert_null(space_ram(&space, LAZY_GPA, 0));
	free(lazy); /* teardown frees the tables, which never touch it */
}

/*
 * A range the caller overwrites in full (a kernel copied in): the chunks
 * it spans are zeroed around it and mapped, the range itself left for the
 * copy; a chunk already ready is not zeroed again, not even around it.
 */
static void an_overwritten_range_is_not_zeroed_first(void **state)
{
	uint8_t *lazy = aligned_alloc(CHUNK, 3 * CHUNK), *p;

	(void)state;
	memset(lazy, 0xee, 3 * CHUNK);
	assert_int_equal(space_add_ram(&space, LAZY_GPA, (uint64_t)(uintptr_t)lazy, 3 * CHUNK), 0);
	p = space_ram_overwritten(&space, LAZY_GPA + CHUNK - 4096, CHUNK);
	assert_ptr_equal(p, lazy + CHUNK - 4096);
	assert_true(mapped(LAZY_GPA) && mapped(LAZY_GPA + CHUNK) && !mapped(LAZY_GPA + 2 * CHUNK));
	assert_int_equal(left(lazy, LAZY_GPA), 0);                        /* before the range */
	assert_int_equal(left(lazy, LAZY_GPA + CHUNK - 4097), 0);
	assert_int_equal(left(lazy, LAZY_GPA + CHUNK - 4096), 0xee);      /* the range: the copy's */
	assert_int_equal(left(lazy, LAZY_GPA + 2 * CHUNK - 4097), 0xee);
	assert_int_equal(left(lazy, LAZY_GPA + 2 * CHUNK - 4096), 0);     /* after it */
	assert_int_equal(left(lazy, LAZY_GPA + 2 * CHUNK - 1), 0);
	assert_int_equal(left(lazy, LAZY_GPA + 2 * CHUNK), 0xee);         /* chunk 2: untouched */
	lazy[0] = 1;
	assert_non_null(space_ram_overwritten(&space, LAZY_GPA + 4096, 4096));
	assert_int_equal(lazy[0], 1);
	free(lazy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(remapped_page_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(cr3_and_mode_changes_are_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(nested_table_changes_are_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(code_pages_in_turn_stay_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(copied_walk_sees_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(paging32_remap_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(instruction_at_a_page_end, setup, teardown),
		cmocka_unit_test_setup_teardown(kept_instruction_holds_only_while_unchanged, setup, teardown),
		cmocka_unit_test_setup_teardown(instruction_at_a_page_end_is_not_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(ram_is_zeroed_and_mapped_on_first_touch, setup, teardown),
		cmocka_unit_test_setup_teardown(an_overwritten_range_is_not_zeroed_first, setup, teardown),
	};

	return cmocka_run_group_tests_name("space", tests, NULL, NULL);
}
