/*
 * The run-time scheduler (hv/scheduler.c) with the real per-CPU queues
 * (hv/sched.c), local APICs (hv/vdev/vlapic.c) and their HLT, timer and
 * injection paths (hv/vcpu_irq.c), on CPUs that are host threads: each
 * runs scheduler_main(). What it needs of the hardware is modelled here:
 * a CPU's pending interrupt (a kick, or its timer past its deadline) ends
 * the guest's run or its idle wait, as an IPI or the LAPIC timer would,
 * and stays pending until the CPU takes it. The model is stricter than
 * the LAPIC in one way: a timer re-armed before the CPU took its interrupt
 * loses it, so the deadline the scheduler arms must cover every sleeper.
 * The guests (see enum play) are the bench's APIC-timer loop (make bench:
 * arm a one-shot count, HLT until its interrupt came), with or without
 * IPIs from another CPU, and a ping-pong of IPIs across CPUs. A lost timer
 * interrupt or wake-up leaves a vCPU halted for good: its rounds stop.
 * (That a wake-up racing a HLT is not lost is hunted in test_sched.c.)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "partition.h"
#include "scheduler.h"
#include "vcpu_irq.h"
#include "vdev/clock.h"

#define NCPUS 3
#define LOOPERS 4        /* APIC-timer loops: vCPUs 1-4, two on each of CPUs 1 and 2 */
#define ROUNDS 3000u     /* timer rounds each looper must finish */
#define PATIENCE_NS 20000000000ull
#define TIMER_VECTOR 0x40
#define IPI_VECTOR 0x50
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_ICR 0x830
#define MSR_X2APIC_TIMER_INITIAL 0x838

/* ---- the machine: each CPU's pending interrupt, timer and thread ---------- */

struct cpu_model {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int kicked;            /* an IPI is pending */
	uint64_t deadline;     /* the LAPIC timer's TSC deadline, 0: disarmed */
	jmp_buf leave;         /* out of scheduler_main() when the test ends */
	pthread_t thread;
};

static struct cpu_model cpus[NCPUS];

/* On the CPU threads, where cmocka's assertions cannot be used: what cannot happen ends the test. */
static void must(int ok, const char *what)
{
	if (ok)
		return;
	print_error("test_scheduler: %s\n", what);
	abort();
}
static __thread unsigned this_cpu = NCPUS; /* the test's own thread is no CPU */
static int ending;

uint64_t arch_tsc(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

uint64_t arch_tsc_hz(void)
{
	return 1000000000ull;
}

unsigned arch_cpu_index(void)
{
	return this_cpu;
}

unsigned arch_phys_addr_bits(void)
{
	return 46;
}

void arch_kick(unsigned index)
{
	struct cpu_model *c = &cpus[index];

	if (index == this_cpu)
		return;
	pthread_mutex_lock(&c->lock);
	c->kicked = 1;
	pthread_cond_signal(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

void arch_timer_arm(uint64_t deadline)
{
	struct cpu_model *c = &cpus[this_cpu];

	pthread_mutex_lock(&c->lock);
	c->deadline = deadline;
	pthread_mutex_unlock(&c->lock);
}

/* With c's lock held: takes what is pending (the timer is one-shot); 1 if anything was. */
static int take_pending(struct cpu_model *c)
{
	int fired = c->deadline && arch_tsc() >= c->deadline, any = c->kicked || fired;

	c->kicked = 0;
	if (fired)
		c->deadline = 0;
	return any;
}

static int interrupt_came(void)
{
	struct cpu_model *c = &cpus[this_cpu];
	int came;

	pthread_mutex_lock(&c->lock);
	came = take_pending(c);
	pthread_mutex_unlock(&c->lock);
	return came;
}

void arch_take_interrupts(void)
{
	interrupt_came();
}

static void leave_if_ending(void)
{
	if (__atomic_load_n(&ending, __ATOMIC_ACQUIRE))
		longjmp(cpus[this_cpu].leave, 1);
}

/*
 * STI; HLT: until an interrupt is pending. The pending flags decide; the
 * condition variable only saves spinning, so each wait is at most 1 ms.
 */
void arch_wait_for_interrupt(void)
{
	struct cpu_model *c = &cpus[this_cpu];

	pthread_mutex_lock(&c->lock);
	while (!take_pending(c) && !__atomic_load_n(&ending, __ATOMIC_ACQUIRE)) {
		uint64_t soon = arch_tsc() + 1000000ull, until = c->deadline && c->deadline < soon ? c->deadline : soon;
		struct timespec t = { (time_t)(until / 1000000000ull), (long)(until % 1000000000ull) };
		pthread_cond_timedwait(&c->changed, &c->lock, &t);
	}
	pthread_mutex_unlock(&c->lock);
	leave_if_ending();
}

void arch_guest_fpu_switch(void *save, const void *load)
{
	(void)save;
	(void)load;
}

void arch_guest_switch_to(const struct vcpu *v)
{
	(void)v;
}

/* ---- the rest of the hypervisor, as far as these guests reach ------------ */

static struct cfg_partition cfg = { .vcpus = 1 + LOOPERS };
static struct partition part = { .cfg = &cfg };

enum blk_poll blk_poll_all(void)
{
	return BLK_POLL_IDLE;
}

uint64_t vdev_poll_timers(struct partition *p, uint64_t now)
{
	(void)p;
	(void)now;
	return 0;
}

int partition_vcpu_create(struct vcpu *v)
{
	v->arch = v;
	return 0;
}

void partition_vcpu_retire(struct vcpu *v)
{
	(void)v;
	must(0, "a vCPU retired: no partition stops here");
}

void partition_vcpu_init_reset(struct vcpu *v)
{
	(void)v;
	must(0, "a vCPU reset by INIT: nobody sends one here");
}

void partition_init_signal(struct vcpu *v)
{
	partition_vcpu_init_reset(v);
}

void partition_startup_signal(struct vcpu *v, uint8_t vector)
{
	(void)vector;
	partition_vcpu_init_reset(v);
}

void partition_log_guest(struct partition *p, enum log_level level, const char *f, ...)
{
	(void)p;
	(void)level;
	must(0, f); /* these guests do nothing worth a log line */
}

void irq_eoi(struct partition *p, uint8_t vector)
{
	(void)p;
	(void)vector;
}

int pic_output(struct partition *p)
{
	(void)p;
	return 0;
}

int pic_intack(struct partition *p)
{
	(void)p;
	return -1;
}

/* ---- the guests ------------------------------------------------------------ */

/*
 * What the vCPUs run: vCPUs 1-4 the bench's APIC-timer loop (one-tick
 * counts only, or every other round a count of up to 2048, 41 us, that
 * HLT sleeps through), vCPU 0 halted for good or sending them IPIs
 * meanwhile; or a ping-pong of IPIs, vCPU 0 pinging each of the others in
 * turn and halting until its reply, each halting until its ping.
 */
enum play { ONE_TICK_TIMERS, TIMED_SLEEPS, TIMED_SLEEPS_AND_IPIS, PING_PONG };

struct guest {
	int event;              /* the vector injected at the next entry, -1: none */
	int waiting;            /* for its round's interrupt: it halts until it comes */
	unsigned rounds;        /* timer rounds done (vCPUs 1-4), or replies (vCPU 0, PING_PONG) */
	unsigned ipis, pings_due, next_to;
	unsigned seed;          /* of its initial counts */
};

static enum play play;
static struct guest guests[1 + LOOPERS];

static struct guest *guest_of(const struct vcpu *v)
{
	return &guests[v - part.vcpus];
}

static void wrmsr_exit(struct vcpu *v, uint32_t msr, uint64_t value, struct vcpu_exit *e)
{
	must(vcpu_apic_msr(v, 1, msr, &value) == 0, "an x2APIC register write refused");
	e->reason = EXIT_MSR_WRITE;
	e->u.msr = msr;
}

static void round_done(struct guest *g)
{
	__atomic_add_fetch(&g->rounds, 1, __ATOMIC_RELAXED);
	g->waiting = 0;
}

/* The handler of the interrupt delivered at entry: it ends a round or asks for a reply; its EOI exits. */
static void take_event(struct vcpu *v, struct guest *g, struct vcpu_exit *e)
{
	if (g->event == TIMER_VECTOR && g->waiting)
		round_done(g);
	if (g->event == IPI_VECTOR) {
		g->ipis++;
		if (play == PING_PONG && v->id == 0)
			round_done(g);
		else if (play == PING_PONG)
			g->pings_due++;
	}
	g->event = -1;
	wrmsr_exit(v, MSR_X2APIC_EOI, 0, e);
}

static void send_ipi(struct vcpu *v, unsigned to, struct vcpu_exit *e)
{
	wrmsr_exit(v, MSR_X2APIC_ICR, (uint64_t)to << 32 | IPI_VECTOR, e);
}

static uint64_t next_count(struct guest *g)
{
	return play == ONE_TICK_TIMERS || g->rounds % 2 ? 1 : 1 + (uint64_t)(rand_r(&g->seed) % 2048);
}

/* STI; HLT until the round's interrupt comes; armed first in the timer plays. */
static void round_step(struct vcpu *v, struct guest *g, struct vcpu_exit *e)
{
	if (g->waiting) {
		e->reason = EXIT_HLT;
		return;
	}
	g->waiting = 1;
	if (play != PING_PONG)
		wrmsr_exit(v, MSR_X2APIC_TIMER_INITIAL, next_count(g), e);
	else
		send_ipi(v, 1 + g->next_to++ % LOOPERS, e);
}

static void ponger_step(struct vcpu *v, struct guest *g, struct vcpu_exit *e)
{
	if (!g->pings_due) {
		e->reason = EXIT_HLT;
		return;
	}
	g->pings_due--;
	send_ipi(v, 0, e);
}

/* vCPU 0 in the timer plays: an IPI to each looper in turn, a few per round of theirs; or halted for good. */
static void sender_step(struct vcpu *v, struct guest *g, struct vcpu_exit *e)
{
	struct timespec pause = { 0, 10000 };

	if (play != TIMED_SLEEPS_AND_IPIS) {
		e->reason = EXIT_HLT;
		return;
	}
	nanosleep(&pause, 0);
	send_ipi(v, 1 + g->next_to++ % LOOPERS, e);
}

static void guest_exit(struct vcpu *v, struct vcpu_exit *e)
{
	struct guest *g = guest_of(v);

	leave_if_ending();
	if (interrupt_came())
		e->reason = EXIT_INTERRUPT;
	else if (g->event >= 0)
		take_event(v, g, e);
	else if (v->id && play != PING_PONG)
		round_step(v, g, e);
	else if (v->id)
		ponger_step(v, g, e);
	else if (play == PING_PONG)
		round_step(v, g, e);
	else
		sender_step(v, g, e);
}

/*
 * As VT-x's run() does: an x2APIC write (an instruction exit, handled
 * where it happened) goes on through scheduler_exit_done(), whose look
 * is skipped unless the vCPU's attention was asked for; the plays' timers,
 * IPIs and EOIs go through that fast path too.
 */
static void guest_run(struct vcpu *v, struct vcpu_exit *e)
{
	do
		guest_exit(v, e);
	while (e->reason == EXIT_MSR_WRITE && scheduler_exit_done(v, e));
}

/* What vcpu_handle_exit() does for these exits: HLT with interrupts on sleeps unless one is there (exits.c). */
int vcpu_handle_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	return e->reason == EXIT_HLT ? scheduler_block(v) : 0;
}

static void guest_inject(struct vcpu *v, enum event_kind kind, uint8_t vector, int has_error, uint32_t error)
{
	(void)kind;
	(void)has_error;
	(void)error;
	guest_of(v)->event = vector;
}

/* RFLAGS.IF is set wherever these guests run: only an event not yet delivered holds the next back. */
static int guest_can_inject(struct vcpu *v, enum event_kind kind)
{
	(void)kind;
	return guest_of(v)->event < 0;
}

static void guest_interrupt_window(struct vcpu *v, unsigned priority_class)
{
	(void)v;
	(void)priority_class;
}

/*
 * Only on v's CPU: VT-x reads a register through v's VMCS, which VMPTRLD
 * makes current on the reading CPU while it stays active on v's own (a
 * VMCS active on two CPUs at once is corrupted, Intel SDM Vol. 3C, 25.1).
 */
static uint64_t guest_get_reg(struct vcpu *v, enum vcpu_reg r)
{
	must(this_cpu == v->se.cpu, "a vCPU's register read on another CPU than its own");
	return r == REG_CR8 ? v->apic.tpr >> 4 : 0;
}

static void guest_set_reg(struct vcpu *v, enum vcpu_reg r, uint64_t value)
{
	(void)v;
	(void)r;
	(void)value;
}

static int no_slice_timer(void)
{
	return 0; /* AMD-V's case: the host timer ends the slices */
}

/* Running, registers, events: what the scheduler and vcpu_irq.c call. */
static const struct vcpu_ops guest_ops = {
	.run = guest_run, .has_slice_timer = no_slice_timer,
	.get_reg = guest_get_reg, .set_reg = guest_set_reg,
	.inject = guest_inject, .can_inject = guest_can_inject, .interrupt_window = guest_interrupt_window,
};

/* ---- the test ---------------------------------------------------------------- */

static void *cpu_main(void *arg)
{
	this_cpu = (unsigned)(uintptr_t)arg;
	if (!setjmp(cpus[this_cpu].leave))
		scheduler_main();
	return 0;
}

/* vCPU i on its CPU, its APIC in x2APIC mode, software-enabled, its timer one-shot at TIMER_VECTOR (set up from no CPU). */
static void add_vcpu(unsigned i, unsigned cpu)
{
	struct vcpu *v = &part.vcpus[i];
	struct vlapic_effects fx;

	*v = (struct vcpu){ .part = &part, .ops = &guest_ops, .id = i, .wake_vector = -1 };
	v->se = (struct sched_entity){ .share = 100, .affinity = 1ull << cpu, .runnable = 1 };
	vcpu_irq_reset(v);
	assert_int_equal(vlapic_set_base(&v->apic, v->apic.base | APIC_BASE_X2APIC, arch_phys_addr_bits()), 0);
	assert_int_equal(vlapic_write(&v->apic, APIC_SVR, 1, 0, 0x1ff, &fx), 0);
	assert_int_equal(vlapic_write(&v->apic, APIC_LVT_TIMER, 1, 0, TIMER_VECTOR, &fx), 0);
	guests[i] = (struct guest){ .event = -1, .seed = i };
	scheduler_lock();
	assert_null(scheduler_add(v));
	scheduler_unlock();
}

/* Of the vCPUs whose rounds count in this play. */
static unsigned fewest_rounds(void)
{
	unsigned i, least = ~0u;

	if (play == PING_PONG)
		return __atomic_load_n(&guests[0].rounds, __ATOMIC_RELAXED) / LOOPERS;
	for (i = 1; i <= LOOPERS; i++) {
		unsigned r = __atomic_load_n(&guests[i].rounds, __ATOMIC_RELAXED);
		least = r < least ? r : least;
	}
	return least;
}

static void say_who_is_stuck(void)
{
	unsigned i;

	for (i = 0; i <= LOOPERS; i++) {
		const struct vcpu *v = &part.vcpus[i];
		print_message("vCPU %u on CPU %u: %u rounds, %u IPIs, %s, IRR %08x ISR %08x (vectors 0x40-0x5f), "
			      "timer deadline %llu, its CPU's timer %llu, now %llu\n", i, v->se.cpu, guests[i].rounds,
			      guests[i].ipis, v->se.runnable ? "runnable" : "halted", v->apic.irr[TIMER_VECTOR / 32],
			      v->apic.isr[TIMER_VECTOR / 32], (unsigned long long)v->apic.deadline,
			      (unsigned long long)cpus[v->se.cpu].deadline, (unsigned long long)arch_tsc());
	}
}

/* Its condition variable waits until a TSC deadline: on CLOCK_MONOTONIC, as arch_tsc() counts. */
static void start_cpu_model(struct cpu_model *c)
{
	pthread_condattr_t monotonic;

	*c = (struct cpu_model){ .lock = PTHREAD_MUTEX_INITIALIZER };
	assert_int_equal(pthread_condattr_init(&monotonic), 0);
	assert_int_equal(pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC), 0);
	assert_int_equal(pthread_cond_init(&c->changed, &monotonic), 0);
	pthread_condattr_destroy(&monotonic);
}

/* Runs the play until each vCPU that counts finished ROUNDS rounds, or fails naming the one halted for good. */
static void run_machine(enum play what)
{
	uint64_t give_up = arch_tsc() + PATIENCE_NS;
	unsigned i, cpu;

	memset(&part, 0, sizeof(part));
	part.cfg = &cfg;
	part.state = PART_RUNNING;
	ending = 0;
	play = what;
	scheduler_init(NCPUS, 0);
	for (cpu = 0; cpu < NCPUS; cpu++)
		start_cpu_model(&cpus[cpu]);
	for (i = 0; i <= LOOPERS; i++)
		add_vcpu(i, i ? 1 + (i - 1) % (NCPUS - 1) : 0);
	for (cpu = 0; cpu < NCPUS; cpu++)
		assert_int_equal(pthread_create(&cpus[cpu].thread, 0, cpu_main, (void *)(uintptr_t)cpu), 0);
	while (fewest_rounds() < ROUNDS && arch_tsc() < give_up) {
		struct timespec t = { 0, 1000000 };
		nanosleep(&t, 0);
	}
	__atomic_store_n(&ending, 1, __ATOMIC_RELEASE);
	for (cpu = 0; cpu < NCPUS; cpu++) {
		arch_kick(cpu);
		pthread_join(cpus[cpu].thread, 0);
	}
	if (fewest_rounds() < ROUNDS) {
		say_who_is_stuck();
		fail_msg("a vCPU stayed halted: a timer interrupt or a wake-up was lost");
	}
}

/* The bench's apic_timer loop: each interrupt is due by the next look at the queue. */
static void one_tick_timers_two_vcpus_a_cpu(void **state)
{
	(void)state;
	run_machine(ONE_TICK_TIMERS);
}

/* Sleepers wake at their deadline: the CPU's timer is armed for the earliest of its queue. */
static void timed_sleeps_two_vcpus_a_cpu(void **state)
{
	(void)state;
	run_machine(TIMED_SLEEPS);
}

/* Wake-ups from another CPU, early and late, do not lose a sleeper's deadline. */
static void timed_sleeps_with_ipis_from_another_cpu(void **state)
{
	(void)state;
	run_machine(TIMED_SLEEPS_AND_IPIS);
	assert_true(guests[1].ipis > 0 && guests[LOOPERS].ipis > 0);
}

/* Only a cross-CPU wake-up ends each HLT: a lost one halts both sides for good. */
static void ipi_ping_pong_across_cpus(void **state)
{
	(void)state;
	run_machine(PING_PONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_tick_timers_two_vcpus_a_cpu),
		cmocka_unit_test(timed_sleeps_two_vcpus_a_cpu),
		cmocka_unit_test(timed_sleeps_with_ipis_from_another_cpu),
		cmocka_unit_test(ipi_ping_pong_across_cpus),
	};

	return cmocka_run_group_tests_name("scheduler", tests, NULL, NULL);
}
