/* Scheduling policy on a simulated clock: shares, blocking, waking,
 * exclusive CPUs and affinity. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "sched.h"

#define MS 1000000ull
#define SECOND (1000 * MS)

static struct sched s;

/* Runs cpu for duration in slices, as its timer would cut them. */
static void run(unsigned cpu, uint64_t duration)
{
	uint64_t t;

	for (t = 0; t < duration; t += SCHED_SLICE_NS) {
		struct sched_entity *e = sched_pick(&s, cpu);
		if (e)
			sched_charge(e, SCHED_SLICE_NS);
	}
}

static struct sched_entity entity(uint32_t share, uint64_t affinity)
{
	return (struct sched_entity){ .share = share, .affinity = affinity, .runnable = 1 };
}

static void expect_split(uint32_t share_a, uint32_t share_b)
{
	struct sched_entity a = entity(share_a, 1), b = entity(share_b, 1);
	double want = (double)share_a / (share_a + share_b), got;

	sched_init(&s, 1);
	assert_null(sched_add(&s, &a));
	assert_null(sched_add(&s, &b));
	run(0, SECOND);
	got = (double)a.ran_ns / (a.ran_ns + b.ran_ns);
	if (got < want - 0.02 || got > want + 0.02)
		fail_msg("%u:%u gave %.3f of the CPU to the first, want %.3f +- 0.02", share_a, share_b, got, want);
	assert_int_equal(a.ran_ns + b.ran_ns, SECOND);
}

static void shares_are_honoured(void **state)
{
	(void)state;
	expect_split(1, 1);
	expect_split(2, 1);
	expect_split(3, 1);
	expect_split(100, 300);
	expect_split(10000, 1);
}

static void blocked_vcpus_use_no_time(void **state)
{
	struct sched_entity busy = entity(100, 1), idle = entity(100, 1);

	(void)state;
	sched_init(&s, 1);
	assert_null(sched_add(&s, &busy));
	assert_null(sched_add(&s, &idle));
	sched_block(&idle);
	run(0, SECOND);
	assert_int_equal(idle.ran_ns, 0);
	assert_int_equal(busy.ran_ns, SECOND); /* an idle neighbour costs nothing */
}

static void a_sleeper_banks_no_credit(void **state)
{
	struct sched_entity a = entity(100, 1), b = entity(100, 1);

	(void)state;
	sched_init(&s, 1);
	assert_null(sched_add(&s, &a));
	assert_null(sched_add(&s, &b));
	sched_block(&b);
	run(0, SECOND / 2);
	sched_wake(&s, &b);
	run(0, SECOND / 2);
	/* After waking, b shares equally: it does not take back the half second it slept. */
	assert_true(b.ran_ns >= SECOND / 4 - SCHED_SLICE_NS && b.ran_ns <= SECOND / 4 + SCHED_SLICE_NS);
}

static void nothing_runnable_means_idle(void **state)
{
	struct sched_entity a = entity(100, 1);

	(void)state;
	sched_init(&s, 1);
	assert_null(sched_pick(&s, 0));
	assert_null(sched_add(&s, &a));
	sched_block(&a);
	assert_null(sched_pick(&s, 0));
}

static void exclusive_cpus_are_never_sliced_nor_shared(void **state)
{
	struct sched_entity owner = entity(100, 2), other = entity(100, 0), pinned = entity(100, 2),
			    second = entity(100, 2);
	uint64_t t;

	(void)state;
	sched_init(&s, 3);
	owner.exclusive = 1;
	second.exclusive = 1;
	assert_null(sched_add(&s, &owner));
	assert_int_equal(owner.cpu, 1);
	assert_int_equal(sched_slice(&s, 1), 0);
	assert_int_equal(sched_slice(&s, 0), SCHED_SLICE_NS);
	assert_null(sched_add(&s, &other));
	assert_int_equal(other.cpu, 0); /* "any CPU" keeps off the owned one */
	assert_non_null(sched_add(&s, &pinned));
	assert_non_null(sched_add(&s, &second));
	for (t = 0; t < 100; t++)
		assert_ptr_equal(sched_pick(&s, 1), &owner);
	sched_remove(&s, &owner);
	assert_int_equal(sched_slice(&s, 1), SCHED_SLICE_NS);
	assert_null(sched_add(&s, &pinned)); /* free again once the owner left */
}

static void exclusive_needs_one_online_cpu(void **state)
{
	struct sched_entity two = entity(100, 3), offline = entity(100, 4);

	(void)state;
	sched_init(&s, 3);
	two.exclusive = offline.exclusive = 1;
	assert_non_null(sched_add(&s, &two));
	assert_non_null(sched_add(&s, &offline));
}

static void affinity_is_respected(void **state)
{
	struct sched_entity e[6];
	unsigned i;

	(void)state;
	sched_init(&s, 0xf);
	for (i = 0; i < 3; i++) {
		e[i] = entity(100, 1u << 2);
		assert_null(sched_add(&s, &e[i]));
		assert_int_equal(e[i].cpu, 2);
	}
	for (i = 3; i < 6; i++) {
		e[i] = entity(100, 0x3);
		assert_null(sched_add(&s, &e[i]));
		assert_true(e[i].cpu <= 1);
	}
	/* Spread over the least loaded of CPUs 0 and 1. */
	assert_true(s.cpu[0].load >= 1 && s.cpu[1].load >= 1);
	run(3, SECOND);
	for (i = 0; i < 6; i++)
		assert_int_equal(e[i].ran_ns, 0); /* CPU 3 may run none of them */
	run(2, SECOND);
	for (i = 0; i < 3; i++)
		assert_true(e[i].ran_ns > 0);
}

static void affinity_on_offline_cpus_is_refused(void **state)
{
	struct sched_entity e = entity(100, 1u << 5), zero = entity(0, 1);

	(void)state;
	sched_init(&s, 0x3);
	assert_non_null(sched_add(&s, &e));
	assert_non_null(sched_add(&s, &zero));
}

static void removed_entities_are_never_picked(void **state)
{
	struct sched_entity a = entity(100, 1), b = entity(100, 1);

	(void)state;
	sched_init(&s, 1);
	assert_null(sched_add(&s, &a));
	assert_null(sched_add(&s, &b));
	sched_remove(&s, &a);
	run(0, SECOND);
	assert_int_equal(a.ran_ns, 0);
	assert_int_equal(s.cpu[0].load, 1);
}

static void held_entities_wait_and_bank_no_credit(void **state)
{
	struct sched_entity a = entity(100, 1), b = entity(100, 1);

	(void)state;
	sched_init(&s, 1);
	assert_null(sched_add(&s, &a));
	assert_null(sched_add(&s, &b));
	sched_hold(&b);
	run(0, SECOND / 2);
	assert_int_equal(b.ran_ns, 0);
	assert_int_equal(a.ran_ns, SECOND / 2);
	sched_block(&b); /* a paused vCPU that was halted stays halted on resume */
	sched_release(&s, &b);
	assert_ptr_equal(sched_pick(&s, 0), &a);
	sched_wake(&s, &b);
	run(0, SECOND / 2);
	assert_true(b.ran_ns >= SECOND / 4 - SCHED_SLICE_NS && b.ran_ns <= SECOND / 4 + SCHED_SLICE_NS);
}

/*
 * A lost wake-up, hunted: one thread is a vCPU's CPU, taking an event and
 * halting (sched_block_unless()); the other, another CPU, raises the next
 * event and wakes it (sched_wake_if()) just then, round after round. A
 * wake-up lost in between leaves the vCPU blocked with its event there.
 */
#define RACE_ROUNDS 500000u
#define RACE_PATIENCE_NS 2000000000ull

static struct sched_entity racer;
static int race_event;          /* the vCPU's pending interrupt */
static unsigned race_round;     /* the round whose event the waker may raise */
static int race_lost;

static int race_event_came(struct sched_entity *e)
{
	(void)e;
	return __atomic_load_n(&race_event, __ATOMIC_ACQUIRE);
}

static uint64_t monotonic_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * SECOND + (uint64_t)t.tv_nsec;
}

/* The vCPU's CPU idles until its queue has the vCPU runnable again; 0 if that never comes. */
static int idle_until_picked(unsigned cpu)
{
	uint64_t give_up = monotonic_ns() + RACE_PATIENCE_NS;
	struct sched_entity *e;

	for (;;) {
		sched_lock_cpu(&s, cpu);
		e = sched_pick(&s, cpu);
		sched_unlock_cpu(&s, cpu);
		if (e)
			return 1;
		if (monotonic_ns() > give_up)
			return 0;
		__builtin_ia32_pause();
	}
}

static void *waker(void *arg)
{
	unsigned i;

	(void)arg;
	for (i = 1; i <= RACE_ROUNDS; i++) {
		while (__atomic_load_n(&race_round, __ATOMIC_ACQUIRE) < i && !__atomic_load_n(&race_lost, __ATOMIC_RELAXED))
			__builtin_ia32_pause();
		if (__atomic_load_n(&race_lost, __ATOMIC_RELAXED))
			break;
		__atomic_store_n(&race_event, 1, __ATOMIC_RELEASE);
		sched_wake_if(&s, &racer, race_event_came);
	}
	return 0;
}

static void wake_ups_race_halts_and_none_is_lost(void **state)
{
	pthread_t other;
	unsigned i;

	(void)state;
	racer = entity(100, 2);
	sched_init(&s, 3);
	assert_null(sched_add(&s, &racer));
	assert_int_equal(pthread_create(&other, 0, waker, 0), 0);
	for (i = 1; i <= RACE_ROUNDS && !race_lost; i++) {
		__atomic_store_n(&race_round, i, __ATOMIC_RELEASE); /* the waker raises event i now */
		sched_block_unless(&s, &racer, race_event_came);
		if (!idle_until_picked(racer.cpu))
			__atomic_store_n(&race_lost, 1, __ATOMIC_RELAXED);
		else
			while (!__atomic_exchange_n(&race_event, 0, __ATOMIC_ACQ_REL)) /* it runs: takes event i */
				__builtin_ia32_pause();
	}
	pthread_join(other, 0);
	if (race_lost)
		fail_msg("wake-up %u of %u lost: the vCPU sleeps with its interrupt pending", i - 1, RACE_ROUNDS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shares_are_honoured),
		cmocka_unit_test(blocked_vcpus_use_no_time),
		cmocka_unit_test(a_sleeper_banks_no_credit),
		cmocka_unit_test(nothing_runnable_means_idle),
		cmocka_unit_test(exclusive_cpus_are_never_sliced_nor_shared),
		cmocka_unit_test(exclusive_needs_one_online_cpu),
		cmocka_unit_test(affinity_is_respected),
		cmocka_unit_test(affinity_on_offline_cpus_is_refused),
		cmocka_unit_test(removed_entities_are_never_picked),
		cmocka_unit_test(held_entities_wait_and_bank_no_credit),
		cmocka_unit_test(wake_ups_race_halts_and_none_is_lost),
	};

	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
