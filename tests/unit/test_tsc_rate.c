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
	};

	return cmocka_run_group_tests_name("tsc_rate", tests, NULL, NULL);
}
