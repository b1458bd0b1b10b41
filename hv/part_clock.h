/*
 * A partition's time: the host's TSC less the ticks the partition spent
 * paused. Every time source of the partition reads it (its vCPUs' TSC,
 * their local APIC timers, the PIT, the RTC, the ACPI PM timer, the
 * paravirtual clock, HC_WAKE_AFTER) and every timer of the partition is
 * armed in it. A pause stops it; a resume goes on from where it stood:
 * the guest sees no jump, and a deadline 5 ms away at the pause is 5 ms
 * away at the resume. Until the first pause it is the host's TSC.
 *
 * The guest's TSC is partition time less tsc_zero (the guest's TSC read 0
 * when its partition started). For RDTSC, RDTSCP and RDMSR of the TSC the
 * CPU adds a 64-bit offset to the host's TSC (Intel SDM Vol. 3C, 25.6.5
 * "Time-Stamp Counter Offset and Multiplier" and 26.3, with "use TSC
 * offsetting" on; AMD APM Vol. 2, Appendix B, Table B-1: the VMCB's
 * TSC_OFFSET at 050h): that offset moves back by each pause's length at
 * its resume, so that the guest's TSC goes on from where it stopped.
 *
 * Pure arithmetic. The partition's owner serializes pause, resume and
 * ran_until (the scheduler's lock); readers on other CPUs see either side.
 */
#ifndef HV_PART_CLOCK_H
#define HV_PART_CLOCK_H

#include <stdint.h>

struct part_clock {
	uint64_t tsc_zero;     /* partition time at which the guest's TSC read 0 */
	uint64_t paused_ticks; /* host TSC ticks spent paused since the start */
	uint64_t paused_at;    /* while paused: the host TSC at which its time stopped */
	int paused;
};

/* A partition starting: its time is the host's TSC, and its guest's TSC reads 0 at host. */
void part_clock_start(struct part_clock *c, uint64_t host);

/* Partition time at host TSC value host; while paused, the time it stopped at. Inline: every device access reads it. */
static inline uint64_t part_clock_now(const struct part_clock *c, uint64_t host)
{
	return (c->paused ? c->paused_at : host) - c->paused_ticks;
}

/* The host TSC at which partition time reaches t; 0 for t = 0 (none) and while paused (nothing comes due). */
static inline uint64_t part_clock_host(const struct part_clock *c, uint64_t t)
{
	return t && !c->paused ? t + c->paused_ticks : 0;
}

/*
 * Its uptime at host TSC value host, in host ticks: the time it ran since
 * its start, its pauses left out (the guest's TSC, which the guest's own
 * clocks count from). 0 on a CPU whose TSC is a little behind the one it
 * started on.
 */
uint64_t part_clock_uptime(const struct part_clock *c, uint64_t host);

/* Added to partition time: the guest's TSC. */
uint64_t part_clock_guest_offset(const struct part_clock *c);

/* Added to the host's TSC: the guest's TSC (the VMCS's and the VMCB's TSC offset). */
uint64_t part_clock_tsc_offset(const struct part_clock *c);

/* Its time stops at host; a pause while paused changes nothing. */
void part_clock_pause(struct part_clock *c, uint64_t host);

/*
 * While paused: a vCPU that was running when the pause came ran until
 * host. Its time stops there, so that no guest TSC value it read comes
 * again after the resume.
 */
void part_clock_ran_until(struct part_clock *c, uint64_t host);

/* Its time goes on at host from where it stopped; the ticks the pause lasted (0 if it was not paused). */
uint64_t part_clock_resume(struct part_clock *c, uint64_t host);

#endif
