/*
 * A partition's time across pauses (hv/part_clock.c): the guest's TSC and
 * the CPU's TSC offset, and the time left of timers armed in it (the
 * local APIC's and the PIT's models driven by partition time, as the
 * partition drives them) are the same at the resume as at the pause.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "part_clock.h"
#include "partition.h"
#include "vdev/clock.h"
#include "vdev/irq.h"
#include "vdev/pit.h"
#include "vdev/vlapic.h"

#define HZ 2500000000ull        /* the host's TSC rate */
#define MS (HZ / 1000)
#define BOOT 0x123456789abull   /* the host's TSC when the partition starts */
#define APIC_TICKS (HZ / VLAPIC_BUS_HZ) /* host ticks per APIC timer input clock */

static struct part_clock clock;

/* The PIT's partition glue, linked with its model, is not used here. */
uint64_t arch_tsc(void)
{
	fail();
	return 0;
}

void irq_set_isa(struct partition *p, unsigned irq, int level)
{
	(void)p, (void)irq, (void)level;
	fail();
}

void vdev_deadline_changed(struct partition *p)
{
	(void)p;
	fail();
}

static int started(void **state)
{
	(void)state;
	part_clock_start(&clock, BOOT);
	return 0;
}

/* What RDTSC in the guest reads at host TSC value host, as the CPU computes it. */
static uint64_t rdtsc_at(uint64_t host)
{
	return host + part_clock_tsc_offset(&clock);
}

/* Paused at host `from` for `ticks`, resumed. */
static void pause_for(uint64_t from, uint64_t ticks)
{
	part_clock_pause(&clock, from);
	assert_int_equal(part_clock_resume(&clock, from + ticks), ticks);
}

static void before_any_pause_it_is_the_host_tsc(void **state)
{
	(void)state;
	assert_int_equal(part_clock_now(&clock, BOOT + 7), BOOT + 7);
	assert_int_equal(part_clock_host(&clock, BOOT + 7), BOOT + 7);
	assert_int_equal(rdtsc_at(BOOT), 0);
	assert_int_equal(rdtsc_at(BOOT + 5 * MS), 5 * MS);
	assert_int_equal(part_clock_now(&clock, BOOT) + part_clock_guest_offset(&clock), 0);
}

static void the_guest_tsc_stands_still_while_paused_and_goes_on_without_a_jump(void **state)
{
	(void)state;
	part_clock_pause(&clock, BOOT + 100 * MS);
	assert_int_equal(part_clock_now(&clock, BOOT + 100 * MS), BOOT + 100 * MS);
	assert_int_equal(part_clock_now(&clock, BOOT + 9000 * MS), BOOT + 100 * MS);
	assert_int_equal(part_clock_resume(&clock, BOOT + 5100 * MS), 5000 * MS);
	/* The CPU's offset moved back by the 5 s paused: RDTSC reads 100 ms at the resume, 101 ms 1 ms later. */
	assert_int_equal(part_clock_tsc_offset(&clock), 0 - BOOT - 5000 * MS);
	assert_int_equal(rdtsc_at(BOOT + 5100 * MS), 100 * MS);
	assert_int_equal(rdtsc_at(BOOT + 5101 * MS), 101 * MS);
	/* Partition time and the guest's TSC agree. */
	assert_int_equal(part_clock_now(&clock, BOOT + 5101 * MS) + part_clock_guest_offset(&clock), 101 * MS);
}

static void pauses_add_up(void **state)
{
	(void)state;
	pause_for(BOOT + 10 * MS, 1000 * MS);
	pause_for(BOOT + 2000 * MS, 3000 * MS);
	assert_int_equal(rdtsc_at(BOOT + 6000 * MS), 2000 * MS);
	assert_int_equal(part_clock_now(&clock, BOOT + 6000 * MS), BOOT + 2000 * MS);
}

/* A vCPU that ran on after the pause came: its last TSC value never comes again after the resume. */
static void a_vcpu_running_after_the_pause_moves_its_stop(void **state)
{
	uint64_t last_read;

	(void)state;
	part_clock_pause(&clock, BOOT + 100 * MS);
	last_read = rdtsc_at(BOOT + 100 * MS + 20);
	part_clock_ran_until(&clock, BOOT + 100 * MS + 30);
	part_clock_ran_until(&clock, BOOT + 100 * MS + 10); /* another CPU, stopped earlier: no step back */
	assert_int_equal(part_clock_resume(&clock, BOOT + 200 * MS), 100 * MS - 30);
	assert_true(rdtsc_at(BOOT + 200 * MS) > last_read);
	/* Once running, the mark means nothing. */
	part_clock_ran_until(&clock, BOOT + 300 * MS);
	assert_int_equal(rdtsc_at(BOOT + 300 * MS), 200 * MS + 30);
}

/* A resume read on a CPU whose TSC is behind the pausing CPU's: no negative pause. */
static void resume_before_the_pause_on_a_skewed_tsc(void **state)
{
	(void)state;
	part_clock_pause(&clock, BOOT + 1000);
	assert_int_equal(part_clock_resume(&clock, BOOT + 900), 0);
	assert_int_equal(part_clock_tsc_offset(&clock), 0 - BOOT);
}

static void pause_twice_resume_twice(void **state)
{
	(void)state;
	assert_int_equal(part_clock_resume(&clock, BOOT + 50), 0); /* not paused */
	part_clock_pause(&clock, BOOT + 100);
	part_clock_pause(&clock, BOOT + 400); /* paused already: the first stop stays */
	assert_int_equal(part_clock_resume(&clock, BOOT + 1100), 1000);
	assert_int_equal(part_clock_resume(&clock, BOOT + 5000), 0);
	assert_int_equal(rdtsc_at(BOOT + 5000), 4000);
}

/* Nothing comes due while paused; a deadline's host time moves by the pause. */
static void deadlines_in_host_time(void **state)
{
	(void)state;
	assert_int_equal(part_clock_host(&clock, 0), 0);
	part_clock_pause(&clock, BOOT + MS);
	assert_int_equal(part_clock_host(&clock, BOOT + 2 * MS), 0);
	part_clock_resume(&clock, BOOT + 11 * MS);
	assert_int_equal(part_clock_host(&clock, BOOT + 2 * MS), BOOT + 12 * MS);
}

/* Starting again forgets the last run's pauses. */
static void a_start_begins_afresh(void **state)
{
	(void)state;
	pause_for(BOOT + MS, 50 * MS);
	part_clock_pause(&clock, BOOT + 80 * MS);
	part_clock_start(&clock, BOOT + 90 * MS);
	assert_int_equal(part_clock_now(&clock, BOOT + 95 * MS), BOOT + 95 * MS);
	assert_int_equal(rdtsc_at(BOOT + 95 * MS), 5 * MS);
}

/* Uptime, as the console shows it: the time run since the start, the pauses left out. */
static void uptime_stands_still_while_paused(void **state)
{
	(void)state;
	assert_int_equal(part_clock_uptime(&clock, BOOT), 0);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 100 * MS), 100 * MS);
	part_clock_pause(&clock, BOOT + 100 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 4000 * MS), 100 * MS);
	part_clock_resume(&clock, BOOT + 5100 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 5100 * MS), 100 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 5350 * MS), 350 * MS);
	pause_for(BOOT + 6000 * MS, 2000 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 9000 * MS), 2000 * MS);
}

/* A restart's uptime counts from its own start; a CPU whose TSC is behind the starting one's reads 0. */
static void uptime_after_a_restart_and_on_a_skewed_tsc(void **state)
{
	(void)state;
	pause_for(BOOT + MS, 50 * MS);
	part_clock_pause(&clock, BOOT + 80 * MS); /* stopped while paused */
	part_clock_start(&clock, BOOT + 90 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 95 * MS), 5 * MS);
	assert_int_equal(part_clock_uptime(&clock, BOOT + 89 * MS), 0);
}

/* ---- timers armed in partition time ------------------------------------ */

/* A one-shot APIC timer 5 ms from firing at the pause is 5 ms from firing at the resume. */
static void apic_timer_keeps_its_time_left_across_a_pause(void **state)
{
	static struct vlapic apic;
	struct vlapic_effects fx = { .eoi_vector = -1 };
	uint64_t host = BOOT + MS, count, deadline;

	(void)state;
	vlapic_reset(&apic, 0, HZ);
	assert_int_equal(vlapic_write(&apic, APIC_SVR, 0, host, 0x1ff, &fx), 0);
	assert_int_equal(vlapic_write(&apic, APIC_TIMER_DIVIDE, 0, host, 0xb, &fx), 0); /* by 1 */
	assert_int_equal(vlapic_write(&apic, APIC_LVT_TIMER, 0, host, 0x40, &fx), 0);
	assert_int_equal(vlapic_write(&apic, APIC_TIMER_INITIAL, 0, part_clock_now(&clock, host), 10 * MS / APIC_TICKS,
				      &fx), 0);
	host += 5 * MS;
	part_clock_pause(&clock, host);
	assert_int_equal(vlapic_read(&apic, APIC_TIMER_CURRENT, 0, part_clock_now(&clock, host), &count), 0);
	host += 60000 * MS; /* a minute paused: its time does not move */
	assert_int_equal(vlapic_read(&apic, APIC_TIMER_CURRENT, 0, part_clock_now(&clock, host), &count), 0);
	assert_int_equal(count, 5 * MS / APIC_TICKS);
	part_clock_resume(&clock, host);
	deadline = part_clock_host(&clock, vlapic_timer_poll(&apic, part_clock_now(&clock, host)));
	assert_int_equal(deadline - host, 5 * MS);
	assert_int_equal(apic.irr_words, 0); /* not fired by the minute paused */
}

/* The TSC-deadline timer, armed in the guest's TSC: at the resume it is as far as at the pause. */
static void tsc_deadline_keeps_its_time_left_across_a_pause(void **state)
{
	static struct vlapic apic;
	struct vlapic_effects fx = { .eoi_vector = -1 };
	uint64_t host = BOOT + 3 * MS;

	(void)state;
	vlapic_reset(&apic, 0, HZ);
	assert_int_equal(vlapic_write(&apic, APIC_SVR, 0, host, 0x1ff, &fx), 0);
	assert_int_equal(vlapic_write(&apic, APIC_LVT_TIMER, 0, host, 0x40 | (2u << 17), &fx), 0);
	pause_for(host - 2 * MS, 7 * MS); /* a pause before: the guest's TSC is 7 ms behind the host's */
	host += 7 * MS;
	vlapic_set_tsc_deadline(&apic, rdtsc_at(host) + 5 * MS, part_clock_now(&clock, host),
				part_clock_guest_offset(&clock), &fx);
	host += 2 * MS;
	pause_for(host, 30000 * MS);
	host += 30000 * MS;
	assert_int_equal(part_clock_host(&clock, vlapic_timer_poll(&apic, part_clock_now(&clock, host))) - host,
			 3 * MS);
}

/* The PIT's channel 0 (mode 2, 1000 clocks a period) goes on at its phase, with no burst at the resume. */
static void pit_period_keeps_its_phase_across_a_pause(void **state)
{
	static struct vpit pit;
	uint64_t host = BOOT, next, before, after;
	const uint64_t pit_hz = VPIT_HZ * 1000ull; /* a TSC of 1000 ticks per PIT clock */

	(void)state;
	part_clock_start(&clock, host);
	vpit_reset(&pit, pit_hz, part_clock_now(&clock, host));
	vpit_write(&pit, 0x43, 0x34, part_clock_now(&clock, host)); /* channel 0, lobyte/hibyte, mode 2 */
	vpit_write(&pit, 0x40, 0xe8, part_clock_now(&clock, host));
	vpit_write(&pit, 0x40, 0x03, part_clock_now(&clock, host)); /* 1000 */
	vpit_poll(&pit, part_clock_now(&clock, host), &next);
	host = next + 400 * 1000; /* 400 clocks into a period */
	assert_int_equal(vpit_poll(&pit, part_clock_now(&clock, host), &before), 1);
	part_clock_pause(&clock, host);
	host += 3 * pit_hz; /* three seconds: 3579 periods */
	assert_int_equal(vpit_poll(&pit, part_clock_now(&clock, host), &after), 0);
	part_clock_resume(&clock, host);
	assert_int_equal(vpit_poll(&pit, part_clock_now(&clock, host), &after), 0);
	assert_int_equal(part_clock_host(&clock, after) - host, 600 * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(before_any_pause_it_is_the_host_tsc, started),
		cmocka_unit_test_setup(the_guest_tsc_stands_still_while_paused_and_goes_on_without_a_jump, started),
		cmocka_unit_test_setup(pauses_add_up, started),
		cmocka_unit_test_setup(a_vcpu_running_after_the_pause_moves_its_stop, started),
		cmocka_unit_test_setup(resume_before_the_pause_on_a_skewed_tsc, started),
		cmocka_unit_test_setup(pause_twice_resume_twice, started),
		cmocka_unit_test_setup(deadlines_in_host_time, started),
		cmocka_unit_test_setup(a_start_begins_afresh, started),
		cmocka_unit_test_setup(uptime_stands_still_while_paused, started),
		cmocka_unit_test_setup(uptime_after_a_restart_and_on_a_skewed_tsc, started),
		cmocka_unit_test_setup(apic_timer_keeps_its_time_left_across_a_pause, started),
		cmocka_unit_test_setup(tsc_deadline_keeps_its_time_left_across_a_pause, started),
		cmocka_unit_test_setup(pit_period_keeps_its_phase_across_a_pause, started),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
