/* Guest-caused log lines: a burst, then one per interval, with the lines held back counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

#define HZ 2000000000ull /* a 2 GHz TSC */
#define BURST 10

static struct ratelimit limit;

/* Lines offered at now, one after another: how many go out. */
static unsigned offer(uint64_t now, unsigned lines)
{
	uint64_t suppressed;
	unsigned out = 0;

	while (lines--)
		out += (unsigned)ratelimit_pass(&limit, now, &suppressed);
	return out;
}

static void a_burst_then_nothing_until_the_interval(void **state)
{
	(void)state;
	ratelimit_init(&limit, BURST, HZ, 1000);
	assert_int_equal(offer(1000, 50), BURST);
	assert_int_equal(offer(1000 + HZ - 1, 5), 0);
	assert_int_equal(offer(1000 + HZ, 5), 1);
	assert_int_equal(offer(1000 + 2 * HZ, 5), 1);
}

static void the_next_line_out_says_how_many_were_held_back(void **state)
{
	uint64_t suppressed = 99;

	(void)state;
	ratelimit_init(&limit, BURST, HZ, 0);
	assert_true(ratelimit_pass(&limit, 0, &suppressed));
	assert_int_equal(suppressed, 0);
	assert_int_equal(offer(0, BURST - 1 + 37), BURST - 1); /* 37 held back */
	assert_true(ratelimit_pass(&limit, HZ, &suppressed));
	assert_int_equal(suppressed, 37);
	assert_false(ratelimit_pass(&limit, HZ, &suppressed));
	assert_true(ratelimit_pass(&limit, 2 * HZ, &suppressed));
	assert_int_equal(suppressed, 1); /* the count started again */
}

static void fractions_of_an_interval_add_up(void **state)
{
	(void)state;
	ratelimit_init(&limit, BURST, HZ, 0);
	offer(0, BURST);
	assert_int_equal(offer(HZ * 6 / 10, 1), 0);
	assert_int_equal(offer(HZ * 12 / 10, 1), 1);
	assert_int_equal(offer(HZ * 19 / 10, 1), 0);
	assert_int_equal(offer(HZ * 2, 1), 1); /* the 0.2 left over at 1.2 counted */
}

static void a_quiet_guest_earns_one_burst_at_most(void **state)
{
	(void)state;
	ratelimit_init(&limit, BURST, HZ, 0);
	offer(0, BURST);
	assert_int_equal(offer(1000 * HZ, 100), BURST);
	ratelimit_init(&limit, BURST, HZ, 0);
	offer(0, BURST);
	assert_int_equal(offer(UINT64_MAX, 100), BURST); /* no overflow on a huge gap */
}

/* A guest looping on a refused instruction for 100 s: the burst, then one a second. */
static void a_flood_gets_one_line_a_second(void **state)
{
	uint64_t t;
	unsigned out = 0;

	(void)state;
	ratelimit_init(&limit, BURST, HZ, 0);
	for (t = 0; t <= 100 * HZ; t += HZ / 1000)
		out += offer(t, 3);
	assert_int_equal(out, BURST + 100);
	assert_int_equal(ratelimit_take_suppressed(&limit), 2); /* after the one out at 100 s */
}

static void a_clock_behind_earns_nothing(void **state)
{
	(void)state;
	ratelimit_init(&limit, BURST, HZ, 5 * HZ);
	offer(5 * HZ, BURST);
	assert_int_equal(offer(4 * HZ, 3), 0); /* another CPU's TSC, a little behind */
	assert_int_equal(offer(6 * HZ, 3), 1);
}

static void taking_the_count_starts_it_again(void **state)
{
	uint64_t suppressed;

	(void)state;
	ratelimit_init(&limit, 1, HZ, 0);
	offer(0, 5);
	assert_int_equal(ratelimit_take_suppressed(&limit), 4);
	assert_int_equal(ratelimit_take_suppressed(&limit), 0);
	assert_true(ratelimit_pass(&limit, HZ, &suppressed));
	assert_int_equal(suppressed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_burst_then_nothing_until_the_interval),
		cmocka_unit_test(the_next_line_out_says_how_many_were_held_back),
		cmocka_unit_test(fractions_of_an_interval_add_up),
		cmocka_unit_test(a_quiet_guest_earns_one_burst_at_most),
		cmocka_unit_test(a_flood_gets_one_line_a_second),
		cmocka_unit_test(a_clock_behind_earns_nothing),
		cmocka_unit_test(taking_the_count_starts_it_again),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
