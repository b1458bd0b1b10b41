/* Latency histograms: bucket edges; percentiles of empty, one-bucket and spread histograms; the open last bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/lat_hist.h"

static void latencies_fall_in_buckets_by_their_upper_edges(void **state)
{
	(void)state;
	assert_int_equal(lat_bucket(0), 0);
	assert_int_equal(lat_bucket(1), 0);
	assert_int_equal(lat_bucket(2), 1);
	assert_int_equal(lat_bucket(3), 2);
	assert_int_equal(lat_bucket(512), 9);
	assert_int_equal(lat_bucket(513), 10);
	assert_int_equal(lat_bucket(1ull << (LAT_BUCKETS - 2)), LAT_BUCKETS - 2);
	assert_int_equal(lat_bucket((1ull << (LAT_BUCKETS - 2)) + 1), LAT_BUCKETS - 1);
	assert_int_equal(lat_bucket(~0ull), LAT_BUCKETS - 1);
}

static void an_empty_histogram_has_no_percentiles(void **state)
{
	struct lat_hist h = { { 0 } };

	(void)state;
	assert_int_equal(lat_percentile_us(&h, 50), 0);
	assert_int_equal(lat_percentile_us(&h, 100), 0);
}

static void one_bucket_gives_every_percentile(void **state)
{
	struct lat_hist h = { { 0 } };

	(void)state;
	lat_hist_add(&h, 300);
	assert_int_equal(lat_percentile_us(&h, 1), 512);
	assert_int_equal(lat_percentile_us(&h, 50), 512);
	assert_int_equal(lat_percentile_us(&h, 100), 512);
}

static void a_percentile_is_the_first_bucket_holding_that_share(void **state)
{
	struct lat_hist h = { { 0 } };
	unsigned i;

	(void)state;
	for (i = 0; i < 90; i++)
		lat_hist_add(&h, 1); /* bucket 0: <= 1 us */
	for (i = 0; i < 9; i++)
		lat_hist_add(&h, 100); /* <= 128 us */
	lat_hist_add(&h, 5000); /* <= 8192 us */
	assert_int_equal(lat_percentile_us(&h, 50), 1);
	assert_int_equal(lat_percentile_us(&h, 90), 1);  /* exactly 90 of 100 at or below the edge */
	assert_int_equal(lat_percentile_us(&h, 91), 128); /* one more than the first bucket has */
	assert_int_equal(lat_percentile_us(&h, 99), 128);
	assert_int_equal(lat_percentile_us(&h, 100), 8192);
}

static void the_last_bucket_has_no_upper_bound(void **state)
{
	struct lat_hist h = { { 0 } };

	(void)state;
	lat_hist_add(&h, 10);
	lat_hist_add(&h, 60ull * 1000 * 1000); /* a minute */
	assert_int_equal(lat_percentile_us(&h, 50), 16);
	assert_true(lat_percentile_us(&h, 99) == LAT_OPEN);
}

static void huge_counts_do_not_overflow(void **state)
{
	struct lat_hist h = { { 0 } };

	(void)state;
	h.count[3] = ~0ull / 2;
	h.count[7] = ~0ull / 2;
	assert_int_equal(lat_percentile_us(&h, 50), 8);
	assert_int_equal(lat_percentile_us(&h, 51), 128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(latencies_fall_in_buckets_by_their_upper_edges),
		cmocka_unit_test(an_empty_histogram_has_no_percentiles),
		cmocka_unit_test(one_bucket_gives_every_percentile),
		cmocka_unit_test(a_percentile_is_the_first_bucket_holding_that_share),
		cmocka_unit_test(the_last_bucket_has_no_upper_bound),
		cmocka_unit_test(huge_counts_do_not_overflow),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
