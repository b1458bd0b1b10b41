/*
 * The 8254 and port 0x61 against a simulated TSC of exactly 1000 ticks per
 * PIT clock: each mode's count and OUT, latches, read-back, reprogramming,
 * the gate, channel 0's interrupts and their coalescing.
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
#include "vdev/pit.h"

#define TICKS 1000ull /* TSC ticks per PIT clock */
#define HZ (VPIT_HZ * TICKS)
#define T0 (5000 * TICKS)

static struct vpit pit;
static struct partition part;
static uint64_t fake_tsc;
static unsigned irq_raised, irq_lowered, deadlines_moved;

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
	assert_int_equal(irq, 0);
	if (level)
		irq_raised++;
	else
		irq_lowered++;
}

void vdev_deadline_changed(struct partition *p)
{
	assert_ptr_equal(p, &part);
	deadlines_moved++;
}

/* The TSC at PIT clock `clocks` after the reset. */
static uint64_t at(uint64_t clocks)
{
	return T0 + clocks * TICKS;
}

static int reset(void **state)
{
	(void)state;
	vpit_reset(&pit, HZ, T0);
	memset(&part, 0, sizeof(part));
	fake_tsc = T0;
	vpit_reset(&part.pit, HZ, T0);
	irq_raised = irq_lowered = deadlines_moved = 0;
	return 0;
}

static void out(uint16_t port, uint8_t v, uint64_t clocks)
{
	vpit_write(&pit, port, v, at(clocks));
}

static uint8_t in(uint16_t port, uint64_t clocks)
{
	return vpit_read(&pit, port, at(clocks));
}

/* Control word for channel ch, LSB then MSB, mode m, binary; then the count. */
static void program(unsigned ch, unsigned mode, uint16_t count, uint64_t clocks)
{
	out(0x43, (uint8_t)(ch << 6 | 0x30 | mode << 1), clocks);
	out((uint16_t)(0x40 + ch), (uint8_t)count, clocks);
	out((uint16_t)(0x40 + ch), (uint8_t)(count >> 8), clocks);
}

/* The count through a counter latch command, LSB then MSB. Time only moves forward in these tests. */
static uint16_t latched(unsigned ch, uint64_t clocks)
{
	uint16_t lsb;

	out(0x43, (uint8_t)(ch << 6), clocks);
	lsb = in((uint16_t)(0x40 + ch), clocks);
	return (uint16_t)(lsb | in((uint16_t)(0x40 + ch), clocks) << 8);
}

static uint8_t status(unsigned ch, uint64_t clocks)
{
	out(0x43, (uint8_t)(0xe0 | 2u << ch), clocks);
	return in((uint16_t)(0x40 + ch), clocks);
}

static int out2(uint64_t clocks)
{
	return (in(0x61, clocks) >> 5) & 1;
}

/* 1 if channel 0's interrupt is due at clocks; *next its next, in PIT clocks after the reset. */
static int poll(uint64_t clocks, uint64_t *next)
{
	uint64_t tsc;
	int due = vpit_poll(&pit, at(clocks), &tsc);

	*next = tsc ? (tsc - T0) / TICKS : 0;
	if (tsc)
		assert_int_equal(tsc, at(*next)); /* the first tick at which that clock has come */
	return due;
}

static void reset_runs_channel_0_at_18_hz(void **state)
{
	uint64_t next;

	(void)state;
	assert_int_equal(status(0, 0), 0xb6); /* OUT high, count loaded, LSB-MSB, mode 3, binary */
	assert_int_equal(status(2, 0), 0xb6); /* channel 2: gate low, stopped with OUT high */
	assert_int_equal(latched(2, 5000), latched(2, 0)); /* and not counting */
	assert_false(poll(5000, &next));
	assert_int_equal(next, 65536);
	assert_false(poll(65535, &next));
	assert_true(poll(65536, &next));
	assert_int_equal(next, 2 * 65536);
	assert_int_equal(latched(0, 65536 + 100), 65536 - 200); /* mode 3 counts by two */
	assert_int_equal(in(0x43, 65536 + 100), 0xff);          /* the control word cannot be read */
}

static void mode0_interrupts_once_at_terminal_count(void **state)
{
	uint64_t next;

	(void)state;
	out(0x43, 0x30, 10);
	assert_int_equal(status(0, 10), 0x70); /* OUT low, null count, LSB-MSB, mode 0 */
	assert_false(poll(10, &next));
	assert_int_equal(next, 0); /* no count yet: no interrupt */
	out(0x40, 0xe8, 20);
	assert_int_equal(latched(0, 30), 65536 - 20); /* held since the control word */
	out(0x40, 0x03, 100);                         /* 1000 */
	assert_int_equal(status(0, 100), 0x30);
	assert_int_equal(latched(0, 600), 500);
	assert_false(poll(600, &next));
	assert_int_equal(next, 1100);
	assert_int_equal(status(0, 1099) >> 7, 0);
	assert_int_equal(status(0, 1100) >> 7, 1);
	assert_true(poll(1100, &next));
	assert_int_equal(next, 0);
	assert_int_equal(latched(0, 1101), 0xffff); /* counting on past 0 */
	assert_int_equal(status(0, 1200000) >> 7, 1); /* OUT stays high */
	assert_false(poll(1200000, &next));
	program(0, 0, 100, 1200000);
	out(0x43, 0x30, 1200150); /* rewritten after the count ran out, before any poll */
	assert_true(poll(1200160, &next)); /* the interrupt due at 1200100 still comes */
	assert_int_equal(next, 0);
}

static void mode2_is_periodic_and_coalesces_missed_periods(void **state)
{
	uint64_t next;

	(void)state;
	program(0, 2, 1000, 0);
	assert_false(poll(0, &next));
	assert_int_equal(next, 1000);
	assert_int_equal(latched(0, 0), 1000);
	assert_int_equal(latched(0, 1), 999);
	assert_int_equal(status(0, 998) >> 7, 1);
	assert_int_equal(status(0, 999) >> 7, 0); /* low for the last clock */
	assert_int_equal(latched(0, 999), 1);
	assert_int_equal(status(0, 1000) >> 7, 1);
	assert_int_equal(latched(0, 1000), 1000);
	assert_true(poll(1000, &next));
	assert_int_equal(next, 2000);
	assert_true(poll(5500, &next)); /* four periods missed: one interrupt */
	assert_int_equal(next, 6000);    /* and the grid kept */
	assert_false(poll(5999, &next));
}

static void fast_periods_are_limited_to_10_khz(void **state)
{
	uint64_t next;

	(void)state;
	assert_int_equal(VPIT_HZ * VPIT_IRQ_MIN_US / 1000000, 119);
	program(0, 2, 10, 0);
	assert_true(poll(10, &next));
	assert_int_equal(next, 130); /* the first period's end 119 clocks or more on */
	assert_int_equal(latched(0, 15), 5); /* the count is exact all the same */
	assert_true(poll(130, &next));
	assert_int_equal(next, 250);
	program(0, 2, 1, 200); /* a count of 1: OUT never rises */
	assert_false(poll(300, &next));
	assert_int_equal(next, 0);
	program(0, 3, 1, 400);
	assert_false(poll(500, &next));
	assert_int_equal(next, 0);
	program(0, 0, 1, 600); /* one-shots are not limited */
	assert_false(poll(600, &next));
	assert_int_equal(next, 601);
}

static void mode3_square_wave_counts_by_two(void **state)
{
	static const uint16_t even[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	static const uint16_t odd[] = { 8, 6, 4, 2, 0, 8, 6, 4, 2, 8 };
	static const uint8_t odd_out[] = { 1, 1, 1, 1, 1, 0, 0, 0, 0, 1 };
	uint64_t next;
	unsigned i;

	(void)state;
	program(0, 3, 10, 0);
	for (i = 0; i < sizeof(even) / sizeof(even[0]); i++) {
		assert_int_equal(latched(0, i), even[i]);
		assert_int_equal(status(0, i) >> 7, i % 10 < 5);
	}
	program(0, 3, 9, 100);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		assert_int_equal(latched(0, 100 + i), odd[i]);
		assert_int_equal(status(0, 100 + i) >> 7, odd_out[i]);
	}
	program(0, 3, 2000, 1000);
	assert_true(poll(1000, &next)); /* what came due under the counts before, as one */
	assert_int_equal(next, 3000); /* at the rise: each period's start */
}

static void mode4_strobes_once(void **state)
{
	uint64_t next;

	(void)state;
	out(0x43, 0x38, 0); /* Linux's one-shot: mode 4 */
	out(0x40, 100, 0);
	out(0x40, 0, 0);
	assert_false(poll(0, &next));
	assert_int_equal(next, 101);
	assert_int_equal(status(0, 99) >> 7, 1);
	assert_int_equal(status(0, 100) >> 7, 0); /* the strobe */
	assert_int_equal(status(0, 101) >> 7, 1);
	assert_true(poll(101, &next));
	assert_int_equal(next, 0);
	out(0x40, 50, 200); /* a new count restarts it, once both bytes are in */
	assert_int_equal(latched(0, 220), 65536 + 100 - 220);
	out(0x40, 0, 220);
	assert_int_equal(latched(0, 230), 40);
	assert_false(poll(230, &next));
	assert_int_equal(next, 271);
}

static void gate_triggers_modes_1_and_5(void **state)
{
	(void)state;
	program(2, 1, 100, 0);
	assert_int_equal(out2(50), 1); /* waiting for the gate */
	out(0x61, 0x01, 60);           /* a rising gate triggers */
	assert_int_equal(out2(60), 0);
	assert_int_equal(latched(2, 110), 50);
	out(0x61, 0x00, 120);
	out(0x61, 0x01, 130); /* retriggered: again 100 clocks low */
	assert_int_equal(out2(229), 0);
	assert_int_equal(out2(230), 1);
	program(2, 5, 20, 300);
	assert_int_equal(out2(400), 1); /* the gate is high, but did not rise */
	out(0x61, 0x00, 400);
	out(0x61, 0x01, 410);
	assert_int_equal(status(2, 429) >> 6, 2); /* OUT high, count loaded */
	assert_int_equal(out2(430), 0);
	assert_int_equal(out2(431), 1);
}

static void gate_holds_mode0_and_restarts_mode2(void **state)
{
	(void)state;
	out(0x61, 0x01, 0);
	program(2, 0, 100, 0);
	out(0x61, 0x00, 40);
	assert_int_equal(latched(2, 500), 60);
	assert_int_equal(out2(500), 0);
	out(0x61, 0x01, 1000);
	assert_int_equal(latched(2, 1059), 1);
	assert_int_equal(out2(1059), 0);
	assert_int_equal(out2(1060), 1);
	program(2, 2, 100, 2000);
	assert_int_equal(latched(2, 2099), 1);
	out(0x61, 0x00, 2099); /* low: OUT high, stopped */
	assert_int_equal(out2(2099), 1);
	assert_int_equal(latched(2, 2500), 1);
	out(0x61, 0x01, 3000); /* rising: a new period */
	assert_int_equal(latched(2, 3010), 90);
	out(0x61, 0x00, 3020);
	program(2, 0, 50, 3030); /* written while the gate is low: loaded, held */
	assert_int_equal(latched(2, 3100), 50);
	out(0x61, 0x01, 3200);
	assert_int_equal(latched(2, 3210), 40);
}

/* Linux's pit_calibrate_tsc(): channel 2 in mode 0, polled through port 0x61 bit 5. */
static void linux_calibration_sees_out2_rise_on_time(void **state)
{
	uint16_t latch = 1193182 / 100; /* CAL_LATCH for 10 ms */
	uint64_t t;

	(void)state;
	out(0x61, (uint8_t)((in(0x61, 0) & ~0x02) | 0x01), 0);
	out(0x43, 0xb0, 0);
	out(0x42, latch & 0xff, 0);
	out(0x42, latch >> 8, 0);
	for (t = 0; !(in(0x61, t) & 0x20); t += 7)
		assert_true(t <= latch);
	assert_true(t >= latch && t < latch + 7u);
}

/* Linux's quick_pit_calibrate(): mode 0 from 0xffff, the count read LSB then MSB without a latch. */
static void linux_quick_calibration_reads_the_msb(void **state)
{
	uint64_t t;

	(void)state;
	out(0x61, 0x01, 0);
	out(0x43, 0xb0, 0);
	out(0x42, 0xff, 0);
	out(0x42, 0xff, 0);
	for (t = 0; t < 65535; t += 97) {
		uint16_t count = (uint16_t)(0xffff - t);
		assert_int_equal(in(0x42, t), count & 0xff);
		assert_int_equal(in(0x42, t), count >> 8);
	}
}

static void latch_freezes_the_count_until_read(void **state)
{
	(void)state;
	program(1, 2, 5000, 0);
	out(0x43, 0x40, 100); /* latch channel 1 */
	out(0x43, 0x40, 900); /* a second latch before the read is ignored */
	assert_int_equal(in(0x41, 2000), (5000 - 100) & 0xff);
	out(0x43, 0x40, 2500); /* half read: still ignored */
	assert_int_equal(in(0x41, 3000), (5000 - 100) >> 8);
	assert_int_equal(latched(1, 3000), 2000);
	assert_int_equal(in(0x41, 4000), (5000 - 4000) & 0xff); /* live again */
	assert_int_equal(in(0x41, 4000), (5000 - 4000) >> 8);
}

static void read_back_latches_status_then_count(void **state)
{
	(void)state;
	program(0, 2, 300, 0);
	program(1, 4, 0x1234, 0);
	out(0x43, 0xc6, 100); /* count and status of channels 0 and 1 */
	assert_int_equal(in(0x40, 500), 0xb4); /* status: OUT high, LSB-MSB, mode 2 */
	assert_int_equal(in(0x40, 500), 200);
	assert_int_equal(in(0x40, 500), 0);
	assert_int_equal(in(0x41, 600), 0xb8);
	assert_int_equal(in(0x41, 600), (0x1234 - 100) & 0xff);
	assert_int_equal(in(0x41, 600), (0x1234 - 100) >> 8);
	out(0x43, 0xe2, 899); /* status only, while OUT is low */
	out(0x43, 0xe2, 900); /* again before it is read: the first stays */
	assert_int_equal(in(0x40, 900), 0x34);
	out(0x43, 0xd2, 1000); /* count only */
	assert_int_equal(in(0x40, 1100), 200);
	out(0x43, 0x10, 1200); /* a control word drops the MSB left to read */
	assert_int_equal(status(0, 1200), 0x50); /* OUT low, null count, LSB only, mode 0 */
	out(0x40, 0x20, 1300);
	assert_int_equal(status(0, 1300), 0x10);
	out(0x43, 0xfe, 1301); /* neither count nor status: nothing latched */
	assert_int_equal(in(0x40, 1310), 0x20 - 10);
	out(0x43, 0xff, 1310); /* bit 0 set: reserved, the same */
	assert_int_equal(in(0x40, 1311), 0x20 - 11);
}

static void access_modes_lsb_and_msb(void **state)
{
	(void)state;
	out(0x43, 0x54, 0); /* channel 1, LSB only, mode 2 */
	out(0x41, 0x80, 0);
	assert_int_equal(in(0x41, 0x10), 0x70);
	assert_int_equal(in(0x41, 0x10), 0x70);
	out(0x43, 0x64, 0x20); /* MSB only: 0x200 */
	out(0x41, 0x02, 0x20);
	assert_int_equal(in(0x41, 0x120), 0x01);
	out(0x43, 0x40, 0x1a0); /* latched: 0x0080 */
	assert_int_equal(in(0x41, 0x300), 0x00);
	assert_int_equal(in(0x41, 0x300), 0x01); /* live: 0x200 - 0xe0 */
}

static void bcd_counts_in_decimal(void **state)
{
	uint64_t next;

	(void)state;
	out(0x43, 0x31, 0); /* mode 0, BCD */
	out(0x40, 0x00, 0);
	out(0x40, 0x10, 0); /* 1000 */
	assert_false(poll(0, &next));
	assert_int_equal(next, 1000);
	assert_int_equal(latched(0, 1), 0x0999);
	assert_int_equal(latched(0, 999), 0x0001);
	assert_int_equal(latched(0, 1001), 0x9999); /* past 0: 9999 */
	out(0x43, 0x35, 2000); /* mode 2, BCD, count 0: 10000 */
	out(0x40, 0, 2000);
	out(0x40, 0, 2000);
	assert_int_equal(latched(0, 2000 + 1), 0x9999);
	assert_int_equal(latched(0, 2000 + 9999), 0x0001);
	assert_int_equal(latched(0, 2000 + 10000), 0x0000);
	assert_int_equal(status(0, 2000 + 10000), 0xb5);
	out(0x43, 0x15, 30000); /* LSB only, BCD: 0xFF's digits count as 15 and 15 */
	out(0x40, 0xff, 30000);
	out(0x43, 0x00, 30065);
	assert_int_equal(in(0x40, 30065), 0x00); /* 100: LSB 0x00 */
	assert_int_equal(in(0x40, 30066), 0x99); /* 99 */
}

static void new_count_in_mode2_waits_for_the_period_end(void **state)
{
	uint64_t next;

	(void)state;
	program(0, 2, 1000, 0);
	assert_false(poll(0, &next));
	out(0x40, 0xf4, 300);
	out(0x40, 0x01, 300); /* 500, written mid-period */
	assert_int_equal(status(0, 400) & 0x40, 0x40); /* not loaded yet */
	assert_int_equal(latched(0, 400), 600);
	assert_false(poll(400, &next));
	assert_int_equal(next, 1000); /* the old period ends */
	assert_int_equal(latched(0, 1000), 500);
	assert_int_equal(status(0, 1000) & 0x40, 0);
	assert_true(poll(1000, &next));
	assert_int_equal(next, 1500);
	out(0x43, 0x34, 1700); /* a control word first: the new count starts at once */
	out(0x40, 100, 1700);
	out(0x40, 0, 1700);
	assert_int_equal(latched(0, 1750), 50);
}

static void new_count_in_mode3_waits_for_the_half_period(void **state)
{
	uint64_t next;

	(void)state;
	program(0, 3, 1000, 0);
	out(0x40, 200, 100);
	out(0x40, 0, 100); /* 200 */
	assert_false(poll(100, &next));
	assert_int_equal(next, 600); /* the end of the new count's first low half */
	assert_int_equal(latched(0, 499), 1000 - 2 * 499);
	assert_int_equal(status(0, 499) >> 7, 1);
	assert_int_equal(status(0, 500) >> 7, 0); /* the old high half ends; the new count's low half starts */
	assert_int_equal(latched(0, 500), 200);
	assert_int_equal(status(0, 599) >> 7, 0);
	assert_int_equal(status(0, 600) >> 7, 1);
	assert_int_equal(latched(0, 600), 200);
	out(0x40, 0xe8, 650);
	out(0x40, 0x03, 650); /* 1000, in a high half again */
	assert_int_equal(status(0, 699) >> 7, 1);
	assert_int_equal(status(0, 700) >> 7, 0);
	assert_int_equal(latched(0, 700), 1000);
	assert_int_equal(status(0, 1199) >> 7, 0);
	assert_int_equal(status(0, 1200) >> 7, 1);
	out(0x40, 0x2c, 1800);
	out(0x40, 0x01, 1800); /* 300, in the low half: at the period's end */
	assert_int_equal(status(0, 2199) >> 7, 0);
	assert_int_equal(status(0, 2200) >> 7, 1);
	assert_int_equal(latched(0, 2200), 300);
	assert_int_equal(status(0, 2349) >> 7, 1);
	assert_int_equal(status(0, 2350) >> 7, 0);
}

static void port61_bits(void **state)
{
	uint8_t last;
	unsigned toggles = 0;
	uint64_t t;

	(void)state;
	out(0x61, 0xff, 0);
	assert_int_equal(in(0x61, 0) & 0xcf, 0x0f); /* 0-3 kept, 6-7 read 0 */
	out(0x61, 0x0c, 0);
	assert_int_equal(in(0x61, 0) & 0x0f, 0x0c);
	last = in(0x61, 0) & 0x10;
	for (t = 1; t <= 1800; t++) {
		uint8_t now = in(0x61, t) & 0x10;
		toggles += now != last;
		last = now;
	}
	assert_int_equal(toggles, 100); /* every 18 clocks: 15.085 us */
}

static void time_never_runs_back(void **state)
{
	(void)state;
	program(1, 2, 1000, 0);
	assert_int_equal(latched(1, 500), 500);
	out(0x43, 0x40, 200); /* a CPU whose TSC is behind */
	assert_int_equal(in(0x41, 200), 500 & 0xff);
	assert_int_equal(in(0x41, 200), 500 >> 8);
}

static void hostile_writes_are_contained(void **state)
{
	uint32_t seed = 99;
	uint64_t t = 0, next;
	unsigned i;

	(void)state;
	assert_int_equal(in(0x44, 0), 0xff);
	assert_int_equal(in(0x3f, 0), 0xff);
	out(0x44, 0x30, 0);
	out(0x60, 0x30, 0);
	for (i = 0; i < 300000; i++) {
		seed = seed * 1103515245 + 12345;
		t += (seed >> 8) % 300;
		if ((seed >> 28) < 9)
			out((uint16_t)(0x40 + (seed >> 16) % 4), (uint8_t)(seed >> 20), t);
		else if ((seed >> 28) < 10)
			out(0x61, (uint8_t)(seed >> 20), t);
		else if ((seed >> 28) < 14)
			(void)in((uint16_t)(0x40 + (seed >> 16) % 3), t);
		else if (poll(t, &next))
			assert_true(next == 0 || next > t);
	}
}

/* ---- the partition's PIT */

static void glue_pulses_irq0_and_tells_new_deadlines(void **state)
{
	uint64_t v = 0;

	(void)state;
	fake_tsc = at(10);
	vpit_port61_ops.write(&part, 0, 1, 0x01);
	assert_int_equal(deadlines_moved, 0); /* channel 2: no interrupt moved */
	vpit_ops.write(&part, 3, 1, 0x34);
	assert_int_equal(deadlines_moved, 1); /* channel 0 stopped: its interrupt is gone */
	vpit_ops.write(&part, 0, 1, 0xe8);
	assert_int_equal(deadlines_moved, 1);
	vpit_ops.write(&part, 0, 1, 0x03);
	assert_int_equal(deadlines_moved, 2);
	assert_int_equal(vpit_timer(&part, at(500)), at(1010));
	assert_int_equal(irq_raised, 0);
	assert_int_equal(vpit_timer(&part, at(1010)), at(2010));
	assert_int_equal(irq_raised, 1); /* a pulse: raised, then lowered */
	assert_int_equal(irq_lowered, 1);
	fake_tsc = at(1510);
	vpit_ops.write(&part, 3, 1, 0x00);
	vpit_ops.read(&part, 0, 2, &v); /* 0x40's latched LSB, then 0x41's live one */
	assert_int_equal(v, (uint64_t)((65536 - 2 * 1510) & 0xff) << 8 | (500 & 0xff));
	vpit_port61_ops.read(&part, 0, 1, &v);
	assert_int_equal(v & 0x0f, 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(reset_runs_channel_0_at_18_hz, reset),
		cmocka_unit_test_setup(mode0_interrupts_once_at_terminal_count, reset),
		cmocka_unit_test_setup(mode2_is_periodic_and_coalesces_missed_periods, reset),
		cmocka_unit_test_setup(fast_periods_are_limited_to_10_khz, reset),
		cmocka_unit_test_setup(mode3_square_wave_counts_by_two, reset),
		cmocka_unit_test_setup(mode4_strobes_once, reset),
		cmocka_unit_test_setup(gate_triggers_modes_1_and_5, reset),
		cmocka_unit_test_setup(gate_holds_mode0_and_restarts_mode2, reset),
		cmocka_unit_test_setup(linux_calibration_sees_out2_rise_on_time, reset),
		cmocka_unit_test_setup(linux_quick_calibration_reads_the_msb, reset),
		cmocka_unit_test_setup(latch_freezes_the_count_until_read, reset),
		cmocka_unit_test_setup(read_back_latches_status_then_count, reset),
		cmocka_unit_test_setup(access_modes_lsb_and_msb, reset),
		cmocka_unit_test_setup(bcd_counts_in_decimal, reset),
		cmocka_unit_test_setup(new_count_in_mode2_waits_for_the_period_end, reset),
		cmocka_unit_test_setup(new_count_in_mode3_waits_for_the_half_period, reset),
		cmocka_unit_test_setup(port61_bits, reset),
		cmocka_unit_test_setup(time_never_runs_back, reset),
		cmocka_unit_test_setup(hostile_writes_are_contained, reset),
		cmocka_unit_test_setup(glue_pulses_irq0_and_tells_new_deadlines, reset),
	};

	return cmocka_run_group_tests(tests, 0, 0);
}
