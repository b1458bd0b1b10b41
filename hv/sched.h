/*
 * Scheduling policy: stride scheduling (Waldspurger and Weihl, 1995) per
 * CPU. Each vCPU advances its pass by the time it ran divided by its
 * share, and a CPU runs its runnable vCPU of lowest pass: over time each
 * gets CPU time in proportion to its share. A vCPU that blocks uses no
 * time and banks no credit: on waking it starts from its CPU's current
 * pass. A CPU owned exclusively runs its one vCPU with no time slice.
 *
 * Pure policy over a clock the caller gives it, so it is tested on the
 * host with a simulated one.
 */
#ifndef HV_SCHED_H
#define HV_SCHED_H

#include <stdint.h>

#include "lib/spinlock.h"

#define SCHED_CPUS_MAX 64
#define SCHED_SLICE_NS 10000000ull /* 10 ms */

struct sched_entity {
	uint32_t share;      /* weight, 1 to 10000 */
	uint64_t affinity;   /* CPUs it may run on; 0: any */
	int exclusive;       /* owns its (single) affinity CPU alone */
	int runnable;        /* 0: blocked (halted, waiting for an event) */
	int held;            /* paused by the operator: not run, whatever runnable says */
	uint64_t pass;
	uint64_t ran_ns;     /* total CPU time, for statistics */
	unsigned cpu;        /* the CPU whose queue holds it */
	struct sched_entity *next;
};

struct sched_cpu {
	struct spinlock lock;       /* the queue and its entities' runnable, held and pass */
	struct sched_entity *queue;
	struct sched_entity *owner; /* exclusive owner, or NULL */
	uint64_t pass;              /* pass of the last entity picked here */
	unsigned load;              /* entities queued */
};

struct sched {
	unsigned ncpus;
	uint64_t online;            /* CPUs that run the scheduler */
	struct sched_cpu cpu[SCHED_CPUS_MAX];
};

void sched_init(struct sched *s, uint64_t online_cpus);

/*
 * Queues e on a CPU its affinity allows: its own if exclusive, else the
 * least loaded one not owned by another. NULL on success, else why not.
 */
const char *sched_add(struct sched *s, struct sched_entity *e);
void sched_remove(struct sched *s, struct sched_entity *e);

/* The entity CPU cpu should run next, or NULL if it has none runnable. */
struct sched_entity *sched_pick(struct sched *s, unsigned cpu);
/* Time slice for what runs on cpu: 0 means run until it blocks (exclusive). */
uint64_t sched_slice(const struct sched *s, unsigned cpu);
/* Charges e for ran_ns of CPU time. */
void sched_charge(struct sched_entity *e, uint64_t ran_ns);
void sched_block(struct sched_entity *e);
void sched_wake(struct sched *s, struct sched_entity *e);

/*
 * Locking. Each CPU's queue has its own lock: the hot path (a slice's end,
 * HLT, a wake-up, the pick after a kick) takes only the lock of the queue
 * that holds the vCPU, its own CPU's but for a cross-CPU wake-up, so no
 * lock is contended by every CPU and the cost of a scheduling step does
 * not grow with their number. The rare operations that look across queues
 * (adding and removing entities, pause and resume, migration, statistics)
 * take every queue's lock, in CPU order, so nothing can deadlock.
 */
void sched_lock_cpu(struct sched *s, unsigned cpu);
void sched_unlock_cpu(struct sched *s, unsigned cpu);
/* Locks the queue that holds e and returns its CPU: e moves only with every queue locked. */
unsigned sched_lock_queue_of(struct sched *s, const struct sched_entity *e);
void sched_lock_all(struct sched *s);
void sched_unlock_all(struct sched *s);

/*
 * HLT and the wake-up, against a lost wake-up: the waker makes its event
 * visible, then calls sched_wake_if(); the sleeper calls sched_block_unless().
 * Each tests the event under the lock of e's queue, so either the sleeper
 * sees it and runs on, or the waker sees the sleeper blocked and wakes it.
 * sched_block_unless() returns 0 if e runs on, -1 if it blocked.
 */
int sched_block_unless(struct sched *s, struct sched_entity *e, int (*event)(struct sched_entity *));
void sched_wake_if(struct sched *s, struct sched_entity *e, int (*event)(struct sched_entity *));
/* Pause and resume: a held entity keeps its blocked or runnable state but is not picked. */
void sched_hold(struct sched_entity *e);
void sched_release(struct sched *s, struct sched_entity *e);

#endif
