/* The choice of the TSC rate between CPUID 0x15's and the measured one, and its log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tsc_rate.h"

#define MHZ 1000000ull

static void says(const struct tsc_rate *r, const char *want)
{
	char line[256];

	tsc_rate_describe(line, sizeof(line), r, "the PIT");
	if (strcmp(line, want))
		fail_msg("got  '%s'\nwant '%s'", line, want);
}

/* Bochs' tigerlake: leaf 0x15 says 38.4 MHz * 126 / 2 while its TSC runs at 100 MHz. */
static void a_wrong_announced_rate_is_not_used(void **state)
{
	struct tsc_rate r = tsc_rate_choose(2419200000ull, 100000123ull);

	(void)state;
	assert_int_equal(r.verdict, TSC_DISAGREE);
	assert_int_equal(r.hz, 100000123ull);
	says(&r, "tsc: 100.000 MHz measured against the PIT; CPUID 0x15 says 2419.200 MHz: not used");
}

static void a_confirmed_announced_rate_is_used(void **state)
{
	struct tsc_rate r = tsc_rate_choose(2419200000ull, 2418000000ull);

	(void)state;
	assert_int_equal(r.verdict, TSC_AGREE);
	assert_int_equal(r.hz, 2419200000ull);
	says(&r, "tsc: 2419.200 MHz from CPUID 0x15; 2418.000 MHz measured against the PIT: "
		 "they agree within 0.1 %");
}

static void agreement_ends_at_one_per_mille(void **state)
{
	(void)state;
	assert_int_equal(tsc_rate_choose(1000 * MHZ, 1001 * MHZ).verdict, TSC_AGREE);
	assert_int_equal(tsc_rate_choose(1000 * MHZ, 999 * MHZ).verdict, TSC_AGREE);
	assert_int_equal(tsc_rate_choose(1000 * MHZ, 1001 * MHZ + 1).verdict, TSC_DISAGREE);
	assert_int_equal(tsc_rate_choose(1000 * MHZ, 999 * MHZ - 1).verdict, TSC_DISAGREE);
	/* A rounded crystal (24 MHz stated for 24.576 MHz) is off by 2.4 %. */
	assert_int_equal(tsc_rate_choose(24000000ull * 100, 24576000ull * 100).hz, 24576000ull * 100);
}

static void without_an_announced_rate_the_measured_one(void **state)
{
	struct tsc_rate r = tsc_rate_choose(0, 2994123456ull);

	(void)state;
	assert_int_equal(r.verdict, TSC_NOT_ANNOUNCED);
	assert_int_equal(r.hz, 2994123456ull);
	says(&r, "tsc: 2994.123 MHz measured against the PIT; CPUID 0x15 states no rate");
}

static void a_stuck_reference_leaves_the_announced_rate_unchecked(void **state)
{
	struct tsc_rate r = tsc_rate_choose(1800 * MHZ, 0);

	(void)state;
	assert_int_equal(r.verdict, TSC_NOT_MEASURED);
	assert_int_equal(r.hz, 1800 * MHZ);
	says(&r, "tsc: 1800.000 MHz from CPUID 0x15, unchecked: the PIT does not count");
}

static void with_neither_a_stated_guess(void **state)
{
	struct tsc_rate r = tsc_rate_choose(0, 0);

	(void)state;
	assert_int_equal(r.verdict, TSC_UNKNOWN);
	assert_int_equal(r.hz, TSC_ASSUMED_HZ);
	says(&r, "tsc: no rate: the PIT does not count and CPUID 0x15 states none; assuming 1000.000 MHz, "
		 "so time slices and cpu_ms are only as right as that guess");
}

static void the_median_ignores_one_disturbed_window(void **state)
{
	uint64_t windows[5] = { 100000010, 100000002, 165536000, 99999998, 100000001 };
	uint64_t one[1] = { 7 };

	(void)state;
	assert_int_equal(tsc_rate_median(windows, 5), 100000002);
	assert_int_equal(tsc_rate_median(one, 1), 7);
}

/* QEMU under -icount: a 1000 MHz TSC against its 100 MHz HPET (10 ns, 10,000,000 fs). */
static void a_rate_from_two_reads_of_a_clock(void **state)
{
	struct clock_point a = { 5000, 10, 100 }, b = { 5000 + 200000, 10, 100 + 20000 };

	(void)state;
	assert_int_equal(tsc_rate_between(&a, &b, 10000000), 1000 * MHZ);
	/* The PIT's tick rounded to the femtosecond costs under a part in a billion of its 1193182 Hz. */
	b = (struct clock_point){ 24000000, 0, 11932 };
	a = (struct clock_point){ 0, 0, 0 };
	assert_in_range(tsc_rate_between(&a, &b, FS_PER_S / 1193182), 24000000ull * 1193182 / 11932 - 2,
			24000000ull * 1193182 / 11932 + 2);
	/* A clock or a TSC that did not move gives no rate. */
	assert_int_equal(tsc_rate_between(&a, &a, 10000000), 0);
	b = (struct clock_point){ 0, 0, 10 };
	assert_int_equal(tsc_rate_between(&a, &b, 10000000), 0);
	assert_int_equal(tsc_rate_between(&a, &b, 0), 0);
	/* A count whose time would overflow 64 bits of femtoseconds gives none either. */
	b = (struct clock_point){ 1000, 0, ~0ull / 1000 + 1 };
	assert_int_equal(tsc_rate_between(&a, &b, 1000), 0);
}

static void the_error_bound_is_a_tick_and_two_half_brackets(void **state)
{
	/* 0.2 ms: a 10 ns tick is 50 ppm of it, brackets of 10 and 30 ns another 100. */
	struct clock_point a = { 0, 10, 0 }, b = { 200000, 30, 20000 };

	(void)state;
	assert_int_equal(tsc_rate_error_ppm(&a, &b, 10000000), 150);
	/* Rounded up: 1 part in 3 of a million is at most 1 ppm, not 0. */
	a.width = b.width = 0;
	b.count = 3000000;
	assert_int_equal(tsc_rate_error_ppm(&a, &b, 1), 1);
	/* Twice as long a window, half the bound. */
	a = (struct clock_point){ 0, 10, 0 };
	b = (struct clock_point){ 400000, 30, 40000 };
	assert_int_equal(tsc_rate_error_ppm(&a, &b, 10000000), 75);
	/* A clock of unknown period (the APIC timer's, lapic.c): its tick as the unit, one in 2000 is 500 ppm. */
	a = (struct clock_point){ 0, 10, 0 };
	b = (struct clock_point){ 20000, 10, 2000 };
	assert_int_equal(tsc_rate_error_ppm(&a, &b, 1), 1000);
	/* Nothing is bounded when a clock did not move. */
	assert_int_equal(tsc_rate_error_ppm(&a, &a, 10000000), ~0ull);
	b.tsc = 0;
	assert_int_equal(tsc_rate_error_ppm(&a, &b, 10000000), ~0ull);
}

static void the_hpet_is_named_as_the_reference(void **state)
{
	struct tsc_rate r = tsc_rate_choose(0, 1000004000ull);
	char line[256];

	(void)state;
	tsc_rate_describe(line, sizeof(line), &r, "the HPET");
	assert_string_equal(line, "tsc: 1000.004 MHz measured against the HPET; CPUID 0x15 states no rate");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_wrong_announced_rate_is_not_used),
		cmocka_unit_test(a_confirmed_announced_rate_is_used),
		cmocka_unit_test(agreement_ends_at_one_per_mille),
		cmocka_unit_test(without_an_announced_rate_the_measured_one),
		cmocka_unit_test(a_stuck_reference_leaves_the_announced_rate_unchecked),
		cmocka_unit_test(with_neither_a_stated_guess),
		cmocka_unit_test(the_median_ignores_one_disturbed_window),
		cmocka_unit_test(a_rate_from_two_reads_of_a_clock),
		cmocka_unit_test(the_error_bound_is_a_tick_and_two_half_brackets),
		cmocka_unit_test(the_hpet_is_named_as_the_reference),
	};

	return cmocka_run_group_tests_name("tsc_rate", tests, NULL, NULL);
}
