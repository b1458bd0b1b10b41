/*
 * The disk bench's patterns (hv/diskbench_plan.c): sequential requests
 * back to back from sector 0, random ones aligned, inside the disk and
 * the same as the guest's blkbench draws, every pattern fitting the
 * bench's buffer and queue, and the figures' arithmetic at its edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "diskbench_plan.h"

#define DISK_SECTORS 65536ull /* 32 MiB */

static const struct db_pattern *find(const char *name, uint32_t qd)
{
	unsigned i;

	for (i = 0; i < db_npatterns; i++)
		if (!__builtin_strcmp(db_patterns[i].name, name) && db_patterns[i].qd == qd)
			return &db_patterns[i];
	fail_msg("no pattern %s at queue depth %u", name, qd);
	return 0;
}

static void sequential_requests_follow_each_other_from_sector_0(void **state)
{
	const struct db_pattern *p = find("seq_write", 1);
	uint64_t rng = 1;

	(void)state;
	assert_int_equal(db_sector(p, 0, &rng, DISK_SECTORS), 0);
	assert_int_equal(db_sector(p, 1, &rng, DISK_SECTORS), 256);
	assert_int_equal(db_sector(p, p->requests - 1, &rng, DISK_SECTORS) + p->bs / 512, DB_SEQ_BYTES / 512);
	assert_int_equal(rng, 1); /* sequential patterns draw nothing */
}

static void random_requests_are_the_guests_aligned_and_inside(void **state)
{
	/* blkbench's first five sectors on a 32 MiB disk (xorshift64 from 1, worked out apart from either program). */
	static const uint64_t guest[] = { 520, 41480, 12616, 296, 37672 };
	const struct db_pattern *p = find("rand_read", 32);
	uint64_t rng = 1, i, s;

	(void)state;
	for (i = 0; i < 10000; i++) {
		s = db_sector(p, i, &rng, DISK_SECTORS);
		assert_int_equal(s % 8, 0);
		assert_true(s + 8 <= DISK_SECTORS);
		if (i < sizeof(guest) / sizeof(guest[0]))
			assert_int_equal(s, guest[i]);
	}
}

static void a_disk_of_one_block_gets_block_0(void **state)
{
	const struct db_pattern *p = find("rand_read", 1);
	uint64_t rng = 1;

	(void)state;
	assert_int_equal(db_sector(p, 0, &rng, 15), 0); /* 15 sectors hold one 4 KiB block */
}

static void every_pattern_fits_the_buffer_and_queue(void **state)
{
	unsigned i;

	(void)state;
	assert_int_equal(db_npatterns, 4);
	for (i = 0; i < db_npatterns; i++) {
		const struct db_pattern *p = &db_patterns[i];
		assert_true(p->qd >= 1 && p->qd <= DB_QD_MAX);
		assert_true(p->bs % 4096 == 0 && p->bs <= DB_BS_MAX);
		assert_true((uint64_t)p->qd * p->bs <= DB_QD_MAX * 4096 || p->qd == 1);
		assert_true(p->bs / 4096 <= BLK_SEG_MAX);
		assert_true(p->random || (uint64_t)p->requests * p->bs <= DB_SEQ_BYTES);
	}
}

static void figures_are_the_guests_arithmetic(void **state)
{
	(void)state;
	assert_int_equal(db_kib_per_s(128, 128 << 10, 1000000000ull), 16384);
	assert_int_equal(db_iops(128, 1000000000ull), 128);
	/* blkbench: bytes * 10^9 / 1024 / ns, each division rounding down */
	assert_int_equal(db_kib_per_s(1024, 4096, 133704368), 4194304ull * 1000000000ull / 1024 / 133704368);
	assert_int_equal(db_iops(1024, 133704368), 1024ull * 1000000000ull / 133704368);
}

static void no_time_counts_as_a_nanosecond(void **state)
{
	(void)state;
	assert_int_equal(db_iops(5, 0), 5000000000ull);
	assert_int_equal(db_kib_per_s(1, 1024, 0), 1000000000ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sequential_requests_follow_each_other_from_sector_0),
		cmocka_unit_test(random_requests_are_the_guests_aligned_and_inside),
		cmocka_unit_test(a_disk_of_one_block_gets_block_0),
		cmocka_unit_test(every_pattern_fits_the_buffer_and_queue),
		cmocka_unit_test(figures_are_the_guests_arithmetic),
		cmocka_unit_test(no_time_counts_as_a_nanosecond),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
