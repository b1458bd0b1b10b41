#include "scheduler.h"

#include <stddef.h>

#include "arch.h"
#include "blk.h"
#include "mm.h"
#include "partition.h"
#include "sched.h"
#include "vcpu_irq.h"
#include "vdev/clock.h"

#define NS_PER_S 1000000000ull
#define POLL_NS 10000000ull /* CPU 0 looks at the console at least this often */
#define DISK_POLL_NS 1000000ull /* each CPU polls the host disks this often while requests are out */
#define DISK_WATCH_NS 20000000ull /* and this often when only interrupt-driven disks have requests out */
/*
 * A vCPU alone on its CPU (exclusive) has no time slice, yet leaves its
 * guest at least this often: its time is charged at each return, and a
 * stop or pause takes effect even if the kick's interrupt never makes it
 * exit. Bochs (VT-x) enters a guest whose RFLAGS.IF is 0 from a host whose
 * IF is 0 with external interrupts held back, though external-interrupt
 * exiting is on (SDM Vol. 3C, 25.6.1: they exit whatever RFLAGS.IF says),
 * so a guest spinning with IF = 0 was never stopped there. Ten exits a
 * second cost such a guest nothing it could measure.
 */
#define OWNER_RUN_NS 100000000ull

static struct sched sched; /* its per-CPU locks: sched.h */
static void (*poll_cpu0)(void);
static uint64_t slice_ticks, owner_run_ticks, poll_ticks, disk_poll_ticks, disk_watch_ticks;
static struct vcpu *fpu_owner[SCHED_CPUS_MAX]; /* whose extended state each CPU holds */
volatile int scheduler_look_again[SCHED_CPUS_MAX];
static uint64_t idle_ticks[SCHED_CPUS_MAX]; /* each CPU's, for the console's 'cpus' */
static uint64_t start_tsc;

static struct vcpu *vcpu_of(struct sched_entity *e)
{
	return (struct vcpu *)(void *)((char *)e - offsetof(struct vcpu, se));
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	uint64_t hz = arch_tsc_hz();

	return ticks / hz * NS_PER_S + ticks % hz * NS_PER_S / hz;
}

/* The earlier of two deadlines, 0 meaning none. */
static uint64_t earliest(uint64_t a, uint64_t b)
{
	return !a ? b : !b ? a : a < b ? a : b;
}

void scheduler_init(unsigned ncpus, void (*cpu0_poll)(void))
{
	sched_init(&sched, ncpus >= SCHED_CPUS_MAX ? ~0ull : (1ull << ncpus) - 1);
	poll_cpu0 = cpu0_poll;
	start_tsc = arch_tsc();
	slice_ticks = arch_tsc_hz() / (NS_PER_S / SCHED_SLICE_NS);
	owner_run_ticks = arch_tsc_hz() / (NS_PER_S / OWNER_RUN_NS);
	poll_ticks = arch_tsc_hz() / (NS_PER_S / POLL_NS);
	disk_poll_ticks = arch_tsc_hz() / (NS_PER_S / DISK_POLL_NS);
	disk_watch_ticks = arch_tsc_hz() / (NS_PER_S / DISK_WATCH_NS);
}

void scheduler_lock(void)
{
	sched_lock_all(&sched);
}

void scheduler_unlock(void)
{
	sched_unlock_all(&sched);
}

const char *scheduler_add(struct vcpu *v)
{
	const char *why = sched_add(&sched, &v->se);

	if (why)
		return why;
	v->started = 1;
	scheduler_kick(v);
	return 0;
}

void scheduler_hold(struct vcpu *v, int hold)
{
	if (hold)
		sched_hold(&v->se);
	else
		sched_release(&sched, &v->se);
	scheduler_kick(v);
}

void scheduler_kick(struct vcpu *v)
{
	v->attention = 1;
	if (v->se.cpu == arch_cpu_index())
		scheduler_look_again[v->se.cpu] = 1; /* no IPI to itself: the slice it runs ends at the next exit */
	else
		arch_kick(v->se.cpu);
}

static int irq_pending(struct sched_entity *e)
{
	return vcpu_irq_pending(vcpu_of(e));
}

/* From any CPU, for a sleeper: sched_wake_if() asks only of entities that are not runnable. */
static int started_with_irq(struct sched_entity *e)
{
	return vcpu_of(e)->started && vcpu_irq_wakes_sleeper(vcpu_of(e));
}

/* The check for an interrupt and the block are one step under the lock of v's queue, which scheduler_wake() takes too. */
int scheduler_block(struct vcpu *v)
{
	return sched_block_unless(&sched, &v->se, irq_pending);
}

/* The kick's IPI follows the unlock: arch_kick() orders the queue's stores before it (lapic.c). */
void scheduler_wake(struct vcpu *v)
{
	sched_wake_if(&sched, &v->se, started_with_irq);
	scheduler_kick(v);
}

/* The partitions whose vCPU 0 is queued on a CPU have their device timers run there. */
static int runs_devices(const struct vcpu *v)
{
	return v->id == 0 && v->part->state == PART_RUNNING;
}

/*
 * The device timers of this CPU's partitions that are due, or that a
 * guest moved, run: outside the lock, as the lines they raise may wake
 * vCPUs (scheduler_wake() takes it). Each runs in its partition's time.
 */
static void run_device_timers(unsigned cpu, uint64_t now)
{
	struct partition *due[SCHED_CPUS_MAX];
	struct sched_entity *e;
	unsigned n = 0, i;

	sched_lock_cpu(&sched, cpu);
	for (e = sched.cpu[cpu].queue; e && n < SCHED_CPUS_MAX; e = e->next) {
		struct partition *p = vcpu_of(e)->part;
		uint64_t due_at = part_clock_host(&p->clock, p->device_deadline);
		if (runs_devices(vcpu_of(e)) && (p->device_moved || (due_at && due_at <= now)))
			due[n++] = p;
	}
	sched_unlock_cpu(&sched, cpu);
	for (i = 0; i < n; i++) {
		due[i]->device_moved = 0;
		due[i]->device_deadline = vdev_poll_timers(due[i], part_clock_now(&due[i]->clock, now));
	}
}

void vdev_deadline_changed(struct partition *p)
{
	p->device_moved = 1;
	scheduler_kick(&p->vcpus[0]);
}

/*
 * With cpu's queue locked: the APIC timers of this CPU's vCPUs that are due
 * fire; sleepers with an interrupt now, or whose HC_WAKE_AFTER time has
 * come, run again. Returns the next host TSC at which one of them, or a
 * device timer of a partition whose vCPU 0 is here, is due, or 0. The
 * vCPUs of a paused partition are skipped: their time stands still.
 */
static uint64_t wake_sleepers(unsigned cpu, uint64_t now)
{
	struct sched_entity *e;
	uint64_t next = 0;

	for (e = sched.cpu[cpu].queue; e; e = e->next) {
		struct vcpu *v = vcpu_of(e);
		const struct part_clock *c = &v->part->clock;
		uint64_t t;
		if (e->held)
			continue;
		t = part_clock_now(c, now);
		next = earliest(next, part_clock_host(c, vcpu_irq_timer(v, t)));
		if (runs_devices(v))
			next = earliest(next, part_clock_host(c, v->part->device_deadline));
		if (e->runnable)
			continue;
		if (vcpu_irq_wake_due(v, t) || vcpu_irq_wakes_sleeper(v))
			sched_wake(&sched, e);
		else if (v->wake_vector >= 0 && !v->wake_due)
			next = earliest(next, part_clock_host(c, v->wake_at));
	}
	return next;
}

/* Whether a vCPU queued on cpu belongs to a stopping partition. */
static int any_stopping(unsigned cpu)
{
	struct sched_entity *e;
	int found = 0;

	sched_lock_cpu(&sched, cpu);
	for (e = sched.cpu[cpu].queue; e && !found; e = e->next)
		found = vcpu_of(e)->part->state == PART_STOPPING;
	sched_unlock_cpu(&sched, cpu);
	return found;
}

/*
 * Tears down this CPU's vCPUs whose partition is stopping. Rare, and it
 * moves figures into the partition and may free its memory, which vCPUs
 * on other CPUs share: with every queue locked.
 */
static void retire_stopping(unsigned cpu)
{
	struct sched_entity *e, *next;

	if (!any_stopping(cpu))
		return;
	scheduler_lock();
	for (e = sched.cpu[cpu].queue; e; e = next) {
		struct vcpu *v = vcpu_of(e);
		next = e->next;
		if (v->part->state != PART_STOPPING)
			continue;
		sched_remove(&sched, e);
		if (fpu_owner[cpu] == v)
			fpu_owner[cpu] = 0;
		partition_vcpu_retire(v);
	}
	scheduler_unlock();
}

/* Extended state is switched only when another vCPU runs here: the host never uses it. */
static void switch_extended_state(unsigned cpu, struct vcpu *v)
{
	struct vcpu *old = fpu_owner[cpu];

	if (old == v)
		return;
	arch_guest_fpu_switch(old ? mm_ptr(old->fpu_pa) : 0, mm_ptr(v->fpu_pa));
	arch_guest_switch_to(v);
	fpu_owner[cpu] = v;
}

static int keeps_running(const struct vcpu *v, unsigned cpu, const struct vcpu_exit *e)
{
	return e->reason != EXIT_INTERRUPT && e->reason != EXIT_SLICE_END && !v->timer_changed &&
	       !scheduler_look_again[cpu] && !v->init_pending && v->part->state == PART_RUNNING && v->se.runnable;
}

/*
 * v's attention cleared before a look at it (a locked exchange: a kick's
 * store that follows the look's reads is never overwritten), and set again
 * after it while an interrupt waits.
 */
static void look_begins(struct vcpu *v)
{
	__atomic_store_n(&v->attention, 0, __ATOMIC_SEQ_CST);
}

static void inject_and_watch(struct vcpu *v)
{
	if (vcpu_irq_inject(v))
		v->attention = 1;
}

/* 1 if v goes on in its guest after an exit handled, its interrupts injected for the next entry. */
static inline __attribute__((always_inline)) int runs_on(struct vcpu *v, unsigned cpu, const struct vcpu_exit *e)
{
	look_begins(v);
	if (!keeps_running(v, cpu, e))
		return 0;
	inject_and_watch(v);
	return 1;
}

/*
 * e counted and handled; 1 if v goes on in its guest. Inlined into both
 * callers, each on every exit's path: a call here cost the AMD-V round
 * trip 17 instructions.
 */
static inline __attribute__((always_inline)) int goes_on(struct vcpu *v, unsigned cpu, const struct vcpu_exit *e)
{
	count_exit(v, e);
	return !vcpu_handle_exit(v, e) && runs_on(v, cpu, e);
}

int scheduler_exit_step(struct vcpu *v, struct vcpu_exit *e)
{
	if (goes_on(v, v->se.cpu, e))
		return 1;
	e->handled = 1;
	return 0;
}

/* scheduler_exit_done()'s way when v's attention was asked for or its CPU kicked itself. */
int scheduler_exit_look(struct vcpu *v, struct vcpu_exit *e)
{
	if (runs_on(v, v->se.cpu, e))
		return 1;
	e->handled = 1;
	return 0;
}

/* An INIT came for v: its state goes, and it sleeps until a STARTUP IPI (partition.h). */
static void reset_by_init(struct vcpu *v, unsigned cpu)
{
	if (fpu_owner[cpu] == v)
		fpu_owner[cpu] = 0;
	partition_vcpu_init_reset(v);
	sched_lock_cpu(&sched, cpu);
	if (v->wait_for_sipi)
		sched_block(&v->se);
	sched_unlock_cpu(&sched, cpu);
}

/*
 * A pause came while v ran: it ran past the pause until now. Rare, and
 * the clock is its partition's, which pause and resume move with every
 * queue locked: so is this.
 */
static void ran_past_pause(struct vcpu *v)
{
	scheduler_lock();
	if (v->part->state == PART_PAUSED)
		part_clock_ran_until(&v->part->clock, arch_tsc());
	scheduler_unlock();
}

/* Runs v until its slice ends, it halts, its partition stops or pauses, or a kick comes. */
static void run_slice(struct vcpu *v, unsigned cpu, uint64_t wake)
{
	uint64_t start = arch_tsc(), timer = wake;
	struct vcpu_exit e;

	if (v->init_pending) {
		reset_by_init(v, cpu);
		return;
	}
	if (!v->arch && partition_vcpu_create(v))
		return;
	switch_extended_state(cpu, v);
	v->slice_end = start + (sched_slice(&sched, cpu) ? slice_ticks : owner_run_ticks);
	if (!v->ops->has_slice_timer())
		timer = earliest(timer, v->slice_end);
	if (cpu == 0 && poll_cpu0)
		timer = earliest(timer, start + poll_ticks);
	arch_timer_arm(timer);
	v->timer_changed = 0;
	scheduler_look_again[cpu] = 0;
	look_begins(v);
	inject_and_watch(v);
	do {
		e.handled = 0;
		v->ops->run(v, &e);
	} while (!e.handled && goes_on(v, cpu, &e));
	if (e.reason == EXIT_INTERRUPT)
		arch_take_interrupts();
	sched_lock_cpu(&sched, cpu);
	sched_charge(&v->se, ticks_to_ns(arch_tsc() - start));
	sched_unlock_cpu(&sched, cpu);
	if (v->part->state == PART_PAUSED)
		ran_past_pause(v);
}

/*
 * When to poll the disks again while requests are out. Disk interrupts go
 * to CPU 0 (arch.h), which may then rest until one comes; another CPU
 * still polls every DISK_POLL_NS: its guest's completion would otherwise
 * wait for CPU 0 to take the interrupt and kick it, a hop measured slower
 * than polling under QEMU TCG (2.6 ms against 1.1 ms a 4 KiB read).
 */
static uint64_t disk_poll_after(unsigned cpu, enum blk_poll disks)
{
	return disks == BLK_POLL_SOON || cpu != 0 ? disk_poll_ticks : disk_watch_ticks;
}

/* Nothing to run: sleep until the next wake-up, a kick, or (CPU 0) the console's turn. */
static void idle(unsigned cpu, uint64_t wake)
{
	uint64_t start = arch_tsc();

	if (cpu == 0 && poll_cpu0)
		wake = earliest(wake, start + poll_ticks);
	arch_timer_arm(wake);
	arch_wait_for_interrupt();
	idle_ticks[cpu] += arch_tsc() - start;
}

uint64_t scheduler_idle_ticks(unsigned cpu, uint64_t *since)
{
	*since = start_tsc;
	return cpu < SCHED_CPUS_MAX ? idle_ticks[cpu] : 0;
}

void scheduler_main(void)
{
	unsigned cpu = arch_cpu_index();

	for (;;) {
		struct sched_entity *e;
		uint64_t wake;
		enum blk_poll disks;

		if (cpu == 0 && poll_cpu0)
			poll_cpu0();
		disks = blk_poll_all(); /* completions wake vCPUs: before the sleepers are looked at */
		run_device_timers(cpu, arch_tsc());
		retire_stopping(cpu);
		sched_lock_cpu(&sched, cpu);
		wake = wake_sleepers(cpu, arch_tsc());
		if (disks != BLK_POLL_IDLE)
			wake = earliest(wake, arch_tsc() + disk_poll_after(cpu, disks));
		e = sched_pick(&sched, cpu);
		sched_unlock_cpu(&sched, cpu);
		if (e)
			run_slice(vcpu_of(e), cpu, wake);
		else
			idle(cpu, wake);
	}
}
