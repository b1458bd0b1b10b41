/* MOV to CR0, CR4 and CR8 as the CPU checks them (Intel SDM Vol. 2B, MOV CR; Vol. 3A, 2.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "control_regs.h"
#include "policy.h"

#define CR4_ALL 0x3727ffull /* a Skylake-class CPU's CR4 bits, VMXE and SMXE included */

/* A guest in 64-bit code as the boot protocol starts it. */
static struct cr_state long_mode(void)
{
	struct cr_state s = { CR0_BOOT, 0x9000, CR4_PAE, EFER_LME | EFER_LMA, 1, CR4_ALL & ~(CR4_VMXE | CR4_SMXE) };
	return s;
}

static void cr0_reserved_and_inconsistent_values_fault(void **state)
{
	struct cr_state s = long_mode();

	(void)state;
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT), 0);
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT | CR0_CD), 0);
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT | CR0_CD | CR0_NW), 0);
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT | (1ull << 32)), -1);
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT | (1ull << 63)), -1);
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT | CR0_NW), -1); /* NW without CD */
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT & ~CR0_PE), -1); /* PG without PE */
}

static void cr0_paging_changes_follow_the_mode(void **state)
{
	struct cr_state s = long_mode();

	(void)state;
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT & ~CR0_PG), -1); /* from 64-bit code */
	s.long_code = 0;                                          /* compatibility mode: may leave */
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT & ~CR0_PG), 0);
	s.cr4 |= CR4_PCIDE;
	assert_int_equal(cr0_write_ok(&s, CR0_BOOT & ~CR0_PG), -1);
	/* Entering long mode: LME set, paging off, PAE needed. */
	s = long_mode();
	s.cr0 = CR0_PE | CR0_ET;
	s.efer = EFER_LME;
	s.long_code = 0;
	s.cr4 = 0;
	assert_int_equal(cr0_write_ok(&s, CR0_PE | CR0_ET | CR0_PG), -1);
	s.cr4 = CR4_PAE;
	assert_int_equal(cr0_write_ok(&s, CR0_PE | CR0_ET | CR0_PG), 0);
	s.efer = 0; /* legacy 32-bit paging needs no PAE */
	s.cr4 = 0;
	assert_int_equal(cr0_write_ok(&s, CR0_PE | CR0_ET | CR0_PG), 0);
}

static void cr4_reserved_and_hidden_bits_fault(void **state)
{
	struct cr_state s = long_mode();

	(void)state;
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_PGE | CR4_OSXSAVE), 0);
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_VMXE), -1);
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_SMXE), -1);
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | (1ull << 31)), -1);
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | (1ull << 32)), -1);
}

static void cr4_paging_bits_in_long_mode(void **state)
{
	struct cr_state s = long_mode();

	(void)state;
	assert_int_equal(cr4_write_ok(&s, 0), -1);                   /* PAE off in IA-32e mode */
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_LA57), -1); /* depth change in IA-32e mode */
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_PCIDE), 0);
	s.cr3 |= 5; /* PCIDE needs PCID 0 */
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_PCIDE), -1);
	s = long_mode();
	s.efer = 0; /* PCIDE only in IA-32e mode */
	assert_int_equal(cr4_write_ok(&s, CR4_PAE | CR4_PCIDE), -1);
	assert_int_equal(cr4_write_ok(&s, CR4_PSE), 0); /* legacy mode may drop PAE */
}

static void cr8_holds_four_bits(void **state)
{
	(void)state;
	assert_int_equal(cr8_write_ok(0), 0);
	assert_int_equal(cr8_write_ok(15), 0);
	assert_int_equal(cr8_write_ok(16), -1);
	assert_int_equal(cr8_write_ok(1ull << 63), -1);
}

static void paging_changes_are_told_apart(void **state)
{
	(void)state;
	assert_false(cr_changes_paging(CR0_BOOT, CR0_BOOT | CR0_CD, CR4_PAE, CR4_PAE | CR4_OSXSAVE));
	assert_true(cr_changes_paging(CR0_BOOT, CR0_BOOT & ~CR0_WP, CR4_PAE, CR4_PAE));
	assert_true(cr_changes_paging(CR0_BOOT, CR0_BOOT, CR4_PAE, CR4_PAE | CR4_PGE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cr0_reserved_and_inconsistent_values_fault),
		cmocka_unit_test(cr0_paging_changes_follow_the_mode),
		cmocka_unit_test(cr4_reserved_and_hidden_bits_fault),
		cmocka_unit_test(cr4_paging_bits_in_long_mode),
		cmocka_unit_test(cr8_holds_four_bits),
		cmocka_unit_test(paging_changes_are_told_apart),
	};

	return cmocka_run_group_tests_name("control_regs", tests, NULL, NULL);
}
