/*
 * Time for devices. A device with deadlines (the PIT, the RTC's periodic
 * and alarm interrupts) registers a poll function when the partition
 * starts, with its claims: poll(dev, now) fires what has come due at
 * partition time now (hv/part_clock.h: the host's TSC less the time the
 * partition spent paused; it stands still while paused) and returns its
 * next deadline in that time, 0 if none. Periods missed while the
 * partition's CPU was busy come as one interrupt, not a storm, and the
 * next deadline stays on the period's grid; a pause misses none. The CPU that runs the partition's vCPU 0
 * calls the polls when a deadline comes, outside every lock but the
 * device's own. A guest access that moves a deadline calls
 * vdev_deadline_changed() so that that CPU re-arms its timer.
 */
#ifndef HV_VDEV_CLOCK_H
#define HV_VDEV_CLOCK_H

#include <stdint.h>

struct partition;

typedef uint64_t vdev_poll_fn(void *dev, uint64_t now);

/* 0, or -1 (logged) when the partition's table of timers is full. */
int vdev_add_timer(struct partition *p, vdev_poll_fn *poll, void *dev);

/* Calls every poll; the earliest deadline they return, 0 if none. */
uint64_t vdev_poll_timers(struct partition *p, uint64_t now);

void vdev_deadline_changed(struct partition *p);

#endif
