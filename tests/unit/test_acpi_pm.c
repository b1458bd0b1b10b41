/*
 * The ACPI PM block: the PM timer's rate and wrap, PM1 status write-1-to-
 * clear, enables, SCI_EN, TMR_STS, the SCI line, SLP_EN, and the
 * partition glue: power-off, refused sleep types, the power button.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "partition.h"
#include "vdev/acpi_pm.h"
#include "vdev/clock.h"
#include "vdev/platform.h"

#define HZ 1000000000ull /* a 1 GHz TSC */

static struct acpi_pm pm;
static struct partition part;
static uint64_t host_tsc;
static char stopped[256], logged[256];
static int sci_level = -1, sci_changes, deadline_changes;

/* ---- what acpi_pm.c calls outside itself */

uint64_t arch_tsc(void)
{
	return host_tsc;
}

void irq_set_isa(struct partition *p, unsigned irq, int level)
{
	assert_ptr_equal(p, &part);
	assert_int_equal(irq, PLATFORM_SCI_IRQ);
	sci_level = level;
	sci_changes++;
}

void partition_stop(struct partition *p, const char *f, ...)
{
	va_list ap;

	assert_ptr_equal(p, &part);
	va_start(ap, f);
	vsnprintf(stopped, sizeof(stopped), f, ap);
	va_end(ap);
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	va_list ap;

	assert_ptr_equal(p, &part);
	(void)level;
	va_start(ap, f);
	vsnprintf(logged, sizeof(logged), f, ap);
	va_end(ap);
}

void vdev_deadline_changed(struct partition *p)
{
	assert_ptr_equal(p, &part);
	deadline_changes++;
}

static int setup(void **state)
{
	(void)state;
	acpi_pm_reset(&pm, HZ);
	memset(&part, 0, sizeof(part));
	acpi_pm_reset(&part.pm, HZ);
	host_tsc = 5000000;
	part_clock_start(&part.clock, host_tsc); /* the partition started now */
	stopped[0] = logged[0] = 0;
	sci_level = -1;
	sci_changes = deadline_changes = 0;
	return 0;
}

static uint64_t in(uint64_t offset, unsigned size, uint64_t tsc)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	acpi_pm_read(&pm, offset, size, tsc, &v);
	return v;
}

/* The tick count reaches n at the first TSC value >= n * HZ / 3579545. */
static uint64_t tsc_of_tick(uint64_t n)
{
	return (n * HZ + ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
}

static void timer_counts_at_3_579545_mhz_and_wraps(void **state)
{
	(void)state;
	assert_int_equal(in(ACPI_PM_TMR, 4, 0), 0);
	assert_int_equal(in(ACPI_PM_TMR, 4, HZ), 3579545);
	assert_int_equal(in(ACPI_PM_TMR, 4, HZ / 1000), 3579);
	assert_int_equal(in(ACPI_PM_TMR, 4, tsc_of_tick((1ull << 32) + 5)), 5);
	/* bytes read one by one give the same value */
	assert_int_equal(in(ACPI_PM_TMR + 1, 1, HZ), (3579545 >> 8) & 0xff);
	assert_int_equal(in(ACPI_PM_TMR + 3, 1, HZ), 0);
	assert_int_equal(in(ACPI_PM_TMR + 2, 2, HZ), 3579545 >> 16);
}

static void timer_is_read_only(void **state)
{
	(void)state;
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM_TMR, 4, 0xffffffff, HZ), -1);
	assert_int_equal(in(ACPI_PM_TMR, 4, HZ), 3579545);
}

static void sci_en_always_reads_one(void **state)
{
	(void)state;
	assert_int_equal(in(ACPI_PM1_CNT, 2, 0), ACPI_PM1_SCI_EN);
	acpi_pm_write(&pm, ACPI_PM1_CNT, 2, 0, 0);
	assert_int_equal(in(ACPI_PM1_CNT, 2, 0) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);
}

static void status_bits_clear_on_writing_one(void **state)
{
	(void)state;
	acpi_pm_press(&pm);
	assert_int_equal(in(ACPI_PM1_EVT, 2, 0), ACPI_PM1_PWRBTN);
	acpi_pm_write(&pm, ACPI_PM1_EVT, 2, 0, 0); /* zeroes change nothing */
	assert_int_equal(in(ACPI_PM1_EVT, 2, 0), ACPI_PM1_PWRBTN);
	acpi_pm_write(&pm, ACPI_PM1_EVT, 2, 0xffff & ~ACPI_PM1_PWRBTN, 0); /* ones where nothing is set set nothing */
	assert_int_equal(in(ACPI_PM1_EVT, 2, 0), ACPI_PM1_PWRBTN);
	acpi_pm_write(&pm, ACPI_PM1_EVT + 1, 1, ACPI_PM1_PWRBTN >> 8, 0); /* its byte alone */
	assert_int_equal(in(ACPI_PM1_EVT, 2, 0), 0);
}

static void enables_keep_defined_bits_only(void **state)
{
	(void)state;
	acpi_pm_write(&pm, ACPI_PM1_EVT + 2, 2, 0xffff, 0);
	assert_int_equal(in(ACPI_PM1_EVT + 2, 2, 0),
			 ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC |
				 ACPI_PM1_PCIEXP_WAKE_DIS);
	acpi_pm_write(&pm, ACPI_PM1_EVT + 2, 1, 0, 0); /* the low byte alone */
	assert_int_equal(in(ACPI_PM1_EVT + 2, 2, 0),
			 ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC | ACPI_PM1_PCIEXP_WAKE_DIS);
	/* a dword at the event block: status, then enable */
	assert_int_equal(in(ACPI_PM1_EVT, 4, 0) >> 16, in(ACPI_PM1_EVT + 2, 2, 0));
}

static void sci_needs_both_status_and_enable(void **state)
{
	(void)state;
	acpi_pm_press(&pm);
	assert_false(acpi_pm_sci(&pm));
	acpi_pm_write(&pm, ACPI_PM1_EVT + 2, 2, ACPI_PM1_PWRBTN, 0);
	assert_true(acpi_pm_sci(&pm));
	acpi_pm_write(&pm, ACPI_PM1_EVT, 2, ACPI_PM1_PWRBTN, 0);
	assert_false(acpi_pm_sci(&pm));
	/* PCIEXP_WAKE_DIS enables no event */
	acpi_pm_write(&pm, ACPI_PM1_EVT + 2, 2, ACPI_PM1_PCIEXP_WAKE_DIS, 0);
	acpi_pm_press(&pm);
	assert_false(acpi_pm_sci(&pm));
}

static void timer_status_when_bit_31_changes(void **state)
{
	uint64_t toggle = tsc_of_tick(1ull << 31), due;

	(void)state;
	assert_int_equal(in(ACPI_PM1_EVT, 2, toggle - 1) & ACPI_PM1_TMR, 0);
	due = acpi_pm_timer_due(&pm, toggle - 1);
	assert_int_equal(due, toggle);
	assert_int_equal(in(ACPI_PM1_EVT, 2, toggle) & ACPI_PM1_TMR, ACPI_PM1_TMR);
	acpi_pm_write(&pm, ACPI_PM1_EVT, 2, ACPI_PM1_TMR, toggle);
	assert_int_equal(in(ACPI_PM1_EVT, 2, toggle + 1000) & ACPI_PM1_TMR, 0);
	/* and again when it wraps to 0 */
	assert_int_equal(acpi_pm_timer_due(&pm, toggle + 1000), tsc_of_tick(1ull << 32));
	assert_int_equal(in(ACPI_PM1_EVT, 2, tsc_of_tick(1ull << 32)) & ACPI_PM1_TMR, ACPI_PM1_TMR);
}

static void slp_en_asks_for_the_sleep_type_written(void **state)
{
	(void)state;
	/* ACPICA writes SLP_TYP first, then SLP_TYP with SLP_EN */
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 2, 5u << ACPI_PM1_SLP_TYP_SHIFT, 0), -1);
	assert_int_equal(in(ACPI_PM1_CNT, 2, 0), (5u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SCI_EN);
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 2, (5u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN, 0), 5);
	assert_int_equal(in(ACPI_PM1_CNT, 2, 0) & ACPI_PM1_SLP_EN, 0); /* write-only */
	/* the high byte alone carries SLP_TYP and SLP_EN */
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT + 1, 1, (ACPI_PM1_SLP_EN | (7u << ACPI_PM1_SLP_TYP_SHIFT)) >> 8,
				       0),
			 7);
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM1_CNT, 1, 0xff, 0), -1); /* the low byte has no SLP_EN */
}

static void accesses_outside_the_registers(void **state)
{
	(void)state;
	assert_int_equal(in(6, 2, 0), 0xffff); /* nothing at +6 */
	assert_int_equal(in(ACPI_PM_PORTS, 4, 0), 0xffffffff);
	assert_int_equal(in(~0ull, 4, 0), 0xffffffff);
	assert_int_equal(in(ACPI_PM_TMR, 8, HZ), 0xffffffff00000000ull | 3579545);
	assert_int_equal(acpi_pm_write(&pm, ~0ull, 8, ~0ull, 0), -1);
	assert_int_equal(acpi_pm_write(&pm, 6, 2, 0xffff, 0), -1);
	assert_int_equal(in(ACPI_PM1_EVT, 4, 0), 0);
}

/* ---- the partition's glue */

static void s5_powers_the_partition_off(void **state)
{
	(void)state;
	acpi_pm_ops.write(&part, ACPI_PM1_CNT, 2, (PLATFORM_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_string_equal(stopped, "powered off");
	assert_string_equal(logged, "");
}

static void other_sleep_types_are_refused_with_a_line(void **state)
{
	(void)state;
	acpi_pm_ops.write(&part, ACPI_PM1_CNT, 2, (1u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
	assert_string_equal(stopped, "");
	assert_non_null(strstr(logged, "sleep type 1 refused"));
}

static void power_button_raises_the_sci_once_enabled(void **state)
{
	uint64_t v;

	(void)state;
	acpi_pm_power_button(&part);
	assert_int_equal(sci_changes, 0); /* not enabled: the line stays low */
	acpi_pm_ops.write(&part, ACPI_PM1_EVT + 2, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(sci_level, 1);
	acpi_pm_power_button(&part); /* already up: no second edge */
	assert_int_equal(sci_changes, 1);
	acpi_pm_ops.read(&part, ACPI_PM1_EVT, 2, &v);
	assert_int_equal(v, ACPI_PM1_PWRBTN);
	acpi_pm_ops.write(&part, ACPI_PM1_EVT, 2, ACPI_PM1_PWRBTN);
	assert_int_equal(sci_level, 0);
	assert_int_equal(sci_changes, 2);
}

static void timer_counts_from_the_partition_start(void **state)
{
	uint64_t v;

	(void)state;
	host_tsc += HZ;
	acpi_pm_ops.read(&part, ACPI_PM_TMR, 4, &v);
	assert_int_equal(v, 3579545);
}

static void timer_sci_is_polled_only_while_enabled(void **state)
{
	uint64_t toggle = tsc_of_tick(1ull << 31);

	(void)state;
	assert_int_equal(acpi_pm_poll(&part, host_tsc), 0);
	acpi_pm_ops.write(&part, ACPI_PM1_EVT + 2, 2, ACPI_PM1_TMR);
	assert_int_equal(deadline_changes, 1);
	assert_int_equal(acpi_pm_poll(&part, host_tsc), toggle - part_clock_guest_offset(&part.clock)); /* in its time */
	assert_int_equal(sci_changes, 0);
	acpi_pm_poll(&part, toggle - part_clock_guest_offset(&part.clock));
	assert_int_equal(sci_level, 1);
	acpi_pm_ops.write(&part, ACPI_PM1_EVT + 2, 2, ACPI_PM1_TMR); /* unchanged: no new deadline */
	assert_int_equal(deadline_changes, 1);
}

/* The partition's PM timer, read through its port: it stands still while paused and goes on after. */
static void timer_stands_still_while_the_partition_is_paused(void **state)
{
	uint64_t at_pause, v = 0;

	(void)state;
	host_tsc += HZ;
	acpi_pm_ops.read(&part, ACPI_PM_TMR, 4, &at_pause);
	assert_int_equal(at_pause, 3579545);
	part_clock_pause(&part.clock, host_tsc);
	host_tsc += 5 * HZ;
	acpi_pm_ops.read(&part, ACPI_PM_TMR, 4, &v);
	assert_int_equal(v, at_pause);
	part_clock_resume(&part.clock, host_tsc);
	host_tsc += HZ / 1000;
	acpi_pm_ops.read(&part, ACPI_PM_TMR, 4, &v);
	assert_int_equal(v, at_pause + 3579);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(timer_counts_at_3_579545_mhz_and_wraps, setup),
		cmocka_unit_test_setup(timer_is_read_only, setup),
		cmocka_unit_test_setup(sci_en_always_reads_one, setup),
		cmocka_unit_test_setup(status_bits_clear_on_writing_one, setup),
		cmocka_unit_test_setup(enables_keep_defined_bits_only, setup),
		cmocka_unit_test_setup(sci_needs_both_status_and_enable, setup),
		cmocka_unit_test_setup(timer_status_when_bit_31_changes, setup),
		cmocka_unit_test_setup(slp_en_asks_for_the_sleep_type_written, setup),
		cmocka_unit_test_setup(accesses_outside_the_registers, setup),
		cmocka_unit_test_setup(s5_powers_the_partition_off, setup),
		cmocka_unit_test_setup(other_sleep_types_are_refused_with_a_line, setup),
		cmocka_unit_test_setup(power_button_raises_the_sci_once_enabled, setup),
		cmocka_unit_test_setup(timer_counts_from_the_partition_start, setup),
		cmocka_unit_test_setup(timer_sci_is_polled_only_while_enabled, setup),
		cmocka_unit_test_setup(timer_stands_still_while_the_partition_is_paused, setup),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
