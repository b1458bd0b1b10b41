/* The paravirtual clock: its scaling as the guest computes it, and the structures the MSRs name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "partition.h"
#include "pvclock.h"
#include "vdev/platform.h"
#include "walltime.h"

#define RAM (2ull << 20)
#define WALL_NS 1796286600123456789ull /* 2026-12-03 08:30:00.123456789 UTC */

static uint8_t ram[RAM] __attribute__((aligned(4096)));
static struct cfg_partition cfg = { .name = "t" };
static struct partition part;
static struct vcpu vcpu;
static uint64_t tsc_hz, wall_asked;
static unsigned warnings;

uint64_t arch_tsc_hz(void)
{
	return tsc_hz;
}

uint64_t walltime_unix_ns(uint64_t tsc)
{
	wall_asked = tsc;
	return WALL_NS;
}

/* RAM as partition.c gives it, without its zeroing on first touch (tests/unit/test_space.c has that). */
void *partition_ram(struct partition *p, uint64_t gpa, uint64_t len)
{
	uint64_t offset;

	return len && platform_ram_offset(p->ram_size, gpa, len, &offset) ? (uint8_t *)ram + offset : 0;
}

void partition_log_guest(struct partition *p, enum log_level level, const char *fmt, ...)
{
	(void)p;
	(void)level;
	(void)fmt;
	warnings++;
}

static int reset(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	part = (struct partition){ .cfg = &cfg, .ram_pa = (uint64_t)(uintptr_t)ram, .ram_size = RAM,
				   .clock = { .tsc_zero = 5000 } };
	vcpu = (struct vcpu){ .part = &part };
	tsc_hz = 2096020000;
	warnings = 0;
	return 0;
}

/* One second of ticks is 10^9 ns within 1 ns, an hour within 2 us, at rates from Bochs' to beyond any CPU's. */
static void scaling_is_precise_at_every_rate(void **state)
{
	static const uint64_t rates[] = { 1000, 99999000, 100000000, 1000000000, 2096020000, 3500000000,
					  4294967296ull, 5000000000ull, 10000000000ull };
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint32_t mul;
		int8_t shift;
		uint64_t ns;

		pvclock_scale(rates[i], &mul, &shift);
		assert_true(mul >= 1u << 31);
		ns = pvclock_ns(rates[i], mul, shift);
		assert_true(ns <= 1000000000ull && ns >= 1000000000ull - 1);
		ns = pvclock_ns(rates[i] * 3600, mul, shift);
		assert_true(ns <= 3600000000000ull && ns >= 3600000000000ull - 2000);
	}
}

static void system_time_structure_is_filled(void **state)
{
	struct pvclock_time_info t;
	uint64_t value = 0x3000 | 1, back = 0;
	uint32_t mul;
	int8_t shift;

	(void)state;
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_SYSTEM_TIME, &value), 0);
	memcpy(&t, ram + 0x3000, sizeof(t));
	pvclock_scale(tsc_hz, &mul, &shift);
	assert_int_equal(t.version, 2); /* odd while written, then even */
	assert_int_equal(t.tsc_timestamp, 0);
	assert_int_equal(t.system_time, 0);
	assert_int_equal(t.tsc_to_system_mul, mul);
	assert_int_equal(t.tsc_shift, shift);
	assert_int_equal(t.flags, PVCLOCK_TSC_STABLE);
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 0, MSR_PVCLOCK_SYSTEM_TIME, &back), 0);
	assert_int_equal(back, 0x3001);
	value = 0x3000 | 1; /* written again: a new version */
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_SYSTEM_TIME, &value), 0);
	memcpy(&t, ram + 0x3000, sizeof(t));
	assert_int_equal(t.version, 4);
	assert_int_equal(warnings, 0);
}

static void disabled_clock_is_not_written(void **state)
{
	uint64_t value = 0x3000;
	static const uint8_t zero[32];

	(void)state;
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_SYSTEM_TIME, &value), 0);
	assert_memory_equal(ram + 0x3000, zero, sizeof(zero));
}

static void wall_clock_is_the_time_at_the_guests_tsc_zero(void **state)
{
	uint64_t value = 0x2000;
	uint32_t w[3];

	(void)state;
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_WALL_CLOCK, &value), 0);
	memcpy(w, ram + 0x2000, sizeof(w));
	assert_int_equal(wall_asked, 5000); /* the partition's time when the guest's TSC was 0 */
	assert_int_equal(w[0], 2);
	/* After a pause its time is behind the host's, and so is its wall clock: 0 stays where it was. */
	part.clock.paused_ticks = 70000;
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_WALL_CLOCK, &value), 0);
	assert_int_equal(wall_asked, 5000);
	assert_int_equal(w[1], WALL_NS / 1000000000ull);
	assert_int_equal(w[2], WALL_NS % 1000000000ull);
}

/* Outside its RAM, across a page, misaligned, past 2^64: taken, nothing written, logged. */
static void hostile_addresses_write_nothing(void **state)
{
	static const uint64_t bad[] = { RAM | 1, (RAM - 8) | 1, 0x1ff8 | 1, 0x1002 | 1, ~0ull, 0xfee00000 | 1 };
	uint8_t before[RAM / 64];
	unsigned i;

	(void)state;
	memcpy(before, ram, sizeof(before));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t value = bad[i];

		assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_SYSTEM_TIME, &value), 0);
		value = bad[i] & ~1ull;
		assert_int_equal(vcpu_pvclock_msr(&vcpu, 1, MSR_PVCLOCK_WALL_CLOCK, &value), 0);
	}
	assert_memory_equal(before, ram, sizeof(before));
	for (i = 0; i < RAM; i++)
		assert_int_equal(ram[i], 0);
	assert_int_equal(warnings, 2 * sizeof(bad) / sizeof(bad[0]));
}

static void other_msrs_are_not_its(void **state)
{
	uint64_t value = 0;

	(void)state;
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 0, 0x4b564d02, &value), 1);
	assert_int_equal(vcpu_pvclock_msr(&vcpu, 0, 0x10, &value), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(scaling_is_precise_at_every_rate, reset),
		cmocka_unit_test_setup(system_time_structure_is_filled, reset),
		cmocka_unit_test_setup(disabled_clock_is_not_written, reset),
		cmocka_unit_test_setup(wall_clock_is_the_time_at_the_guests_tsc_zero, reset),
		cmocka_unit_test_setup(hostile_addresses_write_nothing, reset),
		cmocka_unit_test_setup(other_msrs_are_not_its, reset),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
