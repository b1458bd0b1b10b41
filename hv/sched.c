#include "sched.h"

/* Pass advances by ran_ns * STRIDE_ONE / share: large enough that share 10000 still moves. */
#define STRIDE_ONE 10000ull

void sched_init(struct sched *s, uint64_t online_cpus)
{
	unsigned i;

	*s = (struct sched){ .online = online_cpus };
	for (i = 0; i < SCHED_CPUS_MAX; i++)
		if (online_cpus >> i & 1)
			s->ncpus = i + 1;
}

static int single_cpu(uint64_t mask)
{
	return mask && !(mask & (mask - 1));
}

static unsigned lowest_cpu(uint64_t mask)
{
	unsigned i = 0;

	while (!(mask >> i & 1))
		i++;
	return i;
}

static void enqueue(struct sched *s, struct sched_entity *e, unsigned cpu)
{
	__atomic_store_n(&e->cpu, cpu, __ATOMIC_RELAXED); /* sched_lock_queue_of() reads it unlocked */
	e->next = s->cpu[cpu].queue;
	s->cpu[cpu].queue = e;
	s->cpu[cpu].load++;
	e->pass = s->cpu[cpu].pass; /* joins at the CPU's present, with no debt or credit */
}

static const char *add_exclusive(struct sched *s, struct sched_entity *e)
{
	unsigned cpu;

	if (!single_cpu(e->affinity & s->online))
		return "an exclusive vCPU needs exactly one online CPU";
	cpu = lowest_cpu(e->affinity);
	if (s->cpu[cpu].load)
		return "the CPU is already in use";
	s->cpu[cpu].owner = e;
	enqueue(s, e, cpu);
	return 0;
}

const char *sched_add(struct sched *s, struct sched_entity *e)
{
	uint64_t allowed = (e->affinity ? e->affinity : ~0ull) & s->online;
	unsigned cpu, best = SCHED_CPUS_MAX;

	if (e->share == 0)
		return "a share of 0";
	if (e->exclusive)
		return add_exclusive(s, e);
	for (cpu = 0; cpu < s->ncpus; cpu++) {
		if (!(allowed >> cpu & 1) || s->cpu[cpu].owner)
			continue;
		if (best == SCHED_CPUS_MAX || s->cpu[cpu].load < s->cpu[best].load)
			best = cpu;
	}
	if (best == SCHED_CPUS_MAX)
		return "no online CPU its affinity allows is free of exclusive owners";
	enqueue(s, e, best);
	return 0;
}

void sched_remove(struct sched *s, struct sched_entity *e)
{
	struct sched_cpu *c = &s->cpu[e->cpu];
	struct sched_entity **p;

	for (p = &c->queue; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			c->load--;
			break;
		}
	}
	if (c->owner == e)
		c->owner = 0;
	e->next = 0;
}

struct sched_entity *sched_pick(struct sched *s, unsigned cpu)
{
	struct sched_entity *e, *best = 0;

	for (e = s->cpu[cpu].queue; e; e = e->next)
		if (e->runnable && !e->held && (!best || e->pass < best->pass))
			best = e;
	if (best)
		s->cpu[cpu].pass = best->pass;
	return best;
}

uint64_t sched_slice(const struct sched *s, unsigned cpu)
{
	return s->cpu[cpu].owner ? 0 : SCHED_SLICE_NS;
}

void sched_charge(struct sched_entity *e, uint64_t ran_ns)
{
	e->ran_ns += ran_ns;
	e->pass += ran_ns * STRIDE_ONE / e->share;
}

void sched_block(struct sched_entity *e)
{
	e->runnable = 0;
}

/* A sleeper must not bank the time it did not use (an idle partition costs nothing). */
static void catch_up(struct sched *s, struct sched_entity *e)
{
	if (e->pass < s->cpu[e->cpu].pass)
		e->pass = s->cpu[e->cpu].pass;
}

void sched_wake(struct sched *s, struct sched_entity *e)
{
	catch_up(s, e);
	e->runnable = 1;
}

void sched_hold(struct sched_entity *e)
{
	e->held = 1;
}

void sched_release(struct sched *s, struct sched_entity *e)
{
	catch_up(s, e);
	e->held = 0;
}

void sched_lock_cpu(struct sched *s, unsigned cpu)
{
	spin_lock(&s->cpu[cpu].lock);
}

void sched_unlock_cpu(struct sched *s, unsigned cpu)
{
	spin_unlock(&s->cpu[cpu].lock);
}

unsigned sched_lock_queue_of(struct sched *s, const struct sched_entity *e)
{
	for (;;) {
		unsigned cpu = __atomic_load_n(&e->cpu, __ATOMIC_RELAXED);
		sched_lock_cpu(s, cpu);
		if (e->cpu == cpu)
			return cpu;
		sched_unlock_cpu(s, cpu); /* it moved meanwhile */
	}
}

void sched_lock_all(struct sched *s)
{
	unsigned cpu;

	for (cpu = 0; cpu < s->ncpus; cpu++)
		sched_lock_cpu(s, cpu);
}

void sched_unlock_all(struct sched *s)
{
	unsigned cpu = s->ncpus;

	while (cpu--)
		sched_unlock_cpu(s, cpu);
}

int sched_block_unless(struct sched *s, struct sched_entity *e, int (*event)(struct sched_entity *))
{
	unsigned cpu = sched_lock_queue_of(s, e);
	int came = event(e);

	if (!came)
		sched_block(e);
	sched_unlock_cpu(s, cpu);
	return came ? 0 : -1;
}

void sched_wake_if(struct sched *s, struct sched_entity *e, int (*event)(struct sched_entity *))
{
	unsigned cpu = sched_lock_queue_of(s, e);

	if (!e->runnable && event(e))
		sched_wake(s, e);
	sched_unlock_cpu(s, cpu);
}
