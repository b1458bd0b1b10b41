/*
 * The MC146818A RTC on a simulated wall clock: formats, the update cycle,
 * SET, the divider, periodic, alarm and update interrupts, register C, the
 * offset a guest's write makes, and CMOS RAM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arch.h"
#include "partition.h"
#include "vdev/clock.h"
#include "vdev/irq.h"
#include "vdev/rtc.h"
#include "walltime.h"

#define NS 1000000000ull
#define MS 1000000ull
#define US 1000ull
#define T0 1796286600ull /* 2026-12-03 08:30:00 UTC, a Thursday */
#define BASE (T0 * NS)
#define HZ 1000000000ull /* a TSC of 1 GHz: ticks are nanoseconds */

static struct vrtc rtc;
static struct partition part;
static uint64_t fake_tsc;
static int irq_level;
static unsigned irq_changes, deadlines_moved;

uint64_t arch_tsc(void)
{
	return fake_tsc;
}

uint64_t arch_tsc_hz(void)
{
	return HZ;
}

void irq_set_isa(struct partition *p, unsigned irq, int level)
{
	assert_ptr_equal(p, &part);
	assert_int_equal(irq, 8);
	assert_int_not_equal(level, irq_level); /* the line only moves */
	irq_level = level;
	irq_changes++;
}

void vdev_deadline_changed(struct partition *p)
{
	assert_ptr_equal(p, &part);
	deadlines_moved++;
}

static int reset(void **state)
{
	(void)state;
	vrtc_reset(&rtc, BASE);
	memset(&part, 0, sizeof(part));
	assert_int_equal(walltime_init(T0, 0), 0);
	fake_tsc = 0;
	vrtc_reset(&part.rtc, BASE);
	irq_level = 0;
	irq_changes = deadlines_moved = 0;
	return 0;
}

static uint8_t get(uint8_t reg, uint64_t now)
{
	vrtc_write(&rtc, 0x70, reg, now);
	return vrtc_read(&rtc, 0x71, now);
}

static void set(uint8_t reg, uint8_t v, uint64_t now)
{
	vrtc_write(&rtc, 0x70, reg, now);
	vrtc_write(&rtc, 0x71, v, now);
}

/* The time registers, seconds to century, as one number per byte: 0xCCYYMMDDhhmmss. */
static uint64_t shown(uint64_t now)
{
	static const uint8_t regs[] = { RTC_CENTURY, RTC_YEAR, RTC_MONTH, RTC_DAY, RTC_HOURS, RTC_MINUTES, RTC_SECONDS };
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < sizeof(regs); i++)
		v = v << 8 | get(regs[i], now);
	return v;
}

static void set_time_bcd(uint64_t when, uint64_t now)
{
	static const uint8_t regs[] = { RTC_CENTURY, RTC_YEAR, RTC_MONTH, RTC_DAY, RTC_HOURS, RTC_MINUTES, RTC_SECONDS };
	unsigned i;

	for (i = 0; i < sizeof(regs); i++)
		set(regs[i], (uint8_t)(when >> (8 * (6 - i))), now);
}

static void reset_state_shows_the_host_time(void **state)
{
	(void)state;
	assert_int_equal(get(RTC_REG_A, BASE), 0x26);
	assert_int_equal(get(RTC_REG_B, BASE), 0x02);
	assert_int_equal(get(RTC_REG_C, BASE), 0x00);
	assert_int_equal(get(RTC_REG_D, BASE), 0x80);
	assert_int_equal(shown(BASE), 0x20261203083000ull);
	assert_int_equal(get(RTC_WEEKDAY, BASE), 5); /* Thursday: Sunday is 1 */
	assert_int_equal(shown(BASE + 61 * NS + 500 * MS), 0x20261203083101ull);
	assert_int_equal(shown(BASE + 86400 * 29 * NS), 0x20270101083000ull);
	assert_int_equal(vrtc_read(&rtc, 0x70, BASE + 86400 * 29 * NS), 0xff); /* the index is write-only */
}

static void binary_and_12_hour_formats(void **state)
{
	(void)state;
	set(RTC_REG_B, RTC_B_24H | RTC_B_BINARY, BASE);
	assert_int_equal(shown(BASE), 0x141a0c03081e00ull);
	set(RTC_REG_B, 0, BASE);
	assert_int_equal(get(RTC_HOURS, BASE), 0x08);
	assert_int_equal(get(RTC_HOURS, BASE + 12 * 3600 * NS), 0x88); /* 8 PM */
	assert_int_equal(get(RTC_HOURS, BASE + 16 * 3600 * NS), 0x12); /* midnight: 12 AM */
	set(RTC_REG_B, RTC_B_BINARY, BASE + 16 * 3600 * NS);
	assert_int_equal(get(RTC_HOURS, BASE + 16 * 3600 * NS), 12);
	assert_int_equal(get(RTC_HOURS, BASE + 28 * 3600 * NS), 0x8c); /* noon: 12 PM */
}

static void uip_rises_244_us_before_each_update(void **state)
{
	(void)state;
	assert_false(get(RTC_REG_A, BASE + NS - 244 * US - 1) & RTC_A_UIP);
	assert_true(get(RTC_REG_A, BASE + NS - 244 * US) & RTC_A_UIP);
	assert_int_equal(get(RTC_SECONDS, BASE + NS - 1), 0x00); /* still the old second */
	assert_false(get(RTC_REG_A, BASE + NS) & RTC_A_UIP);
	assert_int_equal(get(RTC_SECONDS, BASE + NS), 0x01);
	set(RTC_REG_B, RTC_B_SET | RTC_B_24H, BASE + NS);
	assert_false(get(RTC_REG_A, BASE + 2 * NS - 100 * US) & RTC_A_UIP); /* no updates while SET */
	set(RTC_REG_A, 0xa6, BASE + 2 * NS); /* UIP itself cannot be written */
	set(RTC_REG_B, RTC_B_24H, BASE + 2 * NS);
	assert_int_equal(get(RTC_REG_A, BASE + 2 * NS) , 0x26);
}

static void set_freezes_the_registers_for_the_guest(void **state)
{
	uint64_t t = BASE + 300 * MS;

	(void)state;
	set(RTC_REG_B, RTC_B_SET | RTC_B_24H | RTC_B_UIE, t);
	assert_int_equal(get(RTC_REG_B, t), RTC_B_SET | RTC_B_24H); /* SET clears UIE */
	set_time_bcd(0x19991231235959ull, t);
	assert_int_equal(shown(t + 10 * NS), 0x19991231235959ull); /* frozen */
	set(RTC_REG_B, RTC_B_24H, t + 10 * NS);                    /* runs on, its second's phase kept */
	assert_int_equal(shown(t + 10 * NS + 699 * MS), 0x19991231235959ull);
	assert_int_equal(shown(t + 10 * NS + 700 * MS), 0x20000101000000ull);
	assert_int_equal(get(RTC_WEEKDAY, t + 10 * NS + 700 * MS), 7); /* 2000-01-01 was a Saturday */
	assert_int_equal(shown(t + 10 * NS + 700 * MS + 86400ull * 59 * NS), 0x20000229000000ull);
	assert_int_equal(shown(t + 10 * NS + 700 * MS + 86400ull * 60 * NS), 0x20000301000000ull);
}

static void a_time_register_written_while_running_sets_the_clock(void **state)
{
	(void)state;
	set(RTC_MINUTES, 0x45, BASE + 2 * NS + 100 * MS);
	assert_int_equal(shown(BASE + 2 * NS + 100 * MS), 0x20261203084502ull);
	assert_int_equal(shown(BASE + 3 * NS), 0x20261203084503ull);
	set(RTC_CENTURY, 0x21, BASE + 3 * NS);
	assert_int_equal(shown(BASE + 3 * NS), 0x21261203084503ull);
	assert_int_equal(get(RTC_WEEKDAY, BASE + 3 * NS), 3); /* 2126-12-03: a Tuesday */
}

static void each_partition_keeps_its_own_offset(void **state)
{
	struct vrtc other;

	(void)state;
	vrtc_reset(&other, BASE);
	set(RTC_REG_B, RTC_B_SET | RTC_B_24H, BASE);
	set_time_bcd(0x20010911084600ull, BASE);
	set(RTC_REG_B, RTC_B_24H, BASE);
	assert_int_equal(shown(BASE + 5 * NS), 0x20010911084605ull);
	vrtc_write(&other, 0x70, RTC_YEAR, BASE + 5 * NS);
	assert_int_equal(vrtc_read(&other, 0x71, BASE + 5 * NS), 0x26); /* the host's year */
	vrtc_reset(&rtc, BASE + 6 * NS); /* a restart shows the host's time again */
	assert_int_equal(shown(BASE + 6 * NS), 0x20261203083006ull);
}

static void garbage_in_time_registers_carries(void **state)
{
	(void)state;
	set(RTC_REG_B, RTC_B_SET | RTC_B_24H, BASE);
	set_time_bcd(0x20261399997575ull, BASE); /* month 13, day 99, hour 99, minute 75, second 75 */
	set(RTC_REG_B, RTC_B_24H, BASE);
	/* 2027-01-01 + 98 days + 99 h + 75 min + 75 s = 2027-04-13 04:16:15 */
	assert_int_equal(shown(BASE), 0x20270413041615ull);
	set(RTC_REG_B, RTC_B_SET | RTC_B_24H, BASE);
	set_time_bcd(0xffffffffffffffull, BASE); /* the worst: every nibble 15 */
	set(RTC_REG_B, RTC_B_24H, BASE);
	assert_int_equal(get(RTC_REG_D, BASE), 0x80);
	(void)shown(BASE + NS); /* a date, whatever it is */
}

static void periodic_interrupt_at_the_rate_a_selects(void **state)
{
	static const struct {
		uint8_t rate;
		uint64_t ns; /* period, rounded up */
	} rates[] = { { 1, 3906250 }, { 2, 7812500 }, { 3, 122071 }, { 6, 976563 }, { 15, 500000000 } };
	unsigned i;

	(void)state;
	assert_int_equal(vrtc_poll(&rtc, BASE), 0); /* nothing enabled */
	set(RTC_REG_B, RTC_B_24H | RTC_B_PIE, BASE);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		uint64_t start = BASE + i * NS, next;
		set(RTC_REG_A, (uint8_t)(0x20 | rates[i].rate), start);
		(void)get(RTC_REG_C, start);
		next = vrtc_poll(&rtc, start);
		assert_int_equal(next, start + rates[i].ns);
		assert_int_equal(vrtc_poll(&rtc, next - 1), next);
		assert_false(vrtc_irq(&rtc));
		assert_int_equal(vrtc_poll(&rtc, next), 0); /* IRQF is up: nothing more until C is read */
		assert_true(vrtc_irq(&rtc));
		assert_int_equal(get(RTC_REG_C, next), RTC_C_IRQF | RTC_C_PF);
		assert_false(vrtc_irq(&rtc));
		assert_int_equal(get(RTC_REG_C, next), 0); /* reading cleared it */
	}
	set(RTC_REG_A, 0x20, BASE + 10 * NS); /* rate 0: none */
	assert_int_equal(vrtc_poll(&rtc, BASE + 10 * NS), 0);
}

static void flags_are_set_whatever_the_enables(void **state)
{
	(void)state;
	set(RTC_REG_A, 0x2f, BASE); /* 2 Hz */
	assert_int_equal(get(RTC_REG_C, BASE + 600 * MS), RTC_C_PF);
	assert_int_equal(get(RTC_REG_C, BASE + 1100 * MS), RTC_C_PF | RTC_C_UF);
	assert_int_equal(get(RTC_REG_C, BASE + 1200 * MS), 0);
	assert_int_equal(vrtc_poll(&rtc, BASE + 1200 * MS), 0);
	assert_int_equal(get(RTC_REG_C, BASE + 50 * NS), RTC_C_PF | RTC_C_UF); /* many missed: one each */
	set(RTC_REG_B, RTC_B_24H | RTC_B_UIE, BASE + 50 * NS);
	assert_false(vrtc_irq(&rtc));
	(void)vrtc_poll(&rtc, BASE + 51 * NS);
	assert_true(vrtc_irq(&rtc));
	set(RTC_REG_B, RTC_B_24H, BASE + 51 * NS); /* IRQF is the enables' AND: it falls with UIE */
	assert_false(vrtc_irq(&rtc));
	set(RTC_REG_B, RTC_B_24H | RTC_B_PIE, BASE + 51 * NS); /* PF is up: IRQF rises at once */
	assert_true(vrtc_irq(&rtc));
}

static void update_ended_interrupt_each_second(void **state)
{
	uint64_t t = BASE + 400 * MS;

	(void)state;
	set(RTC_REG_A, 0x20, t);
	assert_int_equal(get(RTC_REG_C, t), RTC_C_PF); /* ticks at 1024 Hz until now */
	set(RTC_REG_B, RTC_B_24H | RTC_B_UIE, t);
	assert_int_equal(vrtc_poll(&rtc, t), BASE + NS);
	assert_int_equal(vrtc_poll(&rtc, BASE + NS), 0);
	assert_int_equal(get(RTC_REG_C, BASE + NS), RTC_C_IRQF | RTC_C_UF);
	assert_int_equal(vrtc_poll(&rtc, BASE + NS), BASE + 2 * NS);
}

static void alarm_matches_with_dont_care_values(void **state)
{
	uint64_t t = BASE;

	(void)state;
	set(RTC_REG_A, 0x20, t);
	set(RTC_SECONDS_ALARM, 0x05, t);
	set(RTC_MINUTES_ALARM, 0x30, t);
	set(RTC_HOURS_ALARM, 0x08, t);
	set(RTC_REG_B, RTC_B_24H | RTC_B_AIE, t);
	assert_int_equal(vrtc_poll(&rtc, t), BASE + 5 * NS);
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), 0);
	assert_int_equal(get(RTC_REG_C, BASE + 5 * NS), RTC_C_IRQF | RTC_C_AF | RTC_C_UF);
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), BASE + (5 + 86400) * NS); /* tomorrow */
	set(RTC_HOURS_ALARM, 0xc0, BASE + 5 * NS); /* any hour */
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), BASE + (5 + 3600) * NS);
	set(RTC_MINUTES_ALARM, 0xff, BASE + 5 * NS); /* any minute */
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), BASE + 65 * NS);
	set(RTC_SECONDS_ALARM, 0xd3, BASE + 5 * NS); /* any second: every update */
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), BASE + 6 * NS);
	set(RTC_SECONDS_ALARM, 0x60, BASE + 5 * NS); /* a second that never comes */
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), 0);
	set(RTC_SECONDS_ALARM, 0x00, BASE + 5 * NS);
	set(RTC_HOURS_ALARM, 0x88, BASE + 5 * NS); /* 8 PM in 12-hour form: never in 24-hour form */
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), 0);
	set(RTC_REG_B, RTC_B_AIE, BASE + 5 * NS);
	assert_int_equal(vrtc_poll(&rtc, BASE + 5 * NS), BASE + (11 * 3600 + 30 * 60) * NS); /* 20:00:00 */
	assert_int_equal(get(RTC_REG_C, BASE + 40 * 86400 * NS), RTC_C_AF | RTC_C_UF | RTC_C_IRQF); /* missed alarms */
}

static void divider_reset_stops_the_clock(void **state)
{
	(void)state;
	set(RTC_REG_A, 0x70, BASE + 200 * MS); /* DV = 111: held in reset */
	assert_int_equal(shown(BASE + 10 * NS), 0x20261203083000ull);
	assert_false(get(RTC_REG_A, BASE + 11 * NS - 100 * US) & RTC_A_UIP);
	set(RTC_REG_B, RTC_B_24H | RTC_B_PIE, BASE + 11 * NS);
	assert_int_equal(vrtc_poll(&rtc, BASE + 20 * NS), 0); /* no periodic ticks either */
	set(RTC_SECONDS, 0x30, BASE + 20 * NS);
	set(RTC_REG_A, 0x26, BASE + 20 * NS + 123 * MS); /* runs: the first update 500 ms on */
	assert_int_equal(shown(BASE + 20 * NS + 622 * MS), 0x20261203083030ull);
	assert_int_equal(shown(BASE + 20 * NS + 623 * MS), 0x20261203083031ull);
	assert_true(get(RTC_REG_A, BASE + 21 * NS + 623 * MS - 200 * US) & RTC_A_UIP);
}

static void cmos_ram_and_the_index_port(void **state)
{
	unsigned i;

	(void)state;
	for (i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			set((uint8_t)i, (uint8_t)(i ^ 0x5a), BASE);
	for (i = 0x0e; i < 0x80; i++)
		if (i != RTC_CENTURY)
			assert_int_equal(get((uint8_t)(i | 0x80), BASE), i ^ 0x5a); /* bit 7: the NMI mask */
	assert_int_equal(rtc.nmi_mask, 1);
	set(RTC_REG_C, 0xff, BASE); /* C and D are read-only */
	set(RTC_REG_D, 0x00, BASE);
	assert_int_equal(get(RTC_REG_C, BASE), 0);
	assert_int_equal(get(RTC_REG_D, BASE), 0x80);
	assert_int_equal(vrtc_read(&rtc, 0x72, BASE), 0xff);
	vrtc_write(&rtc, 0x72, 0x00, BASE);
	assert_int_equal(get(0x0e, BASE), 0x0e ^ 0x5a);
}

/* A guest's reset of its machine: the time it set and its CMOS RAM stay; the interrupt enables and flags go. */
static void the_reset_pin_keeps_the_clock_and_the_ram(void **state)
{
	(void)state;
	set_time_bcd(0x19991231235958ull, BASE);
	set(0x7e, 0xa5, BASE);
	set(RTC_REG_B, RTC_B_24H | RTC_B_BINARY | RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE, BASE);
	assert_true(get(RTC_REG_C, BASE + 2 * NS) & RTC_C_IRQF);
	set(RTC_REG_B, RTC_B_24H | RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE, BASE + 2 * NS);
	vrtc_reset_pin(&rtc);
	assert_int_equal(get(RTC_REG_B, BASE + 2 * NS), RTC_B_24H);
	assert_int_equal(get(RTC_REG_C, BASE + 2 * NS), 0);
	assert_int_equal(vrtc_irq(&rtc), 0);
	assert_int_equal(get(0x7e, BASE + 2 * NS), 0xa5);
	assert_int_equal(shown(BASE + 2 * NS), 0x20000101000000ull);
	assert_int_equal(get(RTC_REG_A, BASE + 2 * NS), 0x26);
}

static void time_never_runs_back(void **state)
{
	(void)state;
	assert_int_equal(get(RTC_SECONDS, BASE + 5 * NS), 0x05);
	assert_int_equal(get(RTC_SECONDS, BASE + 4 * NS), 0x05); /* a CPU whose clock is behind */
}

static void hostile_writes_are_contained(void **state)
{
	uint32_t seed = 7;
	uint64_t t = BASE;
	unsigned i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		uint64_t next;
		seed = seed * 1103515245 + 12345;
		t += (seed >> 4) % (50 * MS);
		if (seed >> 31)
			vrtc_write(&rtc, (uint16_t)(0x70 + (seed >> 12) % 2), (uint8_t)(seed >> 20), t);
		else if ((seed >> 30) & 1)
			(void)vrtc_read(&rtc, (uint16_t)(0x70 + (seed >> 12) % 2), t);
		next = vrtc_poll(&rtc, t);
		assert_true(next == 0 || next > t);
	}
}

/* ---- the partition's RTC */

static void glue_raises_irq8_and_tells_new_deadlines(void **state)
{
	uint64_t v;

	(void)state;
	fake_tsc = 100 * MS;
	vrtc_ops.write(&part, 0, 2, 0x2d00 | RTC_REG_A); /* 0x70 = A, then 0x71 = 0x2d: 8 Hz */
	assert_int_equal(deadlines_moved, 0);             /* nothing enabled yet */
	vrtc_ops.write(&part, 0, 1, RTC_REG_C);
	vrtc_ops.read(&part, 1, 1, &v);
	assert_int_equal(v, RTC_C_PF); /* the reset's 1024 Hz ticked, without an interrupt */
	vrtc_ops.write(&part, 0, 2, (RTC_B_24H | RTC_B_PIE) << 8 | RTC_REG_B);
	assert_int_equal(deadlines_moved, 1);
	assert_int_equal(vrtc_timer(&part, 100 * MS), 125 * MS); /* the wall clock's 125 ms, in TSC */
	assert_int_equal(irq_changes, 0);
	assert_int_equal(vrtc_timer(&part, 125 * MS), 0);
	assert_int_equal(irq_level, 1);
	fake_tsc = 130 * MS;
	vrtc_ops.write(&part, 0, 1, RTC_REG_C);
	vrtc_ops.read(&part, 1, 1, &v);
	assert_int_equal(v, RTC_C_IRQF | RTC_C_PF);
	assert_int_equal(irq_level, 0);
	assert_int_equal(deadlines_moved, 2); /* the next one is due again */
	assert_int_equal(vrtc_timer(&part, 130 * MS), 250 * MS);
	vrtc_ops.read(&part, 0, 2, &v);
	assert_int_equal(v, 0x00ff); /* 0x70 reads all-ones, 0x71 reads C again */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reset_state_shows_the_host_time, reset),
		cmocka_unit_test_setup(binary_and_12_hour_formats, reset),
		cmocka_unit_test_setup(uip_rises_244_us_before_each_update, reset),
		cmocka_unit_test_setup(set_freezes_the_registers_for_the_guest, reset),
		cmocka_unit_test_setup(a_time_register_written_while_running_sets_the_clock, reset),
		cmocka_unit_test_setup(each_partition_keeps_its_own_offset, reset),
		cmocka_unit_test_setup(garbage_in_time_registers_carries, reset),
		cmocka_unit_test_setup(periodic_interrupt_at_the_rate_a_selects, reset),
		cmocka_unit_test_setup(flags_are_set_whatever_the_enables, reset),
		cmocka_unit_test_setup(update_ended_interrupt_each_second, reset),
		cmocka_unit_test_setup(alarm_matches_with_dont_care_values, reset),
		cmocka_unit_test_setup(divider_reset_stops_the_clock, reset),
		cmocka_unit_test_setup(cmos_ram_and_the_index_port, reset),
		cmocka_unit_test_setup(the_reset_pin_keeps_the_clock_and_the_ram, reset),
		cmocka_unit_test_setup(time_never_runs_back, reset),
		cmocka_unit_test_setup(hostile_writes_are_contained, reset),
		cmocka_unit_test_setup(glue_raises_irq8_and_tells_new_deadlines, reset),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
