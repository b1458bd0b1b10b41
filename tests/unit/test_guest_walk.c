/* The guest page-table walker in every paging mode, over page tables built
 * in a buffer that stands for the partition's RAM; and the address and
 * decode mode of the code at CS:RIP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guest_walk.h"

#define RAM_SIZE 0x10000u

#define CR0_PE 0x1ull
#define CR0_WP 0x10000ull
#define CR0_PG 0x80000000ull
#define CR4_PSE 0x10ull
#define CR4_PAE 0x20ull
#define CR4_LA57 0x1000ull
#define EFER_LMA 0x400ull
#define EFER_NXE 0x800ull
#define RFLAGS_VM 0x20000ull

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define PS 0x80ull
#define XD (1ull << 63)

static uint8_t ram[RAM_SIZE];

static int read_ram(void *ctx, uint64_t gpa, unsigned size, uint64_t *entry)
{
	(void)ctx;
	if (gpa >= RAM_SIZE || size > RAM_SIZE - gpa)
		return -1;
	*entry = 0;
	memcpy(entry, ram + gpa, size); /* the host is little-endian, as the guest */
	return 0;
}

static const struct guest_reader reader = { read_ram, 0 };

static void set_entry(uint64_t table, unsigned index, unsigned size, uint64_t value)
{
	memcpy(ram + table + index * size, &value, size);
}

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	return 0;
}

/* ---- modes ------------------------------------------------------------ */

static const struct guest_mode no_paging = { .cr0 = CR0_PE };
static const struct guest_mode paging32 = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000 };
static const struct guest_mode paging32_pse = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000,
						.cr4 = CR4_PSE };
/* PAE's CR3 is 32-byte aligned: the four PDPTEs need not start a page. */
static const struct guest_mode pae = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1020, .cr4 = CR4_PAE,
				       .efer = EFER_NXE };
static const struct guest_mode long4 = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000, .cr4 = CR4_PAE,
					 .efer = EFER_LMA | EFER_NXE };
static const struct guest_mode long5 = { .cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = 0x1000,
					 .cr4 = CR4_PAE | CR4_LA57, .efer = EFER_LMA | EFER_NXE };

static void paging_mode_from_registers(void **state)
{
	(void)state;
	assert_int_equal(guest_paging_mode(&no_paging), GUEST_PAGING_NONE);
	assert_int_equal(guest_paging_mode(&paging32), GUEST_PAGING_32);
	assert_int_equal(guest_paging_mode(&pae), GUEST_PAGING_PAE);
	assert_int_equal(guest_paging_mode(&long4), GUEST_PAGING_4LEVEL);
	assert_int_equal(guest_paging_mode(&long5), GUEST_PAGING_5LEVEL);
}

static enum guest_walk_result walk(const struct guest_mode *g, uint64_t linear, unsigned access,
				   struct guest_translation *t)
{
	return guest_translate(g, &reader, linear, access, t);
}

static void expect_gpa(const struct guest_mode *g, uint64_t linear, uint64_t gpa, uint64_t page_size)
{
	struct guest_translation t;

	assert_int_equal(walk(g, linear, GUEST_ACCESS_READ, &t), GUEST_WALK_OK);
	assert_int_equal(t.gpa, gpa);
	assert_int_equal(t.page_size, page_size);
}

static void expect_fault(const struct guest_mode *g, uint64_t linear, unsigned access, uint32_t error)
{
	struct guest_translation t;

	assert_int_equal(walk(g, linear, access, &t), GUEST_WALK_PAGE_FAULT);
	assert_int_equal(t.pf_error, error);
}

/* ---- no paging, 32-bit ------------------------------------------------ */

static void without_paging_linear_is_physical(void **state)
{
	(void)state;
	expect_gpa(&no_paging, 0x12345678, 0x12345678, 0x1000);
	expect_gpa(&no_paging, 0x100001000ull, 0x1000, 0x1000); /* 32-bit addresses wrap */
}

static void paging32_4k(void **state)
{
	(void)state;
	set_entry(0x1000, 1, 4, 0x2000 | P | RW);
	set_entry(0x2000, 3, 4, 0xabc000 | P | RW);
	expect_gpa(&paging32, 0x00403123, 0xabc123, 0x1000);
	/* PS means nothing without CR4.PSE: the entry points at a page table. */
	set_entry(0x1000, 2, 4, 0x3000 | P | RW | PS);
	set_entry(0x3000, 0, 4, 0x5000 | P);
	expect_gpa(&paging32, 0x00800010, 0x5010, 0x1000);
}

static void paging32_4m_and_pse36(void **state)
{
	(void)state;
	set_entry(0x1000, 2, 4, 0xc00000 | P | RW | PS);
	expect_gpa(&paging32_pse, 0x00812345, 0xc12345, 0x400000);
	set_entry(0x1000, 3, 4, 0xc00000 | (0x05ull << 13) | P | PS); /* bits 39:32 in 20:13 */
	expect_gpa(&paging32_pse, 0x00c00001, 0x500c00001ull, 0x400000);
	set_entry(0x1000, 4, 4, 0xc00000 | (1ull << 21) | P | PS);
	expect_fault(&paging32_pse, 0x01000000, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
}

/* 32-bit paging has no execute-disable: a fetch never reports I/D without SMEP. */
static void paging32_faults(void **state)
{
	(void)state;
	expect_fault(&paging32, 0x1000, GUEST_ACCESS_FETCH, 0);
	set_entry(0x1000, 0, 4, 0x2000 | P | RW);
	set_entry(0x2000, 1, 4, 0x7000 | P);
	expect_fault(&paging32, 0x1000, GUEST_ACCESS_WRITE, PF_PRESENT | PF_WRITE);
	expect_fault(&paging32, 0x1000, GUEST_ACCESS_READ | GUEST_ACCESS_USER, PF_PRESENT | PF_USER);
}

/* ---- PAE -------------------------------------------------------------- */

static void pae_tables(void)
{
	set_entry(0x1020, 3, 8, 0x3000 | P);
	set_entry(0x3000, 1, 8, 0x4000 | P | RW | US);
	set_entry(0x4000, 1, 8, 0x123456000ull | P | RW | US);
	set_entry(0x3000, 2, 8, 0x40000000ull | P | RW | PS);
}

static void pae_4k_and_2m(void **state)
{
	(void)state;
	pae_tables();
	expect_gpa(&pae, 0xc0201abc, 0x123456abcull, 0x1000);
	expect_gpa(&pae, 0xc0412345, 0x40012345ull, 0x200000);
}

static void pae_reserved_bits(void **state)
{
	(void)state;
	pae_tables();
	set_entry(0x1020, 0, 8, 0x3000 | P | RW); /* a PDPTE has no R/W bit */
	expect_fault(&pae, 0x00000000, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
	set_entry(0x3000, 3, 8, 0x40000000ull | (1ull << 13) | P | PS); /* below a 2 MiB page's address */
	expect_fault(&pae, 0xc0600000, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
	expect_fault(&pae, 0x40000000, GUEST_ACCESS_FETCH, PF_FETCH); /* PDPTE 1 not present */
}

static void pae_execute_disable_needs_nxe(void **state)
{
	struct guest_mode no_nxe = pae;

	(void)state;
	no_nxe.efer = 0;
	pae_tables();
	set_entry(0x4000, 2, 8, 0x9000 | P | XD);
	expect_fault(&pae, 0xc0202000, GUEST_ACCESS_FETCH, PF_PRESENT | PF_FETCH);
	expect_gpa(&pae, 0xc0202000, 0x9000, 0x1000);
	expect_fault(&no_nxe, 0xc0202000, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
}

/* ---- 4-level and 5-level ---------------------------------------------- */

/* The same PDPT under PML4 entries 0 and 256: an identity map aliased at the kernel half. */
static void long_tables(void)
{
	set_entry(0x1000, 0, 8, 0x2000 | P | RW | US);
	set_entry(0x1000, 256, 8, 0x2000 | P | RW);
	set_entry(0x1000, 511, 8, 0x2000 | P | RW);
	set_entry(0x2000, 0, 8, 0x3000 | P | RW | US);
	set_entry(0x2000, 1, 8, 0x80000000ull | P | RW | US | PS);
	set_entry(0x2000, 511, 8, 0x3000 | P | RW | US);
	set_entry(0x3000, 1, 8, 0x4000 | P | RW | US);
	set_entry(0x3000, 2, 8, 0x600000 | P | US | PS);
	set_entry(0x3000, 511, 8, 0x4000 | P | RW | US);
	set_entry(0x4000, 1, 8, 0xabcd000 | P | RW | US | XD);
	set_entry(0x4000, 511, 8, 0xeeee000 | P | RW | US);
}

static void long4_pages(void **state)
{
	struct guest_translation t;

	(void)state;
	long_tables();
	expect_gpa(&long4, 0x201123, 0xabcd123, 0x1000);
	expect_gpa(&long4, 0x412345, 0x612345, 0x200000);
	expect_gpa(&long4, 0x40001234, 0x80001234ull, 0x40000000);
	assert_int_equal(walk(&long4, 0x201000, GUEST_ACCESS_READ, &t), GUEST_WALK_OK);
	assert_true(t.writable && t.user && t.no_execute);
	assert_int_equal(walk(&long4, 0x400000, GUEST_ACCESS_READ, &t), GUEST_WALK_OK);
	assert_true(!t.writable && t.user && !t.no_execute);
}

static void long4_kernel_half(void **state)
{
	struct guest_translation t;

	(void)state;
	long_tables();
	expect_gpa(&long4, 0xffff800000201123ull, 0xabcd123, 0x1000);
	expect_gpa(&long4, 0xffff800040000000ull, 0x80000000ull, 0x40000000);
	assert_int_equal(walk(&long4, 0xffff800000201000ull, GUEST_ACCESS_READ, &t), GUEST_WALK_OK);
	assert_false(t.user); /* PML4 entry 256 is supervisor only */
	expect_fault(&long4, 0xffff800000201000ull, GUEST_ACCESS_READ | GUEST_ACCESS_USER,
		     PF_PRESENT | PF_USER);
	/* The last byte of the address space: every index 511. */
	expect_gpa(&long4, 0xffffffffffffffffull, 0xeeeefffull, 0x1000);
}

static void long4_canonical_boundaries(void **state)
{
	struct guest_translation t;

	(void)state;
	long_tables();
	assert_int_equal(walk(&long4, 0x00007fffffffffffull, GUEST_ACCESS_READ, &t), GUEST_WALK_PAGE_FAULT);
	assert_int_equal(walk(&long4, 0x0000800000000000ull, GUEST_ACCESS_READ, &t), GUEST_WALK_NOT_CANONICAL);
	assert_int_equal(walk(&long4, 0xffff7fffffffffffull, GUEST_ACCESS_READ, &t), GUEST_WALK_NOT_CANONICAL);
	assert_int_equal(walk(&long4, 0xffff800000000000ull, GUEST_ACCESS_READ, &t), GUEST_WALK_PAGE_FAULT);
	assert_int_equal(walk(&long4, 0x0100000000201000ull, GUEST_ACCESS_READ, &t), GUEST_WALK_NOT_CANONICAL);
}

static void long4_reserved_bits(void **state)
{
	(void)state;
	long_tables();
	set_entry(0x1000, 1, 8, 0x2000 | P | RW | PS); /* no pages at the PML4 level */
	expect_fault(&long4, 0x8000000000ull, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
	set_entry(0x2000, 2, 8, 0x80000000ull | (1ull << 20) | P | PS); /* below a 1 GiB page's address */
	expect_fault(&long4, 0x80000000ull, GUEST_ACCESS_WRITE, PF_PRESENT | PF_RESERVED | PF_WRITE);
	set_entry(0x2000, 3, 8, 0x80000000ull | (1ull << 12) | P | PS); /* PAT: allowed */
	expect_gpa(&long4, 0xc0000000ull, 0x80000000ull, 0x40000000);
}

static void long4_permissions(void **state)
{
	struct guest_mode no_wp = long4;
	struct guest_translation t;

	(void)state;
	no_wp.cr0 &= ~CR0_WP;
	long_tables();
	/* 0x400000: a read-only 2 MiB user page; 0x201000: writable, execute-disabled. */
	expect_fault(&long4, 0x400000, GUEST_ACCESS_WRITE, PF_PRESENT | PF_WRITE);
	expect_fault(&long4, 0x400000, GUEST_ACCESS_WRITE | GUEST_ACCESS_USER, PF_PRESENT | PF_WRITE | PF_USER);
	expect_fault(&no_wp, 0x400000, GUEST_ACCESS_WRITE | GUEST_ACCESS_USER, PF_PRESENT | PF_WRITE | PF_USER);
	expect_fault(&long4, 0x201000, GUEST_ACCESS_FETCH, PF_PRESENT | PF_FETCH);
	expect_fault(&long4, 0x201000, GUEST_ACCESS_FETCH | GUEST_ACCESS_USER, PF_PRESENT | PF_FETCH | PF_USER);
	expect_fault(&long4, 0x1000, GUEST_ACCESS_WRITE | GUEST_ACCESS_USER, PF_WRITE | PF_USER); /* not present */
	assert_int_equal(walk(&no_wp, 0x400000, GUEST_ACCESS_WRITE, &t), GUEST_WALK_OK);
	assert_int_equal(walk(&long4, 0x400000, GUEST_ACCESS_FETCH | GUEST_ACCESS_USER, &t), GUEST_WALK_OK);
	assert_int_equal(walk(&long4, 0x201000, GUEST_ACCESS_WRITE | GUEST_ACCESS_USER, &t), GUEST_WALK_OK);
}

static void long5_pages_and_canonical(void **state)
{
	struct guest_translation t;

	(void)state;
	/* PML5 at CR3 (0x1000); its entries point at a PML4 at 0x5000. */
	set_entry(0x1000, 0, 8, 0x5000 | P | RW);
	set_entry(0x1000, 256, 8, 0x5000 | P | RW);
	set_entry(0x5000, 0, 8, 0x2000 | P | RW);
	set_entry(0x5000, 256, 8, 0x2000 | P | RW);
	set_entry(0x2000, 0, 8, 0x3000 | P | RW);
	set_entry(0x3000, 0, 8, 0x800000 | P | RW | PS);
	expect_gpa(&long5, 0x12345, 0x812345, 0x200000);
	/* Bit 47 is an index bit with 5 levels: PML4 entry 256 under PML5 entry 0. */
	expect_gpa(&long5, 0x0000800000012345ull, 0x812345, 0x200000);
	expect_gpa(&long5, 0xff00800000012345ull, 0x812345, 0x200000);
	assert_int_equal(walk(&long5, 0x00ffffffffffffffull, GUEST_ACCESS_READ, &t), GUEST_WALK_PAGE_FAULT);
	assert_int_equal(walk(&long5, 0x0100000000000000ull, GUEST_ACCESS_READ, &t), GUEST_WALK_NOT_CANONICAL);
	assert_int_equal(walk(&long5, 0xfeffffffffffffffull, GUEST_ACCESS_READ, &t), GUEST_WALK_NOT_CANONICAL);
	set_entry(0x1000, 1, 8, 0x5000 | P | PS);
	expect_fault(&long5, 0x0001000000000000ull, GUEST_ACCESS_READ, PF_PRESENT | PF_RESERVED);
}

/* ---- tables outside RAM ----------------------------------------------- */

static void tables_outside_ram(void **state)
{
	struct guest_mode far_cr3 = long4;
	struct guest_translation t;

	(void)state;
	far_cr3.cr3 = 0x100000000ull;
	assert_int_equal(walk(&far_cr3, 0x1000, GUEST_ACCESS_READ, &t), GUEST_WALK_OUTSIDE_RAM);
	long_tables();
	set_entry(0x3000, 5, 8, 0xfffff000ull | P | RW); /* a page table beyond RAM */
	assert_int_equal(walk(&long4, 0xa00000, GUEST_ACCESS_READ, &t), GUEST_WALK_OUTSIDE_RAM);
	set_entry(0x1000, 3, 4, (RAM_SIZE - 0x1000) | P); /* the last page of RAM: still read */
	assert_int_equal(walk(&paging32, 0x00c00000, GUEST_ACCESS_READ, &t), GUEST_WALK_PAGE_FAULT);
	set_entry(0x1000, 4, 4, RAM_SIZE | P);
	assert_int_equal(walk(&paging32, 0x01000000, GUEST_ACCESS_READ, &t), GUEST_WALK_OUTSIDE_RAM);
}

/* ---- CS:RIP ----------------------------------------------------------- */

static void expect_code(const struct guest_mode *g, uint64_t rip, enum cpu_mode mode, uint64_t linear)
{
	uint64_t got;

	assert_int_equal(guest_code_address(g, rip, &got), mode);
	assert_int_equal(got, linear);
}

static void code_address_and_mode(void **state)
{
	struct guest_mode real = { .cs_base = 0xf000 * 16 };
	struct guest_mode v86 = { .cr0 = CR0_PE | CR0_PG, .rflags = RFLAGS_VM, .cs_base = 0x1234 * 16,
				  .cs_default32 = 1 };
	struct guest_mode prot16 = { .cr0 = CR0_PE, .cs_base = 0x20000 };
	struct guest_mode prot32 = { .cr0 = CR0_PE | CR0_PG, .cs_base = 0x100000, .cs_default32 = 1 };
	struct guest_mode compat = { .cr0 = CR0_PE | CR0_PG, .efer = EFER_LMA, .cs_base = 0x1000,
				     .cs_default32 = 1 };
	struct guest_mode compat16 = { .cr0 = CR0_PE | CR0_PG, .efer = EFER_LMA, .cs_base = 0x2000 };
	struct guest_mode long64 = { .cr0 = CR0_PE | CR0_PG, .efer = EFER_LMA, .cs_base = 0x5000, .cs_long = 1,
				     .cs_default32 = 0 };

	(void)state;
	expect_code(&real, 0xfff0, MODE_16, 0xffff0);
	expect_code(&real, 0xffffffff0000fff0ull, MODE_16, 0xffff0); /* only EIP counts */
	expect_code(&v86, 0x10, MODE_16, 0x12350);
	expect_code(&prot16, 0x100, MODE_16, 0x20100);
	expect_code(&prot32, 0x1000, MODE_32, 0x101000);
	expect_code(&prot32, 0xfff00010, MODE_32, 0x10); /* (base + EIP) mod 2^32 */
	expect_code(&compat, 0x2000, MODE_32, 0x3000);
	expect_code(&compat16, 0x10000, MODE_16, 0x12000);
	expect_code(&long64, 0xffff800000001000ull, MODE_64, 0xffff800000001000ull); /* base ignored */
}

static void rip_advance_wraps_outside_64_bit_mode(void **state)
{
	(void)state;
	assert_int_equal(guest_rip_advance(MODE_64, 0xfffffffe, 3), 0x100000001ull);
	assert_int_equal(guest_rip_advance(MODE_64, 0xffff800000001000ull, 2), 0xffff800000001002ull);
	assert_int_equal(guest_rip_advance(MODE_32, 0xfffffffe, 3), 1);
	assert_int_equal(guest_rip_advance(MODE_16, 0xffff, 1), 0x10000); /* EIP, not IP */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(paging_mode_from_registers),
		cmocka_unit_test_setup(without_paging_linear_is_physical, setup),
		cmocka_unit_test_setup(paging32_4k, setup),
		cmocka_unit_test_setup(paging32_4m_and_pse36, setup),
		cmocka_unit_test_setup(paging32_faults, setup),
		cmocka_unit_test_setup(pae_4k_and_2m, setup),
		cmocka_unit_test_setup(pae_reserved_bits, setup),
		cmocka_unit_test_setup(pae_execute_disable_needs_nxe, setup),
		cmocka_unit_test_setup(long4_pages, setup),
		cmocka_unit_test_setup(long4_kernel_half, setup),
		cmocka_unit_test_setup(long4_canonical_boundaries, setup),
		cmocka_unit_test_setup(long4_reserved_bits, setup),
		cmocka_unit_test_setup(long4_permissions, setup),
		cmocka_unit_test_setup(long5_pages_and_canonical, setup),
		cmocka_unit_test_setup(tables_outside_ram, setup),
		cmocka_unit_test(code_address_and_mode),
		cmocka_unit_test(rip_advance_wraps_outside_64_bit_mode),
	};

	return cmocka_run_group_tests_name("guest_walk", tests, NULL, NULL);
}
