/*
 * The scheduler at run time: one run queue per CPU, each under its own
 * lock (sched.h says why and which operations take them all), the
 * stride policy of sched.h choosing, the host timer (or the backend's
 * own) cutting time slices, HLT blocking a vCPU until its wake-up time,
 * and kicks (IPIs) telling another CPU to look at its queue again.
 *
 * A vCPU stays on the CPU it was queued on: its VMCS or VMCB, its
 * extended state and its timers live there.
 */
#ifndef HV_SCHEDULER_H
#define HV_SCHEDULER_H

#include <stdint.h>

#include "sched.h"
#include "vcpu.h"

/* ncpus online; cpu0_poll (the console) runs on CPU 0 between time slices, at least every 10 ms. */
void scheduler_init(unsigned ncpus, void (*cpu0_poll)(void));

/* For the rare operations across CPUs (start, stop, pause, statistics): every CPU's queue locked. */
void scheduler_lock(void);
void scheduler_unlock(void);

/* With the lock held. Queues v on a CPU it may use and tells that CPU; NULL or why not. */
const char *scheduler_add(struct vcpu *v);
/* With the lock held. Pause (hold = 1) or resume v. */
void scheduler_hold(struct vcpu *v, int hold);
/* Makes v's CPU stop running v, if it is, and look at its queue again. */
void scheduler_kick(struct vcpu *v);

/*
 * On v's CPU: v halted; it sleeps until an interrupt for it or its
 * wake-up time (or for good, if none). 0 if an interrupt is there
 * already (v runs on), -1 if it sleeps.
 */
int scheduler_block(struct vcpu *v);
/* From any CPU: an interrupt came for v; a sleeping v wakes if it can take it, a running v looks at its APIC again. */
void scheduler_wake(struct vcpu *v);

/*
 * On v's CPU, from a backend's run(): e counted and handled, and 1 if v
 * goes on in its guest (its interrupts injected: run() enters it again at
 * once), else 0 with e marked handled (run() returns, the slice ends). A
 * backend that loops so saves a pass through the scheduler's loop and its
 * own run()'s setup per exit.
 */
int scheduler_exit_step(struct vcpu *v, struct vcpu_exit *e);

static inline __attribute__((always_inline)) void count_exit(struct vcpu *v, const struct vcpu_exit *e)
{
	v->exits_by[(unsigned)e->reason < EXIT_REASONS ? e->reason : EXIT_UNKNOWN]++;
}

/* A CPU kicked itself (scheduler_kick): the slice it runs ends at its next exit. */
extern volatile int scheduler_look_again[SCHED_CPUS_MAX];

int scheduler_exit_look(struct vcpu *v, struct vcpu_exit *e);

/*
 * The same for an exit the backend handled itself (its fast path, with
 * vcpu_instruction_exit()): e counted, 1 if v goes on, else 0 with e
 * marked handled. The look is skipped unless v's attention was asked for
 * or its CPU kicked itself: whatever ends a slice or gives v an interrupt
 * kicks it or writes its APIC, and the last look left the attention set
 * while an interrupt waits (the look cost every VT-x instruction exit 43
 * instructions, as measured: a hypercall's 261 -> 218). Inline, so that
 * the test alone, not a call, is on the way of most instruction exits:
 * scheduler_exit_quiet() counts e and is 1 when no look is needed, else
 * scheduler_exit_look() looks (for a backend that must know whether hv/
 * code ran).
 */
static inline __attribute__((always_inline)) int scheduler_exit_quiet(struct vcpu *v, struct vcpu_exit *e)
{
	count_exit(v, e);
	return !(v->attention | scheduler_look_again[v->se.cpu]);
}

static inline __attribute__((always_inline)) int scheduler_exit_done(struct vcpu *v, struct vcpu_exit *e)
{
	return scheduler_exit_quiet(v, e) || scheduler_exit_look(v, e);
}

/* Host TSC ticks cpu has spent idle since *since (the scheduler's start). */
uint64_t scheduler_idle_ticks(unsigned cpu, uint64_t *since);

/* Each CPU's main loop. */
void __attribute__((noreturn)) scheduler_main(void);

#endif
